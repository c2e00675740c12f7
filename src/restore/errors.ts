import { TriplicateError } from "../runtime/errors.js";

/** The restore failed: no copy could be proven, or it was interrupted; nothing was replaced. */
export class RestoreError extends TriplicateError {}

/** A checked copy could not be put in place: the target's problem, not the copies'. */
export class PlacementError extends RestoreError {}
