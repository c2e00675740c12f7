/**
 * SQLite's own checks, on the file workCopy chose. Each check reads rows
 * until SQLite gives up: on a damaged file a PRAGMA can return its findings
 * and then fail, and the findings are what the operator needs.
 */
import Database from "better-sqlite3";
import { SMALL_PAGE_CACHE } from "../snapshot/checks.js";

export interface CheckResult {
  ok: boolean;
  /** The first problems SQLite named (at most CHECK_LIMIT). */
  errors: string[];
  /** The check itself stopped with this error (the file is too damaged to finish it). */
  aborted?: string;
}

export interface DbChecks {
  quickCheck: CheckResult;
  /** Only with --full: it reads every index entry against its row, which takes as long as reading the file. */
  integrityCheck?: CheckResult;
  foreignKeys: { violations: number | null; aborted?: string };
  pageCount: number | null;
  freelistPages: number | null;
  /** Unused bytes inside used pages, as a share of them (dbstat); null when dbstat could not read the file. */
  fragmentation: number | null;
  journalMode: string | null;
}

export const CHECK_LIMIT = 20;

export function openForDoctor(file: string, writable: boolean): Database.Database {
  const db = new Database(file, { readonly: !writable, fileMustExist: true });
  // A cut-off file (more pages in the header than on disk) is refused outright unless the
  // schema is "writable": the one switch that lets SQLite read what is there. Nothing is written.
  // better-sqlite3 opens in SQLite's defensive mode, which ignores writable_schema: lift it here.
  db.unsafeMode(true);
  db.pragma("writable_schema = ON");
  // After the switch: preparing any PRAGMA that needs the schema reads page 1 first.
  db.pragma(`cache_size = ${SMALL_PAGE_CACHE}`);
  return db;
}

/** Collects rows of `sql` until the end or the first error, so a check that dies half-way still reports. */
export function rowsUntilError<T>(db: Database.Database, sql: string): { rows: T[]; error?: string } {
  const rows: T[] = [];
  try {
    for (const r of db.prepare(sql).iterate() as Iterable<T>) rows.push(r);
    return { rows };
  } catch (err) {
    return { rows, error: (err as Error).message };
  }
}

/** Counts rows without keeping them (a table of millions of dangling rows must not fill memory). */
export function countUntilError(db: Database.Database, sql: string): { count: number; error?: string } {
  let count = 0;
  try {
    for (const _ of db.prepare(sql).raw().iterate()) count++;
    return { count };
  } catch (err) {
    return { count, error: (err as Error).message };
  }
}

export function runCheck(db: Database.Database, pragma: "quick_check" | "integrity_check"): CheckResult {
  const { rows, error } = rowsUntilError<Record<string, string>>(db, `PRAGMA ${pragma}(${CHECK_LIMIT})`);
  const errors = rows
    .flatMap((r) => String(Object.values(r)[0]).split("\n"))
    .filter((m) => m !== "ok" && !m.startsWith("*** in database"));
  return { ok: errors.length === 0 && !error, errors, ...(error ? { aborted: error } : {}) };
}

function numberOrNull(db: Database.Database, sql: string): number | null {
  try {
    return Number(db.prepare(sql).pluck().get());
  } catch {
    return null;
  }
}

export function runChecks(db: Database.Database, full: boolean): DbChecks {
  const quickCheck = runCheck(db, "quick_check");
  const integrityCheck = full ? runCheck(db, "integrity_check") : undefined;
  const fk = countUntilError(db, "PRAGMA foreign_key_check");
  const frag = numberOrNull(db, "SELECT CAST(sum(unused) AS REAL) / sum(pgsize) FROM dbstat WHERE pagetype IN ('leaf', 'internal')");
  let journalMode: string | null = null;
  try {
    journalMode = String(db.pragma("journal_mode", { simple: true }));
  } catch {
    /* unreadable header: left null */
  }
  return {
    quickCheck,
    integrityCheck,
    foreignKeys: { violations: fk.error ? null : fk.count, ...(fk.error ? { aborted: fk.error } : {}) },
    pageCount: numberOrNull(db, "PRAGMA page_count"),
    freelistPages: numberOrNull(db, "PRAGMA freelist_count"),
    fragmentation: frag === null ? null : Math.round(frag * 1000) / 1000,
    journalMode,
  };
}
