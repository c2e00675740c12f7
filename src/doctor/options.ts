/**
 * The ways out of a damaged database, each with what it loses, so the
 * operator chooses with the data-loss window in front of them.
 */
import type { DamageMap } from "./damageMap.js";
import type { DestinationLatest } from "./snapshots.js";

export interface DoctorOption {
  kind: "restore" | "salvage" | "reindex" | "rollback";
  command: string;
  loses: string;
}

export function doctorOptions(x: { name: string | null; path: string; target: string; damage?: DamageMap; snapshots: DestinationLatest[]; hotJournal: boolean; configPath?: string }): DoctorOption[] {
  const opts: DoctorOption[] = [];
  const cfg = x.configPath ? ` --config ${x.configPath}` : "";
  if (x.hotJournal) {
    opts.push({
      kind: "rollback",
      command: `open it once for writing with the application stopped (sqlite3 ${x.path} "PRAGMA user_version"), keeping the -journal beside it`,
      loses: "the transaction that was in progress when it stopped (it was never committed)",
    });
  }
  if (x.damage?.indexOnly && x.damage.reindexFixes) {
    opts.push({ kind: "reindex", command: `sqlite3 ${x.path} "REINDEX" (with the application stopped)`, loses: "nothing: only indexes are damaged, and REINDEX rebuilt them from the tables on a copy" });
  }
  for (const s of x.snapshots) {
    if (!s.latest || !x.name) continue;
    opts.push({
      kind: "restore",
      command: `triplicate restore ${x.name} --from ${s.destination} --to ${x.path}.restored${cfg}`,
      loses: `everything written after snapshot ${s.latest.snapshotId} (${s.latest.createdAt}, ${s.latest.age} ago)`,
    });
  }
  const damaged = x.damage?.tables.filter((t) => t.damaged) ?? [];
  const unreadable = damaged.length
    ? `the rows on unreadable pages of ${damaged.map((t) => `${t.name} (${t.readableRows} rows read before the damage stopped a plain scan)`).join(", ")}`
    : x.damage?.schemaReadable === false
      ? "everything SQLite cannot find without the schema (page 1 is unreadable)"
      : "nothing that is readable now; indexes are rebuilt from the rows";
  opts.push({ kind: "salvage", command: `triplicate doctor ${x.target} --salvage ${x.path}.salvaged${cfg}`, loses: unreadable });
  return opts;
}
