/**
 * `forget DB SNAPSHOT`: one chosen snapshot deleted from every destination,
 * the way retention deletes (manifest first, so the copy stops counting at
 * once, then the artifact and its proofs), but by an operator's choice.
 *
 * What it refuses without --force, because a typo must not cost the history:
 * a copy still under Object Lock (the store refuses to delete it; --force
 * deletes the other copies and reports the refusal, and never asks S3 to
 * bypass a GOVERNANCE lock), and a snapshot whose copies are the
 * only good copies of that database anywhere this run can see. A destination
 * that cannot be reached does not count as holding a good copy, so a dead NAS
 * never makes a last copy look spare.
 */
import { describeError } from "../../adapters/errors.js";
import type { StorageAdapter } from "../../adapters/types.js";
import { stagingDir, type Config } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { UsageError } from "../runtime/errors.js";
import { acquireRunLock } from "../runtime/lock.js";
import { inventoryDestination, type CopyRecord } from "../catalog/inventory.js";

export interface ForgetDestination {
  destination: string;
  reachable: boolean;
  error?: string;
  /** The state of the snapshot's copy here (catalog/inventory.ts), absent when it holds none. */
  state?: CopyRecord["state"];
  lockedUntil?: string;
  /** Keys deleted (or, in a dry run, that would be), in order. */
  deleted: string[];
  errors: string[];
}

export interface ForgetReport {
  command: "forget";
  db: string;
  snapshotId: string;
  dryRun: boolean;
  force: boolean;
  exitCode: ExitCode;
  /** Complete copies of this database that stay, across reachable destinations. */
  goodCopiesLeft: number;
  destinations: ForgetDestination[];
}

/** Refused because it would delete a locked copy or the last good one; the message names --force. */
export class ForgetRefusedError extends UsageError {}

export async function runForget(cfg: Config, opts: { db: string; snapshotId: string; dryRun: boolean; force: boolean }, deps: RunDeps): Promise<ForgetReport> {
  const { db, snapshotId, dryRun, force } = opts;
  if (!cfg.databases.some((d) => d.name === db)) {
    throw new UsageError(`no database named "${db}" in ${cfg.configPath}; configured: ${cfg.databases.map((d) => d.name).join(", ")}`);
  }
  const release = dryRun ? async () => undefined : await acquireRunLock(stagingDir(cfg));
  const open = await openDestinations(cfg.destinations, deps, { dryRun });
  try {
    const found = await Promise.all(
      [...open.values()].map(async ({ cfg: dest, adapter, error }) => {
        const inv = adapter ? await inventoryDestination(adapter, dest.name, [db]) : undefined;
        const reachable = !!inv?.reachable;
        const copies = reachable ? inv!.copies.filter((c) => c.db === db) : [];
        return { name: dest.name, adapter, reachable, error: error ?? inv?.error, copies, target: copies.find((c) => c.snapshotId === snapshotId) };
      }),
    );
    const targets = found.filter((f) => f.target);
    if (targets.length === 0) {
      const unreachable = found.filter((f) => !f.reachable).map((f) => f.name);
      throw new UsageError(
        `snapshot ${snapshotId} of ${db} is on no reachable destination${unreachable.length ? ` (not reachable: ${unreachable.join(", ")})` : ""}; \`triplicate list --db ${db}\` shows the snapshot ids`,
      );
    }
    const goodCopiesLeft = found.flatMap((f) => f.copies).filter((c) => c.state === "complete" && c.snapshotId !== snapshotId).length;
    refuseUnsafe(db, snapshotId, targets.map((t) => t.target!), goodCopiesLeft, deps.clock(), force);

    const destinations: ForgetDestination[] = [];
    for (const f of found) {
      const entry: ForgetDestination = { destination: f.name, reachable: f.reachable, error: f.reachable ? undefined : f.error, deleted: [], errors: [] };
      destinations.push(entry);
      if (!f.target || !f.adapter) continue;
      Object.assign(entry, { state: f.target.state, lockedUntil: f.target.lockedUntil?.toISOString() });
      await deleteCopy(f.adapter, f.target, dryRun, entry);
      deps.logger.info({ destination: f.name, db, snapshotId, keys: entry.deleted, dryRun }, dryRun ? "would forget snapshot" : "forgot snapshot");
    }
    const problems = destinations.some((d) => !d.reachable || d.errors.length > 0);
    const anyDeleted = destinations.some((d) => d.deleted.length > 0 && d.errors.length === 0);
    const exitCode = !problems ? EXIT.ok : anyDeleted ? EXIT.degraded : EXIT.failed;
    return { command: "forget", db, snapshotId, dryRun, force, exitCode, goodCopiesLeft, destinations };
  } finally {
    await closeAll(open);
    await release();
  }
}

/** The two refusals --force lifts, with what they protect in the message. */
export function refuseUnsafe(db: string, snapshotId: string, targets: CopyRecord[], goodLeft: number, now: Date, force: boolean): void {
  if (force) return;
  const locked = targets.filter((t) => t.lockedUntil && t.lockedUntil > now);
  if (locked.length) {
    throw new ForgetRefusedError(
      `snapshot ${snapshotId} of ${db} is under Object Lock on ${locked.map((t) => `${t.destination} (until ${t.lockedUntil!.toISOString()})`).join(", ")}: ` +
        `that copy is meant to survive deletion; nothing was deleted (--force deletes the snapshot's unlocked copies and asks the store to delete the locked ones, ` +
        `which it refuses until the lock ends: Triplicate never bypasses a lock, COMPLIANCE or GOVERNANCE)`,
    );
  }
  if (goodLeft === 0 && targets.some((t) => t.state === "complete")) {
    throw new ForgetRefusedError(
      `snapshot ${snapshotId} is the only good copy of ${db} on every reachable destination: forgetting it would leave no copy to restore; nothing was deleted ` +
        `(run a backup first, or pass --force if losing every copy is really meant)`,
    );
  }
}

/** Manifest first (the copy stops counting at once), then the artifact, then its proofs; a failure stops this destination there. */
async function deleteCopy(adapter: StorageAdapter, copy: CopyRecord, dryRun: boolean, entry: ForgetDestination): Promise<void> {
  const keys = [copy.manifestKey, copy.artifactKey, ...(copy.proofKeys ?? [])].filter((k): k is string => !!k);
  for (const key of keys) {
    try {
      if (!dryRun) await adapter.delete(key);
      entry.deleted.push(key);
    } catch (err) {
      entry.errors.push(`could not delete ${key}: ${describeError(err).message}`);
      return;
    }
  }
}
