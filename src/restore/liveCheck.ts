/**
 * Is the database at the restore target in use? Replacing a file an
 * application is writing loses what it writes next (into the file moved
 * aside), and replacing one with unfinished work beside it (a live -wal, a
 * hot -journal) parks that work where the application will not look. Each
 * is refused without --force, checked before the download and again just
 * before the swap.
 */
import Database from "better-sqlite3";
import { open, stat } from "node:fs/promises";
import { UsageError } from "../runtime/errors.js";

/** The first 8 bytes of a rollback journal that still has to be played back (SQLite's aJournalMagic). */
const HOT_JOURNAL_MAGIC = Buffer.from("d9d505f920a163d7", "hex");

export async function refuseLiveDatabase(target: string, force: boolean): Promise<void> {
  if (force) return;
  const wal = await stat(`${target}-wal`).catch(() => null);
  if (wal && wal.size > 0) {
    throw new UsageError(
      `${target} has a live write-ahead log (${target}-wal, ${wal.size} bytes): an application may have it open. Stop it first, or pass --force to move the database and its -wal/-shm aside and restore anyway`,
    );
  }
  if (await hotJournal(`${target}-journal`)) {
    throw new UsageError(
      `${target} has a hot rollback journal (${target}-journal): a write to it was interrupted or is under way, and the next open would roll it back. Stop the application (or open the database once with sqlite3 to recover it), or pass --force to move the database and its journal aside and restore anyway`,
    );
  }
  const holder = lockHeld(target);
  if (holder) {
    throw new UsageError(
      `${target} is locked by another process (${holder}): an application is writing to it. Stop it first, or pass --force to move the database aside and restore anyway`,
    );
  }
}

/** A journal that is not empty and starts with the magic (PERSIST mode zeroes it, TRUNCATE empties it). */
async function hotJournal(file: string): Promise<boolean> {
  const h = await open(file, "r").catch(() => null);
  if (!h) return false;
  try {
    const head = Buffer.alloc(HOT_JOURNAL_MAGIC.length);
    const { bytesRead } = await h.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(HOT_JOURNAL_MAGIC);
  } finally {
    await h.close();
  }
}

/**
 * Asks SQLite for the write lock without waiting (busy_timeout 0) and gives
 * it straight back: SQLITE_BUSY means another connection holds a write (or
 * pending) lock. Runs only once the -wal is known empty and no hot journal is
 * there, so opening the file changes nothing in it. Where it cannot be opened
 * for writing, a read-only read finds the exclusive lock of a commit in
 * progress. Anything that is not a lock (not a database, no permission) is
 * not this check's business: the restore goes on and says so elsewhere.
 */
function lockHeld(target: string): string | undefined {
  for (const readonly of [false, true]) {
    let db: Database.Database | undefined;
    try {
      db = new Database(target, { fileMustExist: true, readonly, timeout: 0 });
      db.pragma("busy_timeout = 0");
      if (readonly) db.prepare("SELECT count(*) FROM sqlite_master").get();
      else db.exec("BEGIN IMMEDIATE; ROLLBACK");
      return undefined;
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return readonly ? "a commit is in progress" : "it holds the write lock";
      if (!readonly && (code.startsWith("SQLITE_READONLY") || code === "SQLITE_CANTOPEN" || code === "SQLITE_PERM")) continue;
      return undefined;
    } finally {
      db?.close();
    }
  }
  return undefined;
}
