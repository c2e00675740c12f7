/**
 * backup/: the nightly job. prepare.ts takes the snapshot and packs the
 * artifact; this file ships it to every destination, applies retention and
 * judges 3-2-1; report.ts prints what happened.
 */
import { rm } from "node:fs/promises";
import type { StorageAdapter } from "../../adapters/types.js";
import { stagingDir, type Config, type DatabaseConfig, type DestinationConfig } from "../config/schema.js";
import type { Logger } from "pino";
import { artifactSource } from "../artifact/build.js";
import { resolveCodec, type Codec } from "../artifact/codecs.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import type { DestinationMarker } from "../catalog/destinationMarker.js";
import { UsageError, TriplicateError } from "../runtime/errors.js";
import { EXIT, worstExit, type ExitCode } from "../runtime/exitCodes.js";
import { keys, makeSnapshotId } from "../publish/ids.js";
import { inventoryDestination, type DestinationInventory } from "../catalog/inventory.js";
import { listBefore, type Listings } from "./listing.js";
import { acquireRunLock } from "../runtime/lock.js";
import { manifestSource } from "../publish/manifest.js";
import type { PolicyVerdict, RuleName } from "../policy/judge.js";
import { applyRetention, type RetentionOutcome } from "../retention/apply.js";
import { publishToDestination, type PublishResult } from "../publish/fanout.js";
import type { ForeignKeyReport, SqliteFacts } from "../snapshot/checks.js";
import { memory, packSnapshot, type Packing, type Prepared } from "./prepare.js";
import { createCheckPool, type CheckPool } from "../snapshot/checkPool.js";

/** Niceness of a backup's check workers (Linux: per thread), so the application wins the CPU when they compete. */
const BACKUP_CHECK_NICE = 10;
import { sweepDeadRuns, warnIfTmpfs } from "./staging.js";
import { judgeDryRun, judgeRun } from "./judge.js";
import { checkShrink, markAnomaly, type AnomalyReport } from "./shrinkCheck.js";
import { skewHold } from "../guard/clock.js";
import type { RetentionHold } from "../guard/holds.js";
import { findUnchanged, recordUnchangedEverywhere } from "./unchanged.js";
import { emptyGlobRuns, runFleet, type FleetLimits } from "./fleet.js";
import { damagedSource, isDamagedSource, type DamagedSource } from "./damagedSource.js";
import { findVanished, type VanishedTenant } from "./vanished.js";

export interface BackupOptions {
  /** `--db` (repeatable): only these databases; empty or absent: all. */
  db?: string[];
  tags: string[];
  dryRun: boolean;
  /** `--accept-shrink`: a shrunk source is meant; the snapshot becomes the new baseline and retention runs. */
  acceptShrink?: boolean;
  /** `--init`: create missing roots and mark new destinations; without it every destination must carry its marker. */
  init?: boolean;
  /** `doctor --backup-emergency`: ship and verify, but apply no retention anywhere (no deletions, no sweeps). */
  skipRetention?: boolean;
}

export interface DestinationRun extends PublishResult {
  destination: string;
  type: DestinationConfig["type"];
  retention?: RetentionOutcome;
  /** Status `unchanged`: nothing was uploaded; the night was recorded beside this destination's copy of the base snapshot. */
  unchanged?: { snapshotId: string; recordKey: string };
}

export interface DatabaseRun {
  db: string;
  exitCode: ExitCode;
  snapshotId?: string;
  error?: string;
  snapshot?: { durationMs: number; facts: SqliteFacts; foreignKeys: ForeignKeyReport };
  artifact?: { key: string; size: number; sha256: string; rawSize: number; rawSha256: string; compression: string; durationMs: number };
  destinations: DestinationRun[];
  /** 3-2-1 on the copies this run verified; absent in a dry run, which verifies none. */
  policy?: PolicyVerdict;
  /** A dry run: why 3-2-1 was not judged, and the rules a real run would judge. */
  policyNotJudged?: { reason: string; wouldJudge: { rule: RuleName; required: string }[] };
  /** Set when the source shrank far below the last good snapshot (src/guard/shrink.ts). */
  anomaly?: AnomalyReport;
  /** The source equals its latest complete snapshot (backup/unchanged.ts): `snapshotId` is that snapshot's, nothing was uploaded. */
  unchanged?: { snapshotId: string; createdAt: string; rawSha256: string };

  /** The source failed its checks: where to go next (doctor, the latest good snapshot). */
  damagedSource?: DamagedSource;
}

