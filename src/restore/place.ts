/**
 * Putting a restored database in place: check the target before any
 * download, then swap the proven file in atomically, moving the old database
 * and its side files aside (never deleting them).
 */
import { constants as fsc } from "node:fs";
import { access, chmod, chown, link, lstat, mkdir, open, readdir, readlink, realpath, rename, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { compactUtc } from "../publish/ids.js";
import { UsageError } from "../runtime/errors.js";
import { isAlive } from "../runtime/lock.js";
import { sqliteFileSet } from "../runtime/sqliteFiles.js";
import { RestoreError } from "./errors.js";
import { refuseLiveDatabase } from "./liveCheck.js";

export { refuseLiveDatabase } from "./liveCheck.js";

/**
 * Before downloading anything: the folder must take a new file, and a live
 * database in WAL mode is not replaced without --force (its -wal file holds
 * commits a running application may still be adding to).
 */
export async function preflightTarget(target: string, force: boolean): Promise<void> {
  const dir = path.dirname(target);
  try {
    await mkdir(dir, { recursive: true });
    const probe = path.join(dir, `.triplicate-write-test-${process.pid}`);
    const h = await open(probe, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY);
    await h.close();
    await rm(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR") {
      throw new UsageError(`cannot put ${target} there: part of ${dir} is a file, not a folder; check the --to path; nothing was changed`, { cause: err });
    }
    throw new RestoreError(`cannot write to ${dir} (${code ?? (err as Error).message}); choose a writable folder with --to, or fix its permissions; nothing was changed`, { cause: err });
  }
  await removeAbandonedTemps(target);
  const existing = await stat(target).catch(() => null);
  if (existing && !existing.isFile()) {
    throw new UsageError(`${target} exists and is not a file; give --to the path of the database file itself`);
  }
  await refuseLiveDatabase(target, force);
}

/** A restore's temp file, hidden beside the target: `<dir>/.<name>.restore-<pid>-<random>`. */
export function tempPrefix(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.restore-`);
}

/**
 * Temp files of earlier restores into the same target whose process is gone
 * (killed, or the machine went down mid-download): left alone they would
 * fill the disk that holds the production database, a GiB at a time.
 */
async function removeAbandonedTemps(target: string): Promise<void> {
  const prefix = path.basename(tempPrefix(target));
  for (const name of await readdir(path.dirname(target)).catch(() => [] as string[])) {
    const pid = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length))?.[1] : undefined;
    // Best effort: a temp file we may not remove (another user's) is left to its owner.
    if (pid && !isAlive(Number(pid))) await rm(path.join(path.dirname(target), name), { force: true }).catch(() => undefined);
  }
}

/** The file operations a placement uses; tests pass their own to watch the path between steps. */
export interface PlaceOps {
  rename: (from: string, to: string) => Promise<void>;
  link: (existing: string, newPath: string) => Promise<void>;
  unlink: (file: string) => Promise<void>;
}
const REAL_OPS: PlaceOps = { rename, link, unlink };

/**
 * fsync'd temp file → rename over the target. The old database gets a second
 * name (a hard link) first, so its path never goes missing: an application
 * opening it mid-restore finds the old database or the new one, never no file
 * (SQLite would create an empty database there). Its -wal/-shm/-journal move
 * aside before the rename (so the old -wal is never applied to the restored
 * file); nothing is deleted. The restored file takes the old one's
 * permissions and owner, so the application can still open it. If any step
 * fails, what was moved aside is moved back before the error is thrown.
 */
export async function placeAtomically(temp: string, target: string, now: Date, unique: string, log: Logger, ops: PlaceOps = REAL_OPS): Promise<string[]> {
  const stamp = compactUtc(now);
  // Unique per restore, and checked: rename() would silently replace an earlier set-aside file.
  let aside = `${target}.pre-restore-${stamp}`;
  if (await exists(aside)) aside = `${aside}-${unique}`;
  for (const file of sqliteFileSet(aside)) {
    if (await exists(file)) throw new RestoreError(`${file} already exists; not overwriting it. Move it away and run restore again`);
  }
  const previous = await stat(target).catch(() => null);
  if (previous) await takeOwnership(temp, previous, target, log);
  const undo: { file: string; aside: string; linked: boolean }[] = [];
  try {
    const asideFiles = sqliteFileSet(aside);
    if (previous) undo.push({ file: target, aside: asideFiles[0], linked: await setAsideMain(target, asideFiles[0], ops, log) });
    for (const [i, from] of sqliteFileSet(target).entries()) {
      if (i > 0 && (await exists(from))) {
        await ops.rename(from, asideFiles[i]);
        undo.push({ file: from, aside: asideFiles[i], linked: false });
      }
    }
    await ops.rename(temp, target);
  } catch (err) {
    const stuck: string[] = [];
    for (const u of [...undo].reverse()) {
      // A linked old database is still at its path: only the extra name goes.
      await (u.linked ? ops.unlink(u.aside) : ops.rename(u.aside, u.file)).catch(() => stuck.push(`${u.file} is at ${u.aside}`));
    }
    const where = stuck.length ? ` Could not move back: ${stuck.join("; ")}` : " Nothing was changed there.";
    throw new RestoreError(`${(err as Error).message}.${where}`, { cause: err });
  }
  // The rename is done: a folder that cannot be fsynced is not a reason to report failure.
  const d = await open(path.dirname(target), "r").catch(() => undefined);
  await d?.sync().catch(() => undefined);
  await d?.close();
  return undo.map((u) => u.aside);
}

/**
 * The old database's second name. True when hard-linked (it stays at its
 * path until the new file replaces it); where the file system has no hard
 * links (vfat, some network shares) it is renamed, and the path is empty for
 * the moment until the next rename.
 */
async function setAsideMain(target: string, aside: string, ops: PlaceOps, log: Logger): Promise<boolean> {
  try {
    await ops.link(target, aside);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EMLINK" && code !== "ENOSYS") throw err;
    log.warn({ target, code }, `${path.dirname(target)} does not take hard links (${code}): the old database is renamed aside, so for an instant no file is at ${target}`);
    await ops.rename(target, aside);
    return false;
  }
}

/** Gives the restored file the permission bits and owner of the database it replaces. */
async function takeOwnership(file: string, previous: { mode: number; uid: number; gid: number }, target: string, log: Logger): Promise<void> {
  // Some file systems (vfat, some CIFS mounts) refuse chmod: a good restore must not fail for it.
  await chmod(file, previous.mode & 0o7777).catch((err: NodeJS.ErrnoException) =>
    log.warn({ target, code: err.code }, `the restored ${target} could not be given the old file's permissions (${(previous.mode & 0o7777).toString(8)}): fix with chmod`),
  );
  if (process.getuid?.() === previous.uid && process.getgid?.() === previous.gid) return;
  await chown(file, previous.uid, previous.gid).catch((err: NodeJS.ErrnoException) => {
    // Only root may give a file away; say so rather than fail a restore that is otherwise good.
    log.warn({ target, uid: previous.uid, gid: previous.gid, code: err.code }, `the restored ${target} could not be given the old file's owner (uid ${previous.uid}, gid ${previous.gid}): fix with chown if the application runs as that user`);
  });
}

/** `p` with symlinks followed, also when the last one dangles (its file is what was lost). */
export async function followSymlinks(p: string): Promise<string> {
  for (let hops = 0; hops < 40; hops++) {
    const info = await lstat(p).catch(() => null);
    if (!info?.isSymbolicLink()) return p;
    // Relative to the folder the link really is in (its own path may run through other links).
    const folder = await realpath(path.dirname(p)).catch(() => path.dirname(p));
    p = path.resolve(folder, await readlink(p));
  }
  throw new UsageError(`${p}: too many levels of symbolic links; give --to the database file itself`);
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}
