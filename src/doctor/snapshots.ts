/**
 * The latest complete snapshot of a database on each destination: what a
 * restore would bring back, and the row counts the salvage is measured
 * against. Shared with backup, which names it when it meets a damaged source.
 */
import type { Config } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { inventoryDestination, type CopyRecord } from "../catalog/inventory.js";
import { formatAge } from "../runtime/duration.js";

export interface LatestSnapshot {
  destination: string;
  snapshotId: string;
  createdAt: string;
  ageMs: number;
  /** "3.2d": for the text report. */
  age: string;
  rowCounts: Record<string, number>;
  tags: string[];
}

export interface DestinationLatest {
  destination: string;
  reachable: boolean;
  error?: string;
  latest: LatestSnapshot | null;
}

export function latestOf(copies: CopyRecord[], db: string, destination: string, now: Date): LatestSnapshot | null {
  const good = copies.filter((c) => c.db === db && c.state === "complete" && c.manifest).sort((a, b) => b.snapshotId.localeCompare(a.snapshotId));
  const c = good[0];
  if (!c?.manifest) return null;
  const ageMs = now.getTime() - c.createdAt.getTime();
  return {
    destination, snapshotId: c.snapshotId, createdAt: c.createdAt.toISOString(), ageMs, age: formatAge(ageMs),
    rowCounts: c.manifest.sqlite.rowCounts, tags: c.manifest.tags,
  };
}

/** Opens every destination (read-only: list and read manifests) and finds the latest complete copy of `db` on each. */
export async function latestSnapshots(cfg: Config, db: string, deps: RunDeps): Promise<DestinationLatest[]> {
  const open = await openDestinations(cfg.destinations, deps, { dryRun: true });
  try {
    return await Promise.all(
      [...open.values()].map(async ({ cfg: d, adapter, error }): Promise<DestinationLatest> => {
        if (!adapter) return { destination: d.name, reachable: false, error, latest: null };
        const inv = await inventoryDestination(adapter, d.name, [db]);
        if (!inv.reachable) return { destination: d.name, reachable: false, error: inv.error, latest: null };
        return { destination: d.name, reachable: true, latest: latestOf(inv.copies, db, d.name, deps.clock()) };
      }),
    );
  } finally {
    await closeAll(open);
  }
}

/** The newest of the destinations' latest snapshots. */
export function newestOf(list: { latest: LatestSnapshot | null }[]): LatestSnapshot | null {
  return list.map((l) => l.latest).filter((l): l is LatestSnapshot => !!l).sort((a, b) => b.snapshotId.localeCompare(a.snapshotId))[0] ?? null;
}