export interface BackupReport {
  command: "backup";
  toolVersion: string;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  exitCode: ExitCode;
  /** Each destination as this run found it: its marker (created or adopted now, or found), or why it could not be used. */
  destinations: DestinationState[];
  databases: DatabaseRun[];
  /** Tenants a glob matched before whose file is gone (backup/vanished.ts): copies kept, the run degraded. Empty with --db. */
  vanished: VanishedTenant[];
}

export interface DestinationState {
  destination: string;
  reachable: boolean;
  marker?: DestinationMarker;
  error?: string;
}

/**
 * The nightly job: for each database, one verified snapshot, one artifact,
 * published to every destination in parallel; then 3-2-1 judged on what was
 * verified and each destination's retention applied once it holds the new copy.
 */
export async function runBackup(cfg: Config, opts: BackupOptions, deps: RunDeps): Promise<BackupReport> {
  const startedAt = deps.clock();
  const unknown = (opts.db ?? []).filter((n) => !cfg.databases.some((d) => d.name === n));
  const databases = opts.db?.length ? cfg.databases.filter((d) => opts.db!.includes(d.name)) : cfg.databases;
  const emptyGlobs = opts.db?.length ? [] : emptyGlobRuns(cfg);
  if (unknown.length || (databases.length === 0 && emptyGlobs.length === 0)) {
    throw new UsageError(`no database named "${unknown.join('", "')}" in ${cfg.configPath}; configured: ${cfg.databases.map((d) => d.name).join(", ")}`);
  }
  let codec;
  try {
    codec = resolveCodec(cfg.compression.algorithm, cfg.compression.level);
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  const staging = stagingDir(cfg);
  const release = await acquireRunLock(staging);
  // Under the lock: no other backup is staging here, so what a dead run left can go.
  await sweepDeadRuns(staging, deps.logger);
  await warnIfTmpfs(staging, deps.logger);
  const open = await openDestinations(cfg.destinations, deps, { dryRun: opts.dryRun, init: opts.init });
  let runs: DatabaseRun[] = [];
  let vanished: VanishedTenant[] = [];
  // Check workers are started once for every database of the run, at a lower CPU priority than the application.
  const checkPool = createCheckPool({ nice: BACKUP_CHECK_NICE });
  try {
    runs = await runFleet(databases, cfg.concurrency, (db, limits) => backupOne(db, cfg, opts, deps, open, codec, staging, { checkPool, limits }), deps.logger);
    runs.push(...emptyGlobs);
    if (!opts.db?.length) vanished = await findVanished(cfg, open.values(), { hostname: deps.hostname, now: deps.clock(), log: deps.logger });
  } finally {
    await checkPool.close();
    await closeAll(open);
    await release();
  }
  return {
    command: "backup",
    toolVersion: deps.toolVersion,
    startedAt: startedAt.toISOString(),
    finishedAt: deps.clock().toISOString(),
    dryRun: opts.dryRun,
    // A vanished tenant is like a wiped source: loud (exit 3), and nothing of it is deleted.
    exitCode: worstExit([...runs.map((r) => r.exitCode), vanished.length ? EXIT.degraded : EXIT.ok]),
    destinations: [...open.values()].map((o) => ({ destination: o.cfg.name, reachable: !!o.adapter, marker: o.marker, error: o.error })),
    databases: runs,
    vanished,
  };
}

type OpenDestinations = Awaited<ReturnType<typeof openDestinations>>;

/** One database: snapshot and pack it, ship it everywhere, judge 3-2-1 on what landed. */
async function backupOne(
  db: DatabaseConfig,
  cfg: Config,
  opts: BackupOptions,
  deps: RunDeps,
  open: OpenDestinations,
  codec: Codec,
  staging: string,
  shared: { checkPool: CheckPool; limits: FleetLimits },
): Promise<DatabaseRun> {
  const { checkPool, limits } = shared;
  const log = deps.logger.child({ db: db.name });
  const createdAt = deps.clock();
  const snapshotId = makeSnapshotId(createdAt, deps.randomHex(4));
  const run: DatabaseRun = { db: db.name, snapshotId, exitCode: EXIT.failed, destinations: [] };
  const failed = async (err: unknown): Promise<DatabaseRun> => {
    // Nothing was published, so nothing anywhere is deleted.
    run.error = (err as Error).message;
    log.error({ err: { type: (err as Error).name, message: run.error } }, "snapshot failed; nothing shipped, nothing deleted");
    if (isDamagedSource(err)) run.damagedSource = await damagedSource(db.name, cfg, open.values(), deps.clock());
    return run;
  };
  let packing: Packing;
  try {
    packing = await limits.snapshot(() => packSnapshot({ db, snapshotId, createdAt, codec, recipients: cfg.encryption?.recipients ?? null, staging, tags: opts.tags, foreignKeys: cfg.checks.foreignKeys, deps, log, checkPool }));
  } catch (err) {
    return failed(err);
  }
  try {
    return await limits.upload(() => shipOrRecord(run, packing, { db, cfg, opts, deps, open, log, failed }, createdAt));
  } finally {
    await packing.verified.catch(() => undefined);
    await rm(packing.artifactFile, { force: true });
  }
}

/**
 * After packing: either record an unchanged night beside the copies the
 * source still equals, or ship while checking and publish what passed.
 */
async function shipOrRecord(
  run: DatabaseRun,
  packing: Packing,
  ctx: { db: DatabaseConfig; cfg: Config; opts: BackupOptions; deps: RunDeps; open: OpenDestinations; log: Logger; failed: (err: unknown) => Promise<DatabaseRun> },
  createdAt: Date,
): Promise<DatabaseRun> {
  const { db, cfg, opts, deps, open, log, failed } = ctx;
  const snapshotId = run.snapshotId!;
  // One listing per destination, shared by the unchanged check, the shrink guard and an unchanged night's retention.
  const listings = await listBefore(db.name, open.values());
  const recorded = await shipUnchanged(run, packing, listings, { db: db.name, cfg, opts, deps, open, log });
  if (recorded === "failed-checks") return failed(await packing.verified.then(() => undefined, (err) => err));
  if (recorded) {
    judgeRun(run, open, cfg, createdAt, deps, log);
    return run;
  }
  // The shrink guard needs only the counts the checks must confirm, so it runs beside them.
  const counted = { snapshot: { facts: { rowCounts: packing.sourceCounts } }, summary: packing.summary } as Pick<Prepared, "snapshot" | "summary">;
  run.anomaly = await checkShrink(db.name, counted, listings, cfg, { accept: !!opts.acceptShrink, log });
  const holds: RetentionHold[] = [];
  let prepared: Prepared | undefined;
  // Every destination's commit waits on this: ship while checking, publish only what passed.
  const ready = packing.verified.then((p) => {
    prepared = p;
    if (run.anomaly) holds.push(...markAnomaly(p, snapshotId, run.anomaly));
    return p;
  });
  const shipCtx: ShipContext = { db: db.name, snapshotId, cfg, opts, deps, open, log, holds };
  const shipping = opts.dryRun ? ready.then(() => shipEverywhere(packing, ready, () => prepared!, shipCtx)) : shipEverywhere(packing, ready, () => prepared!, shipCtx);
  const [checked, shipped] = await Promise.allSettled([ready, shipping]);
  if (checked.status === "rejected") return failed(checked.reason);
  if (shipped.status === "rejected") throw shipped.reason;
  run.snapshot = checked.value.snapshot;
  run.artifact = checked.value.summary;
  run.destinations = shipped.value;
  if (opts.dryRun) judgeDryRun(run, cfg, createdAt, deps);
  else judgeRun(run, open, cfg, createdAt, deps, log);
  return run;
}

interface ShipContext {
  db: string;
  snapshotId: string;
  cfg: Config;
  opts: BackupOptions;
  deps: RunDeps;
  open: OpenDestinations;
  log: Logger;
  /** Holds for every destination's retention this run (a shrunk source). */
  holds: RetentionHold[];
}

/** The same artifact to every destination at once; each applies its retention once it holds the new copy. */
async function shipEverywhere(packing: Packing, ready: Promise<Prepared>, prepared: () => Prepared, ctx: ShipContext): Promise<DestinationRun[]> {
  const { db, snapshotId, cfg, opts, deps, log } = ctx;
  const item = {
    db,
    snapshotId,
    artifactKey: packing.summary.key,
    // Uploaded to each store's temporary place at once; committed there only once every check passed.
    artifact: { ...artifactSource({ path: packing.artifactFile, size: packing.summary.size, sha256: packing.summary.sha256 }), beforeCommit: () => ready.then(() => undefined) },
    manifestKey: keys.manifest(db, snapshotId),
    manifest: (lockedUntil?: Date) => manifestSource(prepared().manifestFor(lockedUntil)),
  };
  return Promise.all(
    [...ctx.open.values()].map(async ({ cfg: dest, adapter, error }): Promise<DestinationRun> => {
      if (!adapter) {
        return { destination: dest.name, type: dest.type, status: "failed", bytes: 0, durationMs: 0, mbPerSec: null, error: `unreachable: ${error}` };
      }
      const result = await publishToDestination(adapter, item, { dryRun: opts.dryRun, author: deps });
      const dr: DestinationRun = { destination: dest.name, type: dest.type, ...result };
      if (result.status === "failed") {
        log.error({ destination: dest.name, err: result.error }, `copy to ${dest.name} failed; its retention is skipped`);
        return dr;
      }
      log.info({ destination: dest.name, ms: result.durationMs, mbPerSec: result.mbPerSec, ...memory() }, `copy on ${dest.name} ${result.status}`);
      const skewed = result.clock && skewHold(dest.name, result.clock, cfg.guard.maxClockSkew);
      if (skewed) log.error({ destination: dest.name, clock: result.clock }, skewed.message);
      const holds = skewed ? [...ctx.holds, skewed] : ctx.holds;
      if (opts.skipRetention) return dr;
      dr.retention = await retentionAfterCopy(adapter, dest, db, { justWritten: snapshotId, holds }, cfg, opts.dryRun, deps);
      return dr;
    }),
  );
}

/**
 * The source still equals its latest complete snapshot: record the night on
 * every destination instead of uploading the same bytes. Never in a dry run
 * or with --accept-shrink (both want the full path), nor when the copies were
 * encrypted to other recipients than the config names now. The record claims
 * a checked source, so it waits for this night's checks: "failed-checks" when
 * they failed; false when nothing applies (ship in full).
 */
async function shipUnchanged(run: DatabaseRun, packing: Packing, listings: Listings, ctx: Omit<ShipContext, "snapshotId" | "holds">): Promise<boolean | "failed-checks"> {
  if (ctx.opts.dryRun || ctx.opts.acceptShrink || ctx.opts.skipRetention || ctx.cfg.unchanged === "upload") return false;
  const base = await findUnchanged(ctx.db, packing.summary.rawSha256, listings);
  if (!base) return false;
  const m = [...base.copies.values()][0].manifest!;
  if (!sameRecipients(m.encryption?.recipients ?? null, ctx.cfg.encryption?.recipients ?? null)) return false;
  const prepared = await packing.verified.catch(() => undefined);
  if (!prepared) return "failed-checks";
  run.snapshot = prepared.snapshot;
  run.snapshotId = base.snapshotId;
  run.unchanged = { snapshotId: base.snapshotId, createdAt: base.createdAt.toISOString(), rawSha256: base.rawSha256 };
  // The artifact that stands for this run is the base snapshot's, not the one staged and discarded.
  run.artifact = { ...prepared.summary, key: m.artifact.key, size: m.artifact.size, sha256: m.artifact.sha256, compression: m.compression.algorithm };
  run.destinations = await recordUnchangedEverywhere(base, ctx.open.values(), {
    db: ctx.db, tags: ctx.opts.tags, deps: ctx.deps, log: ctx.log,
    // Nothing was uploaded: the listing taken before still holds every copy there, the base among them.
    retention: (adapter, dest, justWritten) => retentionAfterCopy(adapter, dest, ctx.db, { justWritten, holds: [], listed: listings.get(dest.name) }, ctx.cfg, false, ctx.deps),
  });
  return true;
}

/** Encrypted to the same public keys (order aside), or both plain. */
function sameRecipients(a: string[] | null, b: string[] | null): boolean {
  if (!a || !b) return !a && !b;
  return a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
}

async function retentionAfterCopy(
  adapter: StorageAdapter,
  dest: DestinationConfig,
  db: string,
  run: { justWritten: string; holds: RetentionHold[]; listed?: DestinationInventory },
  cfg: Config,
  dryRun: boolean,
  deps: RunDeps,
): Promise<RetentionOutcome> {
  try {
    const inv = run.listed?.reachable ? run.listed : await inventoryDestination(adapter, dest.name, [db]);
    if (!inv.reachable) throw new TriplicateError(inv.error ?? "listing failed");
    return await applyRetention(adapter, dest.name, db, inv.copies, dest.retention, {
      now: deps.clock(), dryRun, leftoverGrace: cfg.leftoverGrace, justWritten: run.justWritten, guard: cfg.guard, holds: run.holds,
    });
  } catch (err) {
    return {
      destination: dest.name, db, dryRun, kept: [], deleted: [], leftDamaged: [], orphansDeleted: [], orphansWaiting: [], temporarySwept: [], held: [],
      errors: [`retention skipped: ${(err as Error).message}`],
    };
  }
}
