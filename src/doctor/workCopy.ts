/**
 * Where the diagnosis reads. SQLite opened on a WAL database creates or
 * writes its -shm, and meeting a hot journal it rolls the main file back:
 * both change the files under examination. Then the file set is copied to a
 * private folder and SQLite works on the copy; a plain rollback file with no
 * side files is read in place, read-only.
 */
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { makePrivateDir } from "../runtime/privateFiles.js";
import type { HeaderFacts } from "./header.js";
import type { SideFacts } from "./sideFiles.js";

export interface WorkCopy {
  /** The file SQLite opens: the original, or its private copy. */
  file: string;
  /** Why a copy was needed; absent when the original is read in place. */
  copiedBecause?: string;
  /** Open read-write: needed on a copy so SQLite can roll back a hot journal or rebuild the -shm. */
  writable: boolean;
  dispose: () => Promise<void>;
}

export function whyCopy(header: HeaderFacts, side: SideFacts): string | undefined {
  if (side.journal?.hot) return "a hot journal: SQLite would roll the main file back";
  if (side.wal) return "a -wal file: SQLite would write the -shm and could checkpoint the -wal";
  if (side.journal) return "a -journal file: SQLite would delete or rewrite it";
  if (header.journalModeInHeader === "wal") return "WAL mode: SQLite would create a -shm";
  return undefined;
}

/**
 * The copy holds the database, its -wal and its -journal; never the -shm,
 * which SQLite rebuilds from the -wal (a stale one could hide frames).
 */
export async function workCopy(file: string, reason: string | undefined, scratchRoot: string | undefined): Promise<WorkCopy> {
  if (!reason) return { file, writable: false, dispose: async () => undefined };
  const root = scratchRoot ?? os.tmpdir();
  await makePrivateDir(root);
  const dir = await mkdtemp(path.join(root, "doctor-"));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const copy = path.join(dir, path.basename(file));
    await copyFile(file, copy);
    for (const suffix of ["-wal", "-journal"]) {
      if (existsSync(file + suffix)) await copyFile(file + suffix, copy + suffix);
    }
    return { file: copy, copiedBecause: reason, writable: true, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
