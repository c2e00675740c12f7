/**
 * backup/: the nightly job. prepare.ts takes the snapshot and packs the
 * artifact; this file ships it to every destination, applies retention and
 * judges 3-2-1; report.ts prints what happened.
 */
import { rm } from "node:fs/promises";
import type { StorageAdapter } from "../../adapters/types.js";
import { isOffsite, mediumOf, stagingDir, type Config, type DatabaseConfig, type DestinationConfig } from "../config/schema.js";
import type { Logger } from "pino";
import { artifactSource } from "../artifact/build.js";
import { resolveCodec, type Codec } from "../artifact/codecs.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import type { DestinationMarker } from "../catalog/destinationMarker.js";
import { UsageError, TriplicateError } from "../runtime/errors.js";
import { EXIT, worstExit, type ExitCode } from "../runtime/exitCodes.js";
import { keys, makeSnapshotId } from "../publish/ids.js";
import { inventoryDestination } from "../catalog/inventory.js";
import { acquireRunLock } from "../runtime/lock.js";
import { manifestSource } from "../publish/manifest.js";
import { judgePolicy, type CopyEvidence, type PolicyVerdict, type RuleName } from "../policy/judge.js";
import { applyRetention, type RetentionOutcome } from "../retention/apply.js";
import { publishToDestination, type PublishResult } from "../publish/fanout.js";
import type { ForeignKeyReport, SqliteFacts } from "../snapshot/checks.js";
import { memory, prepareSnapshot, type Prepared } from "./prepare.js";
import { sweepDeadRuns, warnIfTmpfs } from "./staging.js";
import { atLeast } from "../verify/proofs.js";
import { checkShrink, markAnomaly, type AnomalyReport } from "./shrinkCheck.js";
import { skewHold } from "../guard/clock.js";
import type { RetentionHold } from "../guard/holds.js";
import { damagedSource, isDamagedSource, type DamagedSource } from "./damagedSource.js";

