import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import { VerificationError } from "../runtime/errors.js";
import { compiledWorker } from "../runtime/workerScript.js";

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

/**
 * Checks the copy on its own: integrity, foreign keys, and the same row
 * counts as the source had in the copied transaction. Read-only, so it can
 * run in a worker thread while the same file is being compressed.
 * A failed integrity_check or row count always throws; foreign-key
 * violations throw only in "fail" mode (they are the source's own data).
 */
export function verifySnapshot(job: VerifyJob): CheckedSnapshot {
  const { dbName, file, expectedCounts, sourceJournalMode, countLabels = { expected: "source", actual: "snapshot" } } = job;
  const db = new Database(file, { fileMustExist: true, readonly: true });
  try {
    // No mmap_size, on purpose: reading through a memory map made a 1 GiB restore ~5% faster
    // (paired), but the mapped pages count in RSS and in the kernel's OOM score: 1.16 GB instead
    // of 125 MB, for the process an operator least wants killed.
    db.pragma(`cache_size = ${SMALL_PAGE_CACHE}`);
    const failures: string[] = [];
    const integrity = db.pragma("integrity_check(20)", { simple: false }) as { integrity_check: string }[];
    const problems = integrity.map((r) => r.integrity_check).filter((m) => m !== "ok");
    if (problems.length) failures.push(`integrity_check: ${problems.slice(0, 5).join(" | ")}`);
    const foreignKeys = checkForeignKeys(db, job.foreignKeys);
    if (job.foreignKeys === "fail" && foreignKeys.violations) {
      failures.push(
        `foreign_key_check: ${describeForeignKeys(foreignKeys)}; checks.foreignKeys is "fail": fix those rows in the source, ` +
          `or set checks: { foreignKeys: warn } to back the database up as it is`,
      );
    }
    let counts: Record<string, number> = {};
    if (!problems.length) {
      counts = countRows(db);
      for (const [table, n] of Object.entries(expectedCounts)) {
        if (counts[table] !== n) failures.push(`row count of ${table}: ${countLabels.expected} ${n}, ${countLabels.actual} ${counts[table] ?? "missing"}`);
      }
    }
    if (failures.length) throw new VerificationError(dbName, failures);
    const facts: SqliteFacts = {
      pageSize: Number(db.pragma("page_size", { simple: true })),
      pageCount: Number(db.pragma("page_count", { simple: true })),
      journalMode: sourceJournalMode,
      userVersion: Number(db.pragma("user_version", { simple: true })),
      schemaSha256: schemaHash(db),
      rowCounts: counts,
    };
    if (foreignKeys.violations !== null) facts.foreignKeyViolations = foreignKeys.violations;
    return { facts, foreignKeys };
  } catch (err) {
    if (err instanceof VerificationError) throw err;
    throw new VerificationError(dbName, [(err as Error).message], { cause: err });
  } finally {
    db.close();
  }
}

/**
 * Counts every row foreign_key_check reports and keeps the first few. Iterated,
 * not collected: a database with millions of dangling rows must not need
 * millions of objects in a 64 MB worker heap.
 */
function checkForeignKeys(db: Database.Database, mode: ForeignKeyMode): ForeignKeyReport {
  if (mode === "off") return { mode, violations: null, first: [] };
  let violations = 0;
  const first: ForeignKeyViolation[] = [];
  for (const row of db.prepare("PRAGMA foreign_key_check").iterate() as Iterable<{ table: string; rowid: number | null; parent: string }>) {
    violations++;
    if (first.length < FOREIGN_KEY_SAMPLE) first.push({ table: row.table, rowid: row.rowid, parent: row.parent });
  }
  return { mode, violations, first };
}

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

/**
 * `verifySnapshot` in a worker thread, so the main thread can compress (or
 * hash) meanwhile. Runs inline only when loaded from TypeScript sources (a
 * test runner); a compiled build without its worker is an error.
 */
export async function verifyInWorker(job: VerifyJob): Promise<CheckedSnapshot> {
  const workerUrl = compiledWorker("snapshotWorker.js", import.meta.url);
  if (!workerUrl) return verifySnapshot(job);
  const reply = await new Promise<{ ok: true; checked: CheckedSnapshot } | { ok: false; failures: string[] }>((resolve, reject) => {
    // A small heap: the work happens inside SQLite, not in JS.
    const worker = new Worker(workerUrl, { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 } });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`verification worker exited with code ${code}`)));
  });
  if (!reply.ok) throw new VerificationError(job.dbName, reply.failures);
  return reply.checked;
}
