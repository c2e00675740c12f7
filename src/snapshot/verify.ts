/**
 * Verifying a snapshot (or a restored file) on its own: every check piece
 * (checkPieces.ts) at once over the check pool's workers, then one verdict.
 * A failed integrity check or row count always fails; foreign-key violations
 * fail only in "fail" mode (they are the source's own data).
 */
import Database from "better-sqlite3";
import { VerificationError } from "../runtime/errors.js";
import { describeForeignKeys, type CheckedSnapshot, type ForeignKeyReport, type SqliteFacts, type VerifyJob } from "./checks.js";
import { listTables, planPieces, type CheckPiece, type PieceResult } from "./checkPieces.js";
import { createCheckPool, type CheckPool } from "./checkPool.js";

/**
 * Runs the checks of `job` on `pool` (a run's pool, reused for all its
 * databases), or on a pool of its own that it closes again.
 */
export async function verifyInWorker(job: VerifyJob, pool?: CheckPool): Promise<CheckedSnapshot> {
  const own = pool ?? createCheckPool();
  try {
    return await verifyInPieces(job, own);
  } finally {
    if (!pool) await own.close();
  }
}

async function verifyInPieces(job: VerifyJob, pool: CheckPool): Promise<CheckedSnapshot> {
  const { dbName, file, expectedCounts, countLabels = { expected: "source", actual: "snapshot" } } = job;
  let pieces: CheckPiece[];
  try {
    const db = new Database(file, { fileMustExist: true, readonly: true });
    try {
      pieces = planPieces(listTables(db), expectedCounts, job.foreignKeys);
    } finally {
      db.close();
    }
  } catch (err) {
    throw new VerificationError(dbName, [(err as Error).message], { cause: err });
  }
  const settled = await Promise.allSettled(pieces.map((p) => pool.run(file, p)));
  const done = settled.flatMap((s, i) => (s.status === "fulfilled" ? [{ piece: pieces[i], result: s.value }] : []));
  const thrown = settled.flatMap((s, i) => (s.status === "rejected" ? [{ piece: pieces[i], message: (s.reason as Error).message }] : []));

  const failures: string[] = [];
  const problems = done.filter((d) => d.piece.kind === "integrity" || d.piece.kind === "structure").flatMap((d) => d.result.problems);
  // A piece that could not even read its part found damage too (e.g. SQLITE_CORRUPT while counting).
  const unreadable = thrown.filter((t) => t.piece.kind !== "facts" || problems.length === 0).map((t) => t.message);
  if (problems.length || unreadable.length) failures.push(`integrity_check: ${[...new Set([...problems, ...unreadable])].slice(0, 5).join(" | ")}`);
  const foreignKeys: ForeignKeyReport = find(done, "foreignKeys")?.foreignKeys ?? { mode: "off", violations: null, first: [] };
  if (job.foreignKeys === "fail" && foreignKeys.violations) {
    failures.push(
      `foreign_key_check: ${describeForeignKeys(foreignKeys)}; checks.foreignKeys is "fail": fix those rows in the source, ` +
        `or set checks: { foreignKeys: warn } to back the database up as it is`,
    );
  }
  const measured = find(done, "facts")?.facts;
  // Row counts of a damaged file are noise beside the damage itself.
  if (!problems.length && measured) {
    for (const [table, n] of Object.entries(expectedCounts)) {
      if (measured.rowCounts[table] !== n) failures.push(`row count of ${table}: ${countLabels.expected} ${n}, ${countLabels.actual} ${measured.rowCounts[table] ?? "missing"}`);
    }
  }
  if (failures.length || !measured) throw new VerificationError(dbName, failures.length ? failures : ["the facts of the file could not be read"]);
  const { rowCounts, ...page } = measured;
  const facts: SqliteFacts = { pageSize: page.pageSize, pageCount: page.pageCount, journalMode: job.sourceJournalMode, userVersion: page.userVersion, schemaSha256: page.schemaSha256, rowCounts };
  if (foreignKeys.violations !== null) facts.foreignKeyViolations = foreignKeys.violations;
  return { facts, foreignKeys };
}

function find(done: { piece: CheckPiece; result: PieceResult }[], kind: CheckPiece["kind"]): PieceResult | undefined {
  return done.find((d) => d.piece.kind === kind)?.result;
}
