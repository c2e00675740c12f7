/**
 * A put's commit held by its caller: the bytes go to the store's temporary
 * place (a temp file, an unfinished multipart upload) while the caller is
 * still deciding, and become the key only once `src.beforeCommit` resolves.
 * A refusal fails the put like any other failure before the commit, so the
 * adapter removes what it wrote: the key never existed.
 */
import type { BlobSource } from "./types.js";
import { PermanentError, type AdapterErrorContext } from "./errors.js";

/** The caller refused the commit (its checks failed). Never retried: asking again gets the same answer. */
export class CommitRefusedError extends PermanentError {}

export async function awaitCommit(src: Pick<BlobSource, "beforeCommit">, ctx: AdapterErrorContext): Promise<void> {
  if (!src.beforeCommit) return;
  try {
    await src.beforeCommit();
  } catch (err) {
    throw new CommitRefusedError(`not committed: ${(err as Error).message}`, { ...ctx, cause: err });
  }
}
