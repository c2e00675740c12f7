import { constants as fsc } from "node:fs";
import { access, chmod, chown, lstat, mkdir, open, readdir, readlink, realpath, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { restorePriorityOf, type Config, type DestinationConfig } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { TriplicateError, UsageError } from "../runtime/errors.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { inventoryDestination, type CopyRecord } from "../catalog/inventory.js";
import { CopyCheckError, fetchAndCheckCopy, type CheckedCopy } from "./fetch.js";
import { isAlive } from "../runtime/lock.js";
import type { Logger } from "pino";
import { parseDuration, subtractDuration } from "../runtime/duration.js";
import type { StorageAdapter } from "../../adapters/types.js";

export interface RestoreOptions {
  db: string;
  to?: string;
  /** ISO time or a relative age such as 2d; default now. */
  at?: string;
  from?: string;
  force: boolean;
  /** Aborted on Ctrl-C / SIGTERM: the download stops, its temp file is removed, nothing is replaced. */
  signal?: AbortSignal;
}

export interface RestoreAttempt {
  snapshotId: string;
  destination: string;
  ok: boolean;
  reason?: string;
  /** Artifact bytes downloaded. */
  bytes?: number;
  /** Size of the restored database file. */
  rawBytes?: number;
  durationMs?: number;
  /** Of durationMs: download + decompress + write; then fsync, hash and integrity_check side by side. */
  transferMs?: number;
  checkMs?: number;
}

export interface RestoreReport {
  command: "restore";
  exitCode: ExitCode;
  db: string;
  /** Where the database was put: the file itself, with symlinks followed. */
  target: string;
  /** The path given (or configured) when it was a symlink to `target`. */
  via?: string;
  at: string;
  /** Only this destination was tried (--from). */
  from?: string;
  /** Newest snapshot at or before `at` that any reachable destination lists. */
  newestSnapshotId?: string;
  restored?: {
    snapshotId: string;
    createdAt: string;
    destination: string;
    /** Artifact bytes downloaded. */
    bytes: number;
    /** Size of the restored database file. */
    rawBytes: number;
    sha256: string;
    rowCounts: Record<string, number>;
  };
  /** True when an older snapshot than the newest had to be used. */
  fellBack: boolean;
  movedAside: string[];
  attempts: RestoreAttempt[];
  unreachable: { destination: string; error: string }[];
  /** Wall time from start to the database in place: the RTO of this restore. */
  durationMs: number;
  error?: string;
}

export class RestoreError extends TriplicateError {}

/** A checked copy could not be put in place: the target's problem, not the copies'. */
export class PlacementError extends RestoreError {}

/** "interrupted by SIGINT <what happened>". */
function interrupted(signal: AbortSignal, what: string): RestoreError {
  return new RestoreError(`${(signal.reason as Error)?.message ?? "interrupted"} ${what}`, { cause: signal.reason });
}

/** `--at`: an ISO time, or an age like `2d` / `36h` counted back from now. */
export function resolveAt(at: string | undefined, now: Date): Date {
  if (at === undefined) return now;
  // An empty --at (an unset shell variable, say) must not quietly mean "now".
  if (!at.trim()) throw new UsageError(`--at is empty; give an ISO time (2026-11-25T02:00:00Z) or an age (2d, 36h), or leave it out for the newest snapshot`);
  if (/^\d+(y|mo|w|d|h|min|s)/.test(at)) {
    try {
      return subtractDuration(now, parseDuration(at));
    } catch (err) {
      throw new UsageError(`--at ${at}: ${(err as Error).message}`);
    }
  }
  // A time without a zone is UTC, like snapshot ids: never the host's local time.
  const zoned = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(at) ? `${at}Z` : at;
  const t = new Date(zoned);
  if (Number.isNaN(t.getTime())) throw new UsageError(`--at ${at} is neither an ISO time (2026-11-25T02:00:00Z) nor an age (2d, 36h)`);
  // JavaScript rolls 2026-11-31 over to December 1st; a mistyped date must not pick a snapshot.
  const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(at);
  if (date) {
    const [year, month, day] = date.slice(1).map(Number);
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth) {
      throw new UsageError(`--at ${at}: ${date[0]} is not a date on the calendar${month >= 1 && month <= 12 ? ` (that month has ${daysInMonth} days)` : ""}`);
    }
  }
  return t;
}

/**
 * Restores DB from whichever copy survives: newest snapshot at or before
 * `at`, its copies in restore-priority order, each proven (hashes,
 * integrity, row counts) before it replaces anything. Falls back to the next
 * copy, then to older snapshots, and says so.
 */
