/**
 * The staging folder: where a run keeps its snapshot and artifact until
 * every destination has them. A run killed mid-way (OOM killer, power cut,
 * SIGKILL) cannot clean up, so staged files carry their process id and the
 * next run removes those whose process is gone; repeated crashes must not
 * fill the disk. Before a snapshot, the folder must have room for it.
 */
import { readdir, rm, stat, statfs } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { SNAPSHOT_ID } from "../publish/ids.js";
import { StagingError } from "../runtime/errors.js";
import { formatBytes } from "../runtime/format.js";
import { isAlive } from "../runtime/lock.js";

/** statfs(2)'s f_type of tmpfs: the folder lives in memory. */
const TMPFS_MAGIC = 0x01021994;

/** `<id>.pid<pid>.sqlite`, its artifact `….sqlite.zst` (`.zst.age` when encrypted) and SQLite's side files; also the names before the pid was added. */
const STAGED = new RegExp(`^(${SNAPSHOT_ID.source.slice(1, -1)})(?:\\.pid(?<pid>\\d+))?\\.sqlite(?:\\.[a-z0-9]+)?(?:\\.age)?(?:-wal|-shm|-journal)?$`);

export type StatFs = (dir: string) => Promise<{ bavail: number; bsize: number; type: number }>;

/** Where one run stages one database's snapshot; the artifact is this plus its extension. */
export function stagedFile(staging: string, db: string, snapshotId: string, pid: number): string {
  return path.join(staging, db, `${snapshotId}.pid${pid}.sqlite`);
}

/**
 * Removes staged files of runs whose process is gone. Run under the run lock,
 * so no other backup is staging here; a file named for a live process is left
 * alone all the same (it may be a run of another config sharing the folder).
 * Files from before the pid was in the name can only be a dead run's: the lock is ours.
 */
export async function sweepDeadRuns(staging: string, log: Logger, alive: (pid: number) => boolean = isAlive): Promise<string[]> {
  const removed: string[] = [];
  let bytes = 0;
  for (const sub of await readdir(staging, { withFileTypes: true }).catch(() => [])) {
    if (!sub.isDirectory()) continue;
    const folder = path.join(staging, sub.name);
    for (const name of await readdir(folder).catch(() => [] as string[])) {
      const m = STAGED.exec(name);
      if (!m) continue;
      const pid = m.groups?.pid ? Number(m.groups.pid) : undefined;
      if (pid !== undefined && (pid === process.pid || alive(pid))) continue;
      const file = path.join(folder, name);
      bytes += (await stat(file).catch(() => ({ size: 0 }))).size;
      // Best effort: a file we may not remove is left to its owner, and does not fail the run.
      if (await rm(file, { force: true }).then(() => true, () => false)) removed.push(file);
    }
  }
  if (removed.length) log.info({ staging, files: removed.length, bytes }, `removed ${removed.length} staged file(s) (${formatBytes(bytes)}) left by runs that died`);
  return removed;
}

/** A staging folder in RAM holds the snapshot and the artifact in memory, beside the application. */
export async function warnIfTmpfs(staging: string, log: Logger, fsStat: StatFs = statfs): Promise<void> {
  const fs = await fsStat(staging).catch(() => undefined);
  if (fs?.type === TMPFS_MAGIC) {
    log.warn({ staging }, `the staging folder ${staging} is on tmpfs (memory): each snapshot and its artifact take RAM there, and a crash loses them; set staging: to a folder on disk such as /var/tmp/triplicate`);
  }
}

/**
 * Fails before the snapshot when the folder cannot hold it: the copy of the
 * database (at most the file plus its -wal) and the artifact, which is built
 * while the copy is still there and can be as large as it (data that does not
 * compress). Failing late would leave the disk full for everyone else on it.
 */
export async function checkStagingRoom(
  job: { staging: string; dbName: string; dbPath: string; compressed: boolean },
  fsStat: StatFs = statfs,
): Promise<void> {
  const size = async (f: string) => (await stat(f).catch(() => ({ size: 0 }))).size;
  const raw = (await size(job.dbPath)) + (await size(`${job.dbPath}-wal`));
  const need = raw * 2;
  const fs = await fsStat(job.staging).catch(() => undefined);
  if (!fs) return; // the snapshot itself will say what is wrong with the folder
  const free = fs.bavail * fs.bsize;
  if (free < need) {
    throw new StagingError(
      `the staging folder ${job.staging} has ${formatBytes(free)} free; the snapshot of ${job.dbName} needs about ${formatBytes(need)} (the database with its -wal, ${formatBytes(raw)}, and its artifact beside it). Nothing was shipped or deleted: free space there, or set staging: to a folder with room`,
    );
  }
}
