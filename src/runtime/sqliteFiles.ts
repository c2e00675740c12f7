import { rm } from "node:fs/promises";

/**
 * The files SQLite may keep beside a database: a write-ahead log and its
 * shared-memory index (WAL mode), or a rollback journal. They belong to the
 * database: moved, removed or checked together with it, never alone.
 */
export const SIDE_FILE_SUFFIXES = ["-wal", "-shm", "-journal"] as const;

/** The database file and every side file SQLite may keep for it, the database first. */
export function sqliteFileSet(file: string): string[] {
  return [file, ...SIDE_FILE_SUFFIXES.map((s) => file + s)];
}

/** Removes a database file that is ours (a staged or scratch copy) with all its side files. */
export async function removeSqliteFiles(file: string): Promise<void> {
  await Promise.all(sqliteFileSet(file).map((f) => rm(f, { force: true })));
}
