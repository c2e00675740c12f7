/**
 * When the source itself is damaged the backup ships nothing (and so
 * retention deletes nothing, anywhere); the report then says where to go
 * next: `triplicate doctor`, and the latest good snapshot with its age, the
 * data-loss window of a restore.
 */
import type { Config } from "../config/schema.js";
import type { StorageAdapter } from "../../adapters/types.js";
import { SnapshotError, VerificationError } from "../runtime/errors.js";
import { inventoryDestination } from "../catalog/inventory.js";
import { latestOf, newestOf, type LatestSnapshot } from "../doctor/snapshots.js";

export interface DamagedSource {
  /** The command that diagnoses it (and, with --salvage, copies out what is readable). */
  doctor: string;
  /** The newest complete snapshot on any reachable destination; null when there is none. */
  latestGood: Omit<LatestSnapshot, "rowCounts" | "tags"> | null;
}

/**
 * A failed integrity_check, or SQLite meeting a malformed page while copying
 * or checking (integrity_check itself can stop with "malformed", and the
 * worker passes only the message on): the source is damaged.
 */
export function isDamagedSource(err: unknown): boolean {
  if (err instanceof VerificationError) return err.failures.some((f) => f.startsWith("integrity_check") || /disk image is malformed/.test(f));
  const code = (err as { cause?: { code?: string } })?.cause?.code;
  return err instanceof SnapshotError && (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB");
}

export async function damagedSource(db: string, cfg: Config, open: Iterable<{ cfg: { name: string }; adapter?: StorageAdapter }>, now: Date): Promise<DamagedSource> {
  const latest = await Promise.all(
    [...open].map(async ({ cfg: d, adapter }) => {
      if (!adapter) return { latest: null };
      const inv = await inventoryDestination(adapter, d.name, [db]).catch(() => undefined);
      return { latest: inv?.reachable ? latestOf(inv.copies, db, d.name, now) : null };
    }),
  );
  const newest = newestOf(latest);
  return {
    doctor: `triplicate doctor ${db} --full --config ${cfg.configPath}`,
    latestGood: newest ? { destination: newest.destination, snapshotId: newest.snapshotId, createdAt: newest.createdAt, ageMs: newest.ageMs, age: newest.age } : null,
  };
}