export async function runRestore(cfg: Config, opts: RestoreOptions, deps: RunDeps): Promise<RestoreReport> {
  const started = performance.now();
  const log = deps.logger.child({ db: opts.db });
  const configured = cfg.databases.find((d) => d.name === opts.db);
  if (!opts.to && !configured) {
    throw new UsageError(`database ${opts.db} is not in ${cfg.configPath} (configured: ${cfg.databases.map((d) => d.name).join(", ")}); say where to put it with --to PATH`);
  }
  const requested = path.resolve(opts.to ?? configured!.path);
  // SQLite keeps -wal/-shm beside the file a symlink points to, and the application keeps using
  // the link: the real file is what gets checked for a live WAL and replaced; the link stays.
  const target = await followSymlinks(requested);
  if (target !== requested) log.info({ requested, target }, `${requested} is a symlink: restoring into ${target}`);
  const at = resolveAt(opts.at, deps.clock());
  let destinations: DestinationConfig[] = cfg.destinations;
  if (opts.from) {
    destinations = cfg.destinations.filter((d) => d.name === opts.from);
    if (!destinations.length) throw new UsageError(`--from ${opts.from}: no such destination; configured: ${cfg.destinations.map((d) => d.name).join(", ")}`);
  }
  await preflightTarget(target, opts.force);

  const report: RestoreReport = {
    command: "restore", exitCode: EXIT.failed, db: opts.db, target, via: target !== requested ? requested : undefined, at: at.toISOString(), from: opts.from, fellBack: false, movedAside: [], attempts: [], unreachable: [], durationMs: 0,
  };
  const open = await openDestinations(destinations, deps, { dryRun: false, createRoot: false });
  try {
    const listed = await Promise.all(
      [...open.values()].map(async ({ cfg: d, adapter, error }) => {
        if (!adapter) return { d, adapter, copies: [] as CopyRecord[], error };
        const inv = await inventoryDestination(adapter, d.name, [opts.db]);
        return { d, adapter, copies: inv.copies, error: inv.reachable ? undefined : inv.error };
      }),
    );
    for (const l of listed) if (l.error) report.unreachable.push({ destination: l.d.name, error: l.error });

    // Every snapshot any reachable destination knows of (with a manifest), newest first.
    const snapshots = new Map<string, { createdAt: Date; copies: { copy: CopyRecord; adapter: StorageAdapter; dest: DestinationConfig }[] }>();
    for (const l of listed) {
      for (const c of l.copies) {
        if (c.state === "orphan" || c.createdAt > at) continue;
        const entry = snapshots.get(c.snapshotId) ?? { createdAt: c.createdAt, copies: [] };
        entry.copies.push({ copy: c, adapter: l.adapter!, dest: l.d });
        snapshots.set(c.snapshotId, entry);
      }
    }
    const order = [...snapshots.entries()].sort((a, b) => b[0].localeCompare(a[0]));
    report.newestSnapshotId = order[0]?.[0];
    if (!order.length) {
      if (opts.from && report.unreachable.length) {
        throw new RestoreError(`${opts.from} (--from) could not be reached: ${report.unreachable[0].error}`);
      }
      const hint = configured ? "" : ` (${opts.db} is not a configured database; configured: ${cfg.databases.map((d) => d.name).join(", ")})`;
      throw new RestoreError(`no snapshot of ${opts.db} at or before ${at.toISOString()} on ${report.unreachable.length ? "the reachable destinations" : "any destination"}${hint}`);
    }

    // With --from, "every copy" means every copy on that destination: other destinations were not tried.
    const fromNote = opts.from ? ` on ${opts.from} (--from)` : "";
    const temp = `${tempPrefix(target)}${process.pid}-${deps.randomHex(4)}`;
    for (const [snapshotId, entry] of order) {
      const copies = entry.copies.sort((a, b) => restorePriorityOf(a.dest) - restorePriorityOf(b.dest) || destinations.indexOf(a.dest) - destinations.indexOf(b.dest));
      for (const { copy, adapter, dest } of copies) {
        if (copy.state !== "complete" || !copy.manifest) {
          report.attempts.push({ snapshotId, destination: dest.name, ok: false, reason: `${copy.state}: ${copy.detail ?? ""}`.trim() });
          log.warn({ snapshotId, destination: dest.name, state: copy.state }, `skipping the copy on ${dest.name}: ${copy.state}`);
          continue;
        }
        let checked: CheckedCopy;
        try {
          opts.signal?.throwIfAborted();
          log.info({ snapshotId, destination: dest.name }, `restoring from ${dest.name}`);
          checked = await fetchAndCheckCopy(adapter, copy.manifest, temp, opts.signal);
        } catch (err) {
          if (opts.signal?.aborted) throw interrupted(opts.signal, `while restoring from ${dest.name}; the partial download was removed and nothing was changed at ${target}`);
          if (!(err instanceof CopyCheckError)) throw err; // not this copy's fault: the next would fail the same way
          const reason = (err as Error).message;
          report.attempts.push({ snapshotId, destination: dest.name, ok: false, reason });
          log.warn({ snapshotId, destination: dest.name, reason }, `copy on ${dest.name} failed; trying the next one`);
          continue;
        }
        report.attempts.push({ snapshotId, destination: dest.name, ok: true, bytes: checked.bytes, rawBytes: checked.rawSize, durationMs: checked.durationMs, transferMs: checked.transferMs, checkMs: checked.checkMs });
        if (opts.signal?.aborted) {
          await rm(temp, { force: true });
          throw interrupted(opts.signal, `before the restored database was put in place; nothing was changed at ${target}`);
        }
        // A failure from here on is the target's, not the copy's: the next copy would fail the same way.
        try {
          // Checked again now: an application may have opened the database during the download.
          await refuseLiveDatabase(target, opts.force);
          report.movedAside = await placeAtomically(temp, target, deps.clock(), deps.randomHex(3), log);
        } catch (err) {
          await rm(temp, { force: true });
          if (err instanceof UsageError) throw err;
          throw new PlacementError(
            `snapshot ${snapshotId} from ${dest.name} was downloaded and checked, but could not be put in place at ${target}: ${(err as Error).message}. Restore somewhere else with --to PATH, or fix the cause and run restore again`,
            { cause: err },
          );
        }
        report.restored = {
          snapshotId, createdAt: copy.manifest.createdAt, destination: dest.name, bytes: checked.bytes, rawBytes: checked.rawSize,
          // The placed file is the checked one, renamed: its hash was taken after it was written.
          sha256: checked.rawSha256, rowCounts: copy.manifest.sqlite.rowCounts,
        };
        report.fellBack = snapshotId !== report.newestSnapshotId;
        // An unreachable destination may hold something newer than what was restored.
        report.exitCode = report.fellBack || report.unreachable.length > 0 ? EXIT.degraded : EXIT.ok;
        if (report.fellBack) log.warn({ snapshotId, newest: report.newestSnapshotId }, `every copy of ${report.newestSnapshotId}${fromNote} failed; restored the OLDER snapshot ${snapshotId}`);
        if (report.unreachable.length) {
          log.warn({ unreachable: report.unreachable.map((u) => u.destination) }, "some destinations could not be reached: they may hold a newer snapshot");
        }
        return report;
      }
    }
    throw new RestoreError(`every copy of every snapshot of ${opts.db} at or before ${at.toISOString()}${fromNote} failed; nothing was changed at ${target}`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    report.error = (err as Error).message;
    return report;
  } finally {
    await closeAll(open);
    report.durationMs = Math.round(performance.now() - started);
  }
}

/**
 * Before downloading anything: the folder must take a new file, and a live
 * database in WAL mode is not replaced without --force (its -wal file holds
 * commits a running application may still be adding to).
 */
async function preflightTarget(target: string, force: boolean): Promise<void> {
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
function tempPrefix(target: string): string {
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

/** A non-empty -wal file means the database may be open in WAL mode: not replaced without --force. */
async function refuseLiveDatabase(target: string, force: boolean): Promise<void> {
  const wal = await stat(`${target}-wal`).catch(() => null);
  if (wal && wal.size > 0 && !force) {
    throw new UsageError(
      `${target} has a live write-ahead log (${target}-wal, ${wal.size} bytes): an application may have it open. Stop it first, or pass --force to move the database and its -wal/-shm aside and restore anyway`,
    );
  }
}

/**
 * fsync'd temp file → rename over the target. The old database and its
 * -wal/-shm files move aside together (so they stay a consistent pair and the
 * old -wal is never applied to the restored file); nothing is deleted. The
 * restored file takes the old one's permissions and owner, so the
 * application can still open it. If any step fails, what was moved aside is
 * moved back before the error is thrown.
 */
async function placeAtomically(temp: string, target: string, now: Date, unique: string, log: Logger): Promise<string[]> {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  // Unique per restore, and checked: rename() would silently replace an earlier set-aside file.
  let aside = `${target}.pre-restore-${stamp}`;
  if (await exists(aside)) aside = `${aside}-${unique}`;
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    if (await exists(aside + suffix)) throw new RestoreError(`${aside + suffix} already exists; not overwriting it. Move it away and run restore again`);
  }
  const previous = await stat(target).catch(() => null);
  if (previous) await takeOwnership(temp, previous, target, log);
  const moved: [from: string, to: string][] = [];
  try {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      const from = target + suffix;
      if (await exists(from)) {
        await rename(from, aside + suffix);
        moved.push([from, aside + suffix]);
      }
    }
    await rename(temp, target);
  } catch (err) {
    const stuck: string[] = [];
    for (const [from, to] of moved.reverse()) await rename(to, from).catch(() => stuck.push(`${from} is at ${to}`));
    const where = stuck.length ? ` Could not move back: ${stuck.join("; ")}` : " Nothing was changed there.";
    throw new RestoreError(`${(err as Error).message}.${where}`, { cause: err });
  }
  // The rename is done: a folder that cannot be fsynced is not a reason to report failure.
  const d = await open(path.dirname(target), "r").catch(() => undefined);
  await d?.sync().catch(() => undefined);
  await d?.close();
  return moved.map(([, to]) => to);
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
async function followSymlinks(p: string): Promise<string> {
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