export interface BackupOptions {
  db?: string;
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
  const databases = opts.db ? cfg.databases.filter((d) => d.name === opts.db) : cfg.databases;
  if (databases.length === 0) {
    throw new UsageError(`no database named "${opts.db}" in ${cfg.configPath}; configured: ${cfg.databases.map((d) => d.name).join(", ")}`);
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
  const runs: DatabaseRun[] = [];
  try {
    for (const db of databases) {
      runs.push(await backupOne(db, cfg, opts, deps, open, codec, staging));
    }
  } finally {
    await closeAll(open);
    await release();
  }
  return {
    command: "backup",
    toolVersion: deps.toolVersion,
    startedAt: startedAt.toISOString(),
    finishedAt: deps.clock().toISOString(),
    dryRun: opts.dryRun,
    exitCode: worstExit(runs.map((r) => r.exitCode)),
    destinations: [...open.values()].map((o) => ({ destination: o.cfg.name, reachable: !!o.adapter, marker: o.marker, error: o.error })),
    databases: runs,
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
): Promise<DatabaseRun> {
  const log = deps.logger.child({ db: db.name });
  const createdAt = deps.clock();
  const snapshotId = makeSnapshotId(createdAt, deps.randomHex(4));
  const run: DatabaseRun = { db: db.name, snapshotId, exitCode: EXIT.failed, destinations: [] };
  let prepared: Prepared;
  try {
    prepared = await prepareSnapshot({ db, snapshotId, createdAt, codec, staging, tags: opts.tags, foreignKeys: cfg.checks.foreignKeys, deps, log });
  } catch (err) {
    // Nothing was shipped, so nothing anywhere is deleted.
    run.error = (err as Error).message;
    log.error({ err: { type: (err as Error).name, message: run.error } }, "snapshot failed; nothing shipped, nothing deleted");
    if (isDamagedSource(err)) run.damagedSource = await damagedSource(db.name, cfg, open.values(), deps.clock());
    return run;
  }
  run.snapshot = prepared.snapshot;
  run.artifact = prepared.summary;
  try {
    run.anomaly = await checkShrink(db.name, prepared, open.values(), cfg, { accept: !!opts.acceptShrink, log });
    const holds = run.anomaly ? markAnomaly(prepared, snapshotId, run.anomaly) : [];
    run.destinations = await shipEverywhere(prepared, { db: db.name, snapshotId, cfg, opts, deps, open, log, holds });
  } finally {
    await rm(prepared.artifactFile, { force: true });
  }
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
async function shipEverywhere(prepared: Prepared, ctx: ShipContext): Promise<DestinationRun[]> {
  const { db, snapshotId, cfg, opts, deps, log } = ctx;
  const item = {
    db,
    snapshotId,
    artifactKey: prepared.summary.key,
    artifact: artifactSource(prepared.artifact),
    manifestKey: keys.manifest(db, snapshotId),
    manifest: (lockedUntil?: Date) => manifestSource(prepared.manifestFor(lockedUntil)),
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

/** 3-2-1 on the copies that were verified, and the run's exit code. */
function judgeRun(run: DatabaseRun, open: OpenDestinations, cfg: Config, createdAt: Date, deps: RunDeps, log: Logger): void {
  const evidence: CopyEvidence[] = run.destinations.map((d) => {
    const dest = open.get(d.destination)!.cfg;
    return {
      destination: d.destination,
      medium: mediumOf(dest),
      offsite: isOffsite(dest),
      // Every verified copy of this run was read back whole; it counts if that is proof enough.
      verified: d.status === "verified" && atLeast("read-back", cfg.policy.verifiedLevel),
      lockedUntil: d.lockedUntil,
      verificationFailed: d.verificationFailed,
      problem: d.error,
    };
  });
  run.policy = judgePolicy(evidence, cfg.policy, { snapshotCreatedAt: createdAt, now: deps.clock() });
  const verified = run.destinations.filter((d) => d.status !== "failed").length;
  const degraded =
    verified < run.destinations.length ||
    !run.policy.pass ||
    (run.anomaly && !run.anomaly.accepted) ||
    run.destinations.some((d) => d.retention?.errors.length || d.retention?.leftDamaged.length || d.retention?.held.length);
  run.exitCode = verified === 0 ? EXIT.failed : degraded ? EXIT.degraded : EXIT.ok;
  if (!run.policy.pass) {
    for (const r of run.policy.rules.filter((x) => !x.pass)) log.warn({ rule: r.rule }, `3-2-1 rule ${r.rule} ${r.reason}`);
  }
}

/**
 * A dry run proves no copy, so 3-2-1 is not judged (the rules a real run
 * would judge are listed instead). Exit 0 means "the run would be possible":
 * the snapshot verified and every destination answered; otherwise the exit
 * a real run would have (1 if no destination could take the copy, else 3).
 */
function judgeDryRun(run: DatabaseRun, cfg: Config, createdAt: Date, deps: RunDeps): void {
  const rules = judgePolicy([], cfg.policy, { snapshotCreatedAt: createdAt, now: deps.clock() }).rules;
  run.policyNotJudged = {
    reason: "dry run: nothing was shipped, so no copy was verified and no rule can be met",
    wouldJudge: rules.map((r) => ({ rule: r.rule, required: r.required })),
  };
  const possible = run.destinations.filter((d) => d.status === "would-ship").length;
  const degraded = possible < run.destinations.length || run.destinations.some((d) => d.retention?.errors.length || d.retention?.leftDamaged.length);
  run.exitCode = possible === 0 ? EXIT.failed : degraded ? EXIT.degraded : EXIT.ok;
}

async function retentionAfterCopy(
  adapter: StorageAdapter,
  dest: DestinationConfig,
  db: string,
  run: { justWritten: string; holds: RetentionHold[] },
  cfg: Config,
  dryRun: boolean,
  deps: RunDeps,
): Promise<RetentionOutcome> {
  try {
    const inv = await inventoryDestination(adapter, dest.name, [db]);
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
