/**
 * snapshot/: a consistent online copy of a live database (this file), then
 * checks of that copy on its own (checks.ts, in a worker thread).
 */
import Database from "better-sqlite3";
import { access } from "node:fs/promises";
import path from "node:path";
import { SnapshotError } from "../runtime/errors.js";
import { removeSqliteFiles } from "../runtime/sqliteFiles.js";
import { createPrivateFile, makePrivateDir } from "../runtime/privateFiles.js";
import { SMALL_PAGE_CACHE, countRows } from "./checks.js";
import { damagedSourceAdvice } from "./advice.js";

export interface CopiedSnapshot {
  /** Staging file holding the consistent copy (switched to journal_mode=DELETE). */
  path: string;
  /** Row counts of the source, read in the same transaction the copy was taken in. */
  sourceCounts: Record<string, number>;
  sourceJournalMode: string;
  durationMs: number;
}

/**
 * Pages copied per backup step. Because we hold a read transaction on the
 * source for the whole copy, other connections' commits cannot restart the
 * backup (they land after our snapshot), so the step size only trades event
 * loop turns against speed: each step commits on the destination. 65536
 * pages (256 MiB at 4 KiB) measured 5.1 s per GiB here, one step 4.8 s,
 * 4096 pages 5.9 s; `sqlite3 .backup` 4.6 s.
 */
const PAGES_PER_STEP = 65536;


/**
 * A consistent online copy of a live database with the SQLite backup API.
 *
 * One read transaction is held on the source connection from the row counts
 * to the end of the copy, so counts and copy are the same point in time and
 * committed data still in the -wal file is included. In WAL mode writers keep
 * committing meanwhile; in rollback-journal mode they wait (busy_timeout) for
 * the duration of the copy, which is what any consistent copy costs there.
 * The copy is then made a plain rollback-journal file, so a restore never
 * needs -wal/-shm files. Checking it is `verifyInWorker`'s job (verify.ts).
 */
export async function copySnapshot(dbName: string, sourcePath: string, stagingFile: string): Promise<CopiedSnapshot> {
  const started = performance.now();
  try {
    await access(sourcePath);
  } catch (err) {
    throw new SnapshotError(dbName, `source ${sourcePath} does not exist or cannot be read; check databases[].path`, { cause: err });
  }
  // Staged snapshots are plain copies of the data: only this user may read them.
  await makePrivateDir(path.dirname(stagingFile));
  await removeSqliteFiles(stagingFile);
  // SQLite would create it 0644 minus the umask; an empty file is an empty database to the backup
  // API, and SQLite gives its -journal the database file's mode.
  await createPrivateFile(stagingFile, "wx");

  let source: Database.Database;
  try {
    source = new Database(sourcePath, { readonly: true, fileMustExist: true });
    source.pragma("busy_timeout = 10000");
    source.pragma(`cache_size = ${SMALL_PAGE_CACHE}`);
  } catch (err) {
    throw new SnapshotError(dbName, `cannot open ${sourcePath}: ${(err as Error).message}`, { cause: err });
  }

  let sourceJournalMode: string;
  let sourceCounts: Record<string, number>;
  try {
    sourceJournalMode = String(source.pragma("journal_mode", { simple: true }));
    source.exec("BEGIN");
    // The first read starts the read transaction that pins this snapshot.
    sourceCounts = countRows(source);
    await source.backup(stagingFile, { progress: () => PAGES_PER_STEP });
    source.exec("COMMIT");
    const copy = new Database(stagingFile, { fileMustExist: true });
    try {
      copy.pragma("journal_mode = DELETE");
    } finally {
      copy.close();
    }
  } catch (err) {
    if (source.inTransaction) source.exec("ROLLBACK");
    source.close();
    await removeSqliteFiles(stagingFile);
    // A malformed page met while copying is the source's damage, found before integrity_check could.
    const advice = (err as { code?: string }).code === "SQLITE_CORRUPT" ? `; ${damagedSourceAdvice(dbName, sourcePath)}` : "";
    throw new SnapshotError(dbName, `snapshot of ${sourcePath} failed: ${(err as Error).message}${advice}`, { cause: err });
  }
  source.close();
  return { path: stagingFile, sourceCounts, sourceJournalMode, durationMs: Math.round(performance.now() - started) };
}
