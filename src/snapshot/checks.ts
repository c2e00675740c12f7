import Database from "better-sqlite3";
import { createHash } from "node:crypto";

/** What the manifest records about the database inside a snapshot. */
export interface SqliteFacts {
  pageSize: number;
  pageCount: number;
  /** Journal mode of the live source (the snapshot itself is switched to `delete`). */
  journalMode: string;
  userVersion: number;
  schemaSha256: string;
  rowCounts: Record<string, number>;
  /** Rows that break a foreign key, as foreign_key_check counted them; absent when the check was off. */
  foreignKeyViolations?: number;
}

/** `checks.foreignKeys`: refuse a snapshot with violations, ship it with a warning, or skip the check. */
export type ForeignKeyMode = "fail" | "warn" | "off";

/** One row foreign_key_check reports: `rowid` of `table` names a `parent` row that does not exist. */
export interface ForeignKeyViolation {
  table: string;
  rowid: number | null;
  parent: string;
}

/** What the report says about foreign keys: the count (null when off) and the first few rows. */
export interface ForeignKeyReport {
  mode: ForeignKeyMode;
  violations: number | null;
  first: ForeignKeyViolation[];
}

/** A snapshot that passed its checks: the facts for the manifest, and what the report warns about. */
export interface CheckedSnapshot {
  facts: SqliteFacts;
  foreignKeys: ForeignKeyReport;
}

/** How many violating rows the report names; the manifest keeps only the count. */
export const FOREIGN_KEY_SAMPLE = 5;

/**
 * better-sqlite3 gives every connection a 16 MiB page cache. Our reads are
 * single passes (counts, copy, integrity_check), so 2 MiB does as well
 * (integrity_check of 1 GiB: 1.5 s against 2.0 s) and keeps peak memory down.
 */
export const SMALL_PAGE_CACHE = -2000;

/** "7 row(s) break foreign keys (first: posts rowid 101 → authors, ...)". */
export function describeForeignKeys(fk: ForeignKeyReport): string {
  const rows = fk.first.map((v) => `${v.table} rowid ${v.rowid ?? "?"} → ${v.parent}`).join(", ");
  return `${fk.violations} row(s) break foreign keys: they point at missing parents (first: ${rows}${(fk.violations ?? 0) > fk.first.length ? ", ..." : ""})`;
}

/** Row count of every user table (not views, not sqlite_ internals, not virtual tables). */
export function countRows(db: Database.Database): Record<string, number> {
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
    .pluck()
    .all() as string[];
  const counts: Record<string, number> = {};
  for (const t of tables) {
    counts[t] = Number(db.prepare(`SELECT count(*) FROM "${t.replaceAll('"', '""')}"`).pluck().get());
  }
  return counts;
}

/** SHA-256 over the schema's SQL, in a stable order, so a changed schema is visible across snapshots. */
export function schemaHash(db: Database.Database): string {
  const rows = db.prepare("SELECT type, name, tbl_name, coalesce(sql, '') AS sql FROM sqlite_schema ORDER BY type, name").all();
  return createHash("sha256").update(JSON.stringify(rows)).digest("hex");
}

/** What the verification worker checks: a SQLite file against expected row counts. */
export interface VerifyJob {
  dbName: string;
  file: string;
  expectedCounts: Record<string, number>;
  sourceJournalMode: string;
  /** See ForeignKeyMode; every caller decides, so a restore cannot inherit a backup's strictness by accident. */
  foreignKeys: ForeignKeyMode;
  /** How a row-count mismatch names the two sides; default "source" and "snapshot" (a backup). */
  countLabels?: { expected: string; actual: string };
}
