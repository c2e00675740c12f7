/**
 * retention/: which snapshots each destination keeps (plan.ts: restic's
 * rules, pure), deleting the rest safely (apply.ts), and `prune` as a run of
 * its own over every destination (this file).
 */
import { stagingDir, type Config } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { inventoryDestination } from "../catalog/inventory.js";
import { acquireRunLock } from "../runtime/lock.js";
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
  exitCode: ExitCode;
  destinations: PruneDestination[];
}

/** Retention alone, per destination, under the run lock (a dry run takes none: it deletes nothing). */
export async function runPrune(cfg: Config, opts: { dryRun: boolean }, deps: RunDeps): Promise<PruneReport> {
  const { dryRun } = opts;
  const release = dryRun ? async () => undefined : await acquireRunLock(stagingDir(cfg));
  const open = await openDestinations(cfg.destinations, deps, { dryRun });
  const results: PruneDestination[] = [];
  try {
    for (const { cfg: dest, adapter, marker, error } of open.values()) {
      const entry: PruneDestination = { destination: dest.name, policy: describePolicy(dest.retention), reachable: !!adapter, error, marker, databases: [], notManaged: [] };
      results.push(entry);
      if (!adapter) continue;
      const inv = await inventoryDestination(adapter, dest.name);
      if (!inv.reachable) {
        Object.assign(entry, { reachable: false, error: inv.error });
        continue;
      }
      // Only the databases this config names: a shared NAS may hold other hosts' databases,
      // or ones removed from this config, under other retention rules.
      const configured = new Set(cfg.databases.map((d) => d.name));
      const found = [...new Set(inv.copies.map((c) => c.db))].sort();
      entry.notManaged = found.filter((db) => !configured.has(db));
      for (const db of found.filter((d) => configured.has(d))) {
        entry.databases.push(
          await applyRetention(adapter, dest.name, db, inv.copies, dest.retention, { now: deps.clock(), dryRun, leftoverGrace: cfg.leftoverGrace }),
        );
      }
    }
  } finally {
    await closeAll(open);
    await release();
  }
  const problems = results.some((r) => !r.reachable || r.databases.some((d) => d.errors.length > 0));
  const exitCode = results.every((r) => !r.reachable) ? EXIT.failed : problems ? EXIT.degraded : EXIT.ok;
  return { command: "prune", dryRun, exitCode, destinations: results };
}
