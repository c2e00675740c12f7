import { mkdir, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import type { StorageAdapter } from "../../adapters/types.js";
import type { CopyRecord } from "../catalog/inventory.js";
import { CopyCheckError, fetchAndCheckCopy } from "../restore/fetch.js";
import type { DeepCheck, VerificationLog } from "./ledger.js";

/**
 * The full restore test of the newest complete copy of each database among
 * `copies` (one destination's), in a scratch folder, each result recorded in
 * `history`. Shared by `verify --deep` and `audit --deep`.
 * Returns the checks keyed by "<db>/<snapshotId>".
 */
export async function deepCheckNewest(
  adapter: StorageAdapter,
  destination: string,
  copies: CopyRecord[],
  ctx: { scratch: string; history: VerificationLog; clock: () => Date; signal?: AbortSignal },
): Promise<Map<string, DeepCheck>> {
  const newest = new Map<string, CopyRecord>();
  for (const c of copies) {
    if (c.state === "complete" && c.manifest && (!newest.has(c.db) || newest.get(c.db)!.snapshotId < c.snapshotId)) newest.set(c.db, c);
  }
  const results = new Map<string, DeepCheck>();
  for (const c of newest.values()) {
    const out = path.join(ctx.scratch, `${destination}-${c.db}-${c.snapshotId}.sqlite`);
    const started = performance.now();
    let check: DeepCheck;
    try {
      ctx.signal?.throwIfAborted();
      await fetchAndCheckCopy(adapter, c.manifest!, out, ctx.signal);
      check = { ok: true, durationMs: Math.round(performance.now() - started), checkedAt: ctx.clock().toISOString() };
    } catch (err) {
      // Only a failed check is damage; an interruption or a local fault (a broken install, the
      // scratch folder) is not recorded, and the caller's clean-up runs.
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      if (!(err instanceof CopyCheckError)) throw err;
      check = { ok: false, reason: (err as Error).message, durationMs: Math.round(performance.now() - started), checkedAt: ctx.clock().toISOString() };
    } finally {
      await rm(out, { force: true });
    }
    ctx.history.record(destination, c.db, c.snapshotId, check);
    results.set(`${c.db}/${c.snapshotId}`, check);
  }
  return results;
}

/**
 * Promise.all that waits for every promise before rejecting with the first
 * failure: deep checks running side by side must all have stopped (and removed
 * their files) before the caller deletes the scratch folder they write into.
 */
export async function allSettledOrThrow<T>(promises: (Promise<T> | T)[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** A private scratch folder under the staging folder (created 0700 if it is not there yet). */
export async function makeScratch(staging: string, prefix: string): Promise<string> {
  await mkdir(staging, { recursive: true, mode: 0o700 });
  return mkdtemp(path.join(staging, prefix));
}
