import { chmod, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import type { StorageAdapter } from "../../adapters/types.js";
import type { CopyRecord } from "../catalog/inventory.js";
import type { ProofAuthor } from "../publish/fanout.js";
import { CopyCheckError, fetchAndCheckCopy } from "../restore/fetch.js";
import { describeError } from "../../adapters/errors.js";
import { PRIVATE_DIR, makePrivateDir } from "../runtime/privateFiles.js";
import { recordProof, resummarize, type DeepCheck } from "./proofs.js";
import type { AgeKeys } from "../encryption/age.js";
import { requireIdentityFor } from "../encryption/identity.js";

/**
 * How much one destination's deep checks may cost in one run. Without a
 * bound: the newest copy of each database (what a restore would use first).
 * With one, copies rotate, least recently proven first, and at least one is
 * tested whatever the bound, so repeated runs always make progress.
 */
export interface DeepBudget {
  /** Artifact bytes to download, at most (the copy that crosses it is still tested if it is the first). */
  bytes?: number;
  /** Start no new check after this long. */
  ms?: number;
}

export interface DeepContext {
  scratch: string;
  author: ProofAuthor;
  budget?: DeepBudget;
  signal?: AbortSignal;
  /** `--identity FILE`: opens encrypted copies. */
  identity?: AgeKeys;
}

/**
 * The copies to restore-test. With a budget: least recently proven first
 * (never tested, newest snapshot first, before tested long ago), so repeated
 * runs restore-test every copy on the destination in turn. Without: the
 * newest copy of each database.
 */
export function deepCheckOrder(copies: CopyRecord[], budget?: DeepBudget): CopyRecord[] {
  const testable = copies.filter((c) => (c.state === "complete" || c.state === "damaged") && c.manifest);
  if (budget?.bytes === undefined && budget?.ms === undefined) {
    const newest = new Map<string, CopyRecord>();
    for (const c of testable) if ((newest.get(c.db)?.snapshotId ?? "") < c.snapshotId) newest.set(c.db, c);
    return [...newest.values()];
  }
  const lastTested = (c: CopyRecord) => (c.proof?.lastRestoreTest ? Date.parse(c.proof.lastRestoreTest.at) : -Infinity);
  return testable.sort((a, b) => lastTested(a) - lastTested(b) || b.snapshotId.localeCompare(a.snapshotId));
}

/**
 * Restore-tests copies of one destination in a scratch folder, within the
 * budget, and records each outcome as a proof beside the copy. The copy
 * records are updated in place (proof summary, and `damaged` when the test
 * failed), so the caller reports and judges what was just learnt.
 * Returns the checks keyed by "<db>/<snapshotId>".
 */
export async function deepCheckCopies(adapter: StorageAdapter, destination: string, copies: CopyRecord[], ctx: DeepContext): Promise<Map<string, DeepCheck>> {
  const started = performance.now();
  const results = new Map<string, DeepCheck>();
  let bytes = 0;
  const order = deepCheckOrder(copies, ctx.budget);
  requireIdentities([order], ctx.identity);
  for (const c of order) {
    if (results.size > 0 && ctx.budget?.ms !== undefined && performance.now() - started >= ctx.budget.ms) break;
    if (results.size > 0 && ctx.budget?.bytes !== undefined && bytes + c.manifest!.artifact.size > ctx.budget.bytes) break;
    bytes += c.manifest!.artifact.size;
    const check = await restoreTest(adapter, destination, c, ctx);
    results.set(`${c.db}/${c.snapshotId}`, check);
  }
  return results;
}

async function restoreTest(adapter: StorageAdapter, destination: string, c: CopyRecord, ctx: DeepContext): Promise<DeepCheck> {
  const out = path.join(ctx.scratch, `${destination}-${c.db}-${c.snapshotId}.sqlite`);
  const started = performance.now();
  let check: DeepCheck;
  try {
    ctx.signal?.throwIfAborted();
    await fetchAndCheckCopy(adapter, c.manifest!, out, ctx.signal, ctx.identity);
    check = { ok: true, durationMs: Math.round(performance.now() - started), checkedAt: ctx.author.clock().toISOString() };
  } catch (err) {
    // Only a failed check is damage; an interruption or a local fault (a broken install, the
    // scratch folder) is not recorded, and the caller's clean-up runs.
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    if (!(err instanceof CopyCheckError)) throw err;
    check = { ok: false, reason: (err as Error).message, durationMs: Math.round(performance.now() - started), checkedAt: ctx.author.clock().toISOString() };
  } finally {
    await rm(out, { force: true });
  }
  await keepProof(adapter, c, check, ctx);
  return check;
}

/** Records the test beside the copy and brings the copy record up to date with it. */
async function keepProof(adapter: StorageAdapter, c: CopyRecord, check: DeepCheck, ctx: DeepContext): Promise<void> {
  const { author } = ctx;
  try {
    const key = await recordProof(
      adapter,
      {
        db: c.db, snapshotId: c.snapshotId, level: "restore-tested", ok: check.ok, at: check.checkedAt, artifactSha256: c.manifest!.artifact.sha256,
        host: author.hostname, toolVersion: author.toolVersion, durationMs: check.durationMs, reason: check.reason,
      },
      author.randomHex(4),
      ctx.signal,
    );
    c.proofKeys = [...(c.proofKeys ?? []), key];
    c.proof = resummarize(c.proofKeys);
  } catch (err) {
    // The result still counts for this run's report; only its record on the destination is missing.
    check.reason = `${check.reason ? `${check.reason}; ` : ""}the result could not be recorded on the destination: ${describeError(err).message}`;
    c.proof = { ...(c.proof ?? { level: "present" }), lastRestoreTest: { at: check.checkedAt, ok: check.ok } };
  }
  if (!check.ok) Object.assign(c, { state: "damaged", detail: `the restore test of ${check.checkedAt} failed: ${check.reason}` });
  else if (c.state === "damaged") Object.assign(c, { state: "complete", detail: undefined });
}

/**
 * Before any deep check starts (and records a proof): every copy about to be
 * tested that is encrypted must open with `identity`. A missing or wrong key
 * is the operator's to fix, so it stops the command (exit 2) with nothing
 * written, rather than failing copies one by one as if they were damaged.
 */
export function requireIdentities(orders: CopyRecord[][], identity: AgeKeys | undefined): void {
  for (const c of orders.flat()) if (c.manifest) requireIdentityFor(c.manifest, identity, "a deep check (--deep)");
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
  await makePrivateDir(staging);
  const scratch = await mkdtemp(path.join(staging, prefix));
  await chmod(scratch, PRIVATE_DIR); // restored copies are production data
  return scratch;
}
