/**
 * retention/: which snapshots each destination keeps (plan.ts: restic's
 * rules, pure), deleting the rest safely (apply.ts), and `prune` as a run of
 * its own over every destination (this file).
 */
import { stagingDir, type Config } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { inventoryDestination, type DestinationInventory } from "../catalog/inventory.js";
import { acquireRunLock } from "../runtime/lock.js";
import { howToAccept, newestComplete } from "../guard/shrink.js";
import type { RetentionHold } from "../guard/holds.js";
import { applyRetention, describePolicy, type RetentionOutcome } from "./apply.js";
import type { DestinationMarker } from "../catalog/destinationMarker.js";

export interface PruneDestination {
  destination: string;
  policy: string;
  reachable: boolean;
  error?: string;
  marker?: DestinationMarker;
  databases: RetentionOutcome[];
  /** Folders of databases this config does not name: never touched by this prune. */
  notManaged: string[];
}

export interface PruneReport {
  command: "prune";
  dryRun: boolean;
  /** `--force`: the deletion budget was lifted for this run. */
  force: boolean;
  exitCode: ExitCode;
  destinations: PruneDestination[];
}

/**
 * Retention alone, per destination, under the run lock (a dry run takes none:
 * it deletes nothing). Every destination is listed first, so a database whose
 * newest snapshot anywhere is an unaccepted anomaly is held everywhere.
 */
export async function runPrune(cfg: Config, opts: { dryRun: boolean; force?: boolean; db?: string[] }, deps: RunDeps): Promise<PruneReport> {
  const { dryRun } = opts;
  const force = !!opts.force;
  const release = dryRun ? async () => undefined : await acquireRunLock(stagingDir(cfg));
  const open = await openDestinations(cfg.destinations, deps, { dryRun });
  const results: PruneDestination[] = [];
  try {
    const listed = await Promise.all(
      [...open.values()].map(async ({ cfg: dest, adapter, marker, error }) => ({ dest, adapter, marker, error, inv: adapter ? await inventoryDestination(adapter, dest.name) : undefined })),
    );
    const shrinkHolds = anomalyHolds(listed.flatMap((l) => (l.inv?.reachable ? [l.inv] : [])), cfg);
    for (const { dest, adapter, marker, error, inv } of listed) {
      const entry: PruneDestination = { destination: dest.name, policy: describePolicy(dest.retention), reachable: !!adapter, error, marker, databases: [], notManaged: [] };
      results.push(entry);
      if (!adapter || !inv) continue;
      if (!inv.reachable) {
        Object.assign(entry, { reachable: false, error: inv.error });
        continue;
      }
      // Only the databases this config names: a shared NAS may hold other hosts' databases,
      // or ones removed from this config, under other retention rules.
      const configured = new Set(cfg.databases.map((d) => d.name));
      const found = [...new Set(inv.copies.map((c) => c.db))].sort();
      entry.notManaged = found.filter((db) => !configured.has(db));
      // `prune --db`: only the named databases; the others are left as they are, not listed as unmanaged.
      for (const db of found.filter((d) => configured.has(d) && (!opts.db?.length || opts.db.includes(d)))) {
        const holds = shrinkHolds.get(db);
        entry.databases.push(
          await applyRetention(adapter, dest.name, db, inv.copies, dest.retention, {
            now: deps.clock(), dryRun, leftoverGrace: cfg.leftoverGrace, guard: cfg.guard, force, holds: holds ? [holds] : [],
          }),
        );
      }
    }
  } finally {
    await closeAll(open);
    await release();
  }
  const problems = results.some((r) => !r.reachable || r.databases.some((d) => d.errors.length > 0 || d.held.length > 0));
  const exitCode = results.every((r) => !r.reachable) ? EXIT.failed : problems ? EXIT.degraded : EXIT.ok;
  return { command: "prune", dryRun, force, exitCode, destinations: results };
}

/**
 * Per database: a hold when its newest complete snapshot on any reachable
 * destination is an anomaly nobody accepted (the source shrank and no backup
 * since has brought the data back or been run with --accept-shrink).
 */
function anomalyHolds(inventories: DestinationInventory[], cfg: Config): Map<string, RetentionHold> {
  const holds = new Map<string, RetentionHold>();
  const copies = inventories.flatMap((i) => i.copies);
  for (const db of cfg.databases.map((d) => d.name)) {
    const newest = newestComplete(copies, db);
    const anomaly = newest?.manifest?.anomaly;
    if (!newest || !anomaly || anomaly.accepted) continue;
    holds.set(db, {
      guard: "shrink",
      snapshotId: newest.snapshotId,
      message:
        `the newest snapshot ${newest.snapshotId} (on ${newest.destination}) is an anomaly: ${anomaly.findings.map((f) => f.message).join("; ")}, ` +
        `compared with ${anomaly.baseline}; ${howToAccept(cfg.guard.maxShrink, anomaly.findings)}`,
    });
  }
  return holds;
}
