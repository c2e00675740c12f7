/**
 * The row-by-row salvage: every table is read in rowid order, in batches;
 * where a read fails (a garbled page, a page past the end of a cut-off
 * file), the rows behind it are lost and the reader jumps ahead until a seek
 * lands on a readable page again, then narrows back to the first readable
 * rowid. Works with any SQLite build: it needs nothing but SELECT.
 */
import type Database from "better-sqlite3";
import { quoteId } from "./damageMap.js";

export interface TableSalvage {
  table: string;
  recovered: number;
  /** Rowid ranges that could not be read: (after, resumedAt), both exclusive of what was lost. */
  skipped: { after: string; resumedAt: string | null }[];
  /** WITHOUT ROWID tables are read front to back and stop at the first error. */
  stoppedAt?: string;
}

const BATCH = 1000;
const MAX_ROWID = 2n ** 63n - 1n;

type Row = unknown[];

/** One SELECT of up to `limit` full rows with rowid >= from; rows read before an error are kept. */
function readFrom(src: Database.Database, table: string, from: bigint, limit: number): { rows: Row[]; error?: string } {
  const rows: Row[] = [];
  try {
    const stmt = src.prepare(`SELECT rowid, * FROM ${quoteId(table)} NOT INDEXED WHERE rowid >= ? ORDER BY rowid LIMIT ?`).raw().safeIntegers();
    for (const r of stmt.iterate(from, limit) as Iterable<Row>) rows.push(r);
    return { rows };
  } catch (err) {
    return { rows, error: (err as Error).message };
  }
}

/** Works: a seek to `from` reads a whole row (or finds the end). */
function readable(src: Database.Database, table: string, from: bigint): { ok: boolean; end: boolean } {
  const r = readFrom(src, table, from, 1);
  return { ok: !r.error, end: !r.error && r.rows.length === 0 };
}

/** After a failure past `after`: the first rowid from which reading works again, or null at the end of the table. */
function nextReadable(src: Database.Database, table: string, start: bigint): bigint | null {
  // Negative rowids are rare: when the damage is before the first row, the search starts at 0,
  // or doubling from -2^63 would overshoot every real rowid in one step.
  const after = start < -1n ? -1n : start;
  let jump = 1n;
  let hi: bigint | null = null;
  while (after + jump <= MAX_ROWID) {
    const probe = readable(src, table, after + jump);
    if (probe.ok) {
      if (probe.end && jump === 1n) return null;
      hi = after + jump;
      break;
    }
    jump *= 2n;
  }
  if (hi === null) return null;
  let top: bigint = hi;
  // The smallest start that reads: rows between a failed and a working seek may still be readable.
  let lo = after + jump / 2n;
  while (top - lo > 1n) {
    const mid: bigint = lo + (top - lo) / 2n;
    if (readable(src, table, mid).ok) top = mid;
    else lo = mid;
  }
  return top;
}

function hasRowid(src: Database.Database, table: string): boolean {
  try {
    src.prepare(`SELECT rowid FROM ${quoteId(table)} LIMIT 0`);
    return true;
  } catch {
    return false;
  }
}

export function copyTableRows(src: Database.Database, out: Database.Database, table: string): TableSalvage {
  const cols = src.prepare(`SELECT * FROM ${quoteId(table)} LIMIT 0`).columns().map((c) => quoteId(c.name));
  const result: TableSalvage = { table, recovered: 0, skipped: [] };
  if (!hasRowid(src, table)) return copyWithoutRowid(src, out, table, cols, result);
  const insert = out.prepare(`INSERT INTO ${quoteId(table)} (rowid, ${cols.join(", ")}) VALUES (${["?", ...cols.map(() => "?")].join(", ")})`);
  let from = -(2n ** 63n);
  for (;;) {
    const batch = readFrom(src, table, from, BATCH);
    out.transaction(() => batch.rows.forEach((r) => insert.run(...r)))();
    result.recovered += batch.rows.length;
    const last = batch.rows.length ? (batch.rows[batch.rows.length - 1][0] as bigint) : from - 1n;
    if (!batch.error) {
      if (batch.rows.length < BATCH || last >= MAX_ROWID) return result;
      from = last + 1n;
      continue;
    }
    const resume = nextReadable(src, table, last);
    result.skipped.push({ after: String(last), resumedAt: resume === null ? null : String(resume) });
    if (resume === null) return result;
    from = resume;
  }
}

function copyWithoutRowid(src: Database.Database, out: Database.Database, table: string, cols: string[], result: TableSalvage): TableSalvage {
  const insert = out.prepare(`INSERT INTO ${quoteId(table)} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`);
  try {
    out.transaction(() => {
      for (const r of src.prepare(`SELECT * FROM ${quoteId(table)}`).raw().safeIntegers().iterate() as Iterable<Row>) {
        insert.run(...r);
        result.recovered++;
      }
    })();
  } catch (err) {
    result.stoppedAt = (err as Error).message;
  }
  return result;
}

interface SchemaRow {
  type: string;
  name: string;
  sql: string | null;
}

/** The schema, then the rows of every table, then indexes, triggers and views (built from the rows salvaged). */
export function salvageRows(src: Database.Database, out: Database.Database): TableSalvage[] {
  const schema = src.prepare("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid").all() as SchemaRow[];
  const internal = (r: SchemaRow) => r.name.startsWith("sqlite_");
  const tables = schema.filter((r) => r.type === "table" && !internal(r));
  for (const t of tables) out.exec(t.sql!);
  const plain = tables.filter((t) => !/^\s*CREATE\s+VIRTUAL/i.test(t.sql!));
  const results = plain.map((t) => copyTableRows(src, out, t.name));
  if (schema.some((r) => r.name === "sqlite_sequence")) {
    try {
      results.push(copyTableRows(src, out, "sqlite_sequence"));
    } catch {
      /* AUTOINCREMENT counters are rebuilt from the rows by the next insert */
    }
  }
  for (const r of schema.filter((x) => x.type !== "table" && !internal(x))) {
    try {
      out.exec(r.sql!);
    } catch {
      /* an index the salvaged rows violate (UNIQUE on damaged data) is left out; the report counts what is there */
    }
  }
  return results;
}
