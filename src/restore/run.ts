/**
 * restore/: bring a database back from whichever copy survives. This file
 * runs it: select (which snapshot, which copies), fetch (download, decode,
 * prove), place (swap it in without losing the old one).
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { Config, DestinationConfig } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { UsageError } from "../runtime/errors.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { inventoryDestination } from "../catalog/inventory.js";
import { CopyCheckError, fetchAndCheckCopy, type CheckedCopy } from "./fetch.js";
import { PlacementError, RestoreError } from "./errors.js";
import { followSymlinks, placeAtomically, preflightTarget, refuseLiveDatabase, tempPrefix } from "./place.js";
import { candidateSnapshots, resolveAt, type CandidateCopy, type Listed } from "./select.js";
import type { AgeKeys } from "../encryption/age.js";

export { resolveAt } from "./select.js";
export { PlacementError, RestoreError } from "./errors.js";

export interface RestoreOptions {
  db: string;
  to?: string;
  /** ISO time or a relative age such as 2d; default now. */
  at?: string;
  from?: string;
  force: boolean;
  /** Aborted on Ctrl-C / SIGTERM: the download stops, its temp file is removed, nothing is replaced. */
  signal?: AbortSignal;
  /** `--identity FILE`: opens encrypted copies. */
  identity?: AgeKeys;
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

/** "interrupted by SIGINT <what happened>". */
function interrupted(signal: AbortSignal, what: string): RestoreError {
  return new RestoreError(`${(signal.reason as Error)?.message ?? "interrupted"} ${what}`, { cause: signal.reason });
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
  const open = await openDestinations(destinations, deps, { dryRun: false });
  try {
    const listed: Listed[] = await Promise.all(
      [...open.values()].map(async ({ cfg: d, adapter, error }) => {
        if (!adapter) return { dest: d, adapter, copies: [], error };
        const inv = await inventoryDestination(adapter, d.name, [opts.db]);
        return { dest: d, adapter, copies: inv.copies, error: inv.reachable ? undefined : inv.error };
      }),
    );
    for (const l of listed) if (l.error) report.unreachable.push({ destination: l.dest.name, error: l.error });
    const order = candidateSnapshots(listed, at, destinations);
    report.newestSnapshotId = order[0]?.snapshotId;
    if (!order.length) {
      if (opts.from && report.unreachable.length) {
        throw new RestoreError(`${opts.from} (--from) could not be reached: ${report.unreachable[0].error}`);
      }
      const hint = configured ? "" : ` (${opts.db} is not a configured database; configured: ${cfg.databases.map((d) => d.name).join(", ")})`;
      throw new RestoreError(`no snapshot of ${opts.db} at or before ${at.toISOString()} on ${report.unreachable.length ? "the reachable destinations" : "any destination"}${hint}`);
    }
    // With --from, "every copy" means every copy on that destination: other destinations were not tried.
    const fromNote = opts.from ? ` on ${opts.from} (--from)` : "";
    const run: RestoreRun = { opts, deps, log, report, target, temp: `${tempPrefix(target)}${process.pid}-${deps.randomHex(4)}` };
    for (const { snapshotId, copies } of order) {
      for (const candidate of copies) {
        if (!(await restoreFrom(run, snapshotId, candidate))) continue;
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

/** What every attempt of one restore shares. */
interface RestoreRun {
  opts: RestoreOptions;
  deps: RunDeps;
  log: Logger;
  report: RestoreReport;
  target: string;
  /** One temp file beside the target, reused by every attempt. */
  temp: string;
}

/**
 * One copy: download and prove it, then put it in place. False when this
 * copy was not usable (the report says why) and the next one should be
 * tried; throws when no other copy could do better (interrupted, or the
 * target itself is the problem).
 */
async function restoreFrom(run: RestoreRun, snapshotId: string, { copy, adapter, dest }: CandidateCopy): Promise<boolean> {
  const { opts, log, report, target, temp } = run;
  if (copy.state !== "complete" || !copy.manifest) {
    report.attempts.push({ snapshotId, destination: dest.name, ok: false, reason: `${copy.state}: ${copy.detail ?? ""}`.trim() });
    log.warn({ snapshotId, destination: dest.name, state: copy.state }, `skipping the copy on ${dest.name}: ${copy.state}`);
    return false;
  }
  let checked: CheckedCopy;
  try {
    opts.signal?.throwIfAborted();
    log.info({ snapshotId, destination: dest.name }, `restoring from ${dest.name}`);
    checked = await fetchAndCheckCopy(adapter, copy.manifest, temp, opts.signal, opts.identity);
  } catch (err) {
    if (opts.signal?.aborted) throw interrupted(opts.signal, `while restoring from ${dest.name}; the partial download was removed and nothing was changed at ${target}`);
    if (!(err instanceof CopyCheckError)) throw err; // not this copy's fault: the next would fail the same way
    const reason = (err as Error).message;
    report.attempts.push({ snapshotId, destination: dest.name, ok: false, reason });
    log.warn({ snapshotId, destination: dest.name, reason }, `copy on ${dest.name} failed; trying the next one`);
    return false;
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
    report.movedAside = await placeAtomically(temp, target, run.deps.clock(), run.deps.randomHex(3), log);
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
  // An unreachable destination may hold something newer than what was restored; a copy that
  // failed its checks is damaged history the operator must hear about, even though another copy served.
  const skipped = report.attempts.some((a) => !a.ok);
  report.exitCode = report.fellBack || skipped || report.unreachable.length > 0 ? EXIT.degraded : EXIT.ok;
  return true;
}
