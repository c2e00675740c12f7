/**
 * The marker that says "this is a Triplicate destination" (restic's model):
 * written once, by `backup --init` or when adopting a store an older version
 * filled, and required by every command after that. Without it, an unmounted
 * USB disk's empty mount point or a NAS share that failed to mount would look
 * like an empty, healthy destination, receive a "verified" copy on the wrong
 * disk, and count as another medium.
 *
 * Works through the StorageAdapter interface only, so local folders, SFTP and
 * S3 (under its prefix) behave alike.
 */
import type { StorageAdapter } from "../../adapters/types.js";
import { NotFoundError, TransientError, describeError } from "../../adapters/errors.js";
import { bytesSource, readCapped } from "../../adapters/streams.js";
import { TriplicateError } from "../runtime/errors.js";
import { parseKey } from "../publish/ids.js";

/**
 * At the root, beside the `<db>/` folders. Database names have no dot, so no
 * `<db>/<snapshot>` key can ever be this one, and listings of our copies
 * (parseKey) never see it.
 */
export const MARKER_KEY = "triplicate-destination.json";
const FORMAT = "triplicate.destination/v1";
const ID = /^[0-9a-f]{32}$/;

/**
 * found: the marker was there. created: `--init` marked a new destination.
 * adopted: copies made by an older version, no marker: marked now.
 * unmarked: such copies, but the marker could not be written (a read-only
 * mount during a restore); usable, and the next backup marks it.
 */
export type MarkerStatus = "found" | "created" | "adopted" | "unmarked";

export interface DestinationMarker {
  /** Random, written once: two configs (or two destinations) showing the same id use the same store. */
  id?: string;
  status: MarkerStatus;
}

/** The destination has no marker and nothing of ours: not initialised, or its disk is not mounted. */
export class NotInitialisedError extends TriplicateError {}

export interface MarkerDeps {
  clock: () => Date;
  randomHex: (bytes: number) => string;
  hostname: string;
  toolVersion: string;
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** The words every "not initialised" message ends with: the two ways out. */
export function initHint(): string {
  return "mount it if it is a disk or share, or run `triplicate backup --init` once if it is a new destination";
}

/**
 * Reads the destination's marker; without one, adopts a store that already
 * holds our copies, marks a new one when `init`, and otherwise refuses with
 * NotInitialisedError. An existing marker is never replaced.
 */
export async function ensureMarker(adapter: StorageAdapter, destination: string, opts: { init: boolean }, deps: MarkerDeps): Promise<DestinationMarker> {
  const id = await readMarker(adapter, destination);
  if (id) return { id, status: "found" };
  const copy = await firstCopyKey(adapter);
  if (!copy && !opts.init) {
    throw new NotInitialisedError(
      `${destination} is not initialised or not mounted: ${adapter.id} exists but holds no ${MARKER_KEY} and no copies; ${initHint()}`,
    );
  }
  const fresh = deps.randomHex(16);
  const body = {
    format: FORMAT,
    id: fresh,
    createdAt: deps.clock().toISOString(),
    createdBy: { host: deps.hostname, toolVersion: deps.toolVersion },
    how: copy ? "adopted" : "init",
    note: "Marks this store as a Triplicate destination. Keep it: without it every command treats the destination as not initialised or not mounted.",
  };
  try {
    await adapter.put(MARKER_KEY, bytesSource(Buffer.from(JSON.stringify(body, null, 2) + "\n")));
  } catch (err) {
    if (!copy) throw err;
    deps.logger.warn(
      { destination, err: describeError(err) },
      `${destination} holds copies from an older version but no ${MARKER_KEY}, and the marker could not be written (${describeError(err).message}); using it as is, the next backup marks it`,
    );
    return { status: "unmarked" };
  }
  if (copy) {
    deps.logger.warn({ destination, marker: fresh, found: copy }, `${destination} held copies (${copy}) but no ${MARKER_KEY}, as an older version leaves it: adopted, marker ${fresh} written`);
    return { id: fresh, status: "adopted" };
  }
  deps.logger.info({ destination, marker: fresh }, `${destination} initialised: marker ${fresh} written`);
  return { id: fresh, status: "created" };
}

/** The marker's id, or undefined when there is none. A marker that is there but unreadable is refused, never overwritten. */
async function readMarker(adapter: StorageAdapter, destination: string): Promise<string | undefined> {
  let text: string;
  try {
    // A marker is a few hundred bytes; a large file under its name is not ours (and is refused below).
    text = (await readCapped((await adapter.get(MARKER_KEY)) as AsyncIterable<Buffer>, 64 * 1024))?.toString("utf8") ?? "";
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  let parsed: { format?: unknown; id?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = {};
  }
  if (parsed?.format !== FORMAT || typeof parsed.id !== "string" || !ID.test(parsed.id)) {
    throw new NotInitialisedError(
      `${destination}: ${adapter.id} holds a ${MARKER_KEY} that is not a Triplicate marker (expected format ${FORMAT} and a 32-hex id); restore it from a backup of that file, or move it away and run \`triplicate backup --init\``,
    );
  }
  return parsed.id;
}

/** Any of our files (manifest or artifact) in the store: the sign of a destination an older version filled. */
async function firstCopyKey(adapter: StorageAdapter): Promise<string | undefined> {
  try {
    for await (const o of adapter.list("")) if (parseKey(o.key)) return o.key;
  } catch (err) {
    if (err instanceof TransientError) throw err;
    throw new NotInitialisedError(`cannot list ${adapter.id}: ${describeError(err).message}`, { cause: err });
  }
  return undefined;
}
