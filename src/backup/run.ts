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
import { judgePolicy, type CopyEvidence, type PolicyVerdict } from "../policy/judge.js";
import { applyRetention, type RetentionOutcome } from "../retention/apply.js";
import { publishToDestination, type PublishResult } from "../publish/fanout.js";
import type { SqliteFacts } from "../snapshot/checks.js";
import { memory, prepareSnapshot, type Prepared } from "./prepare.js";

export interface BackupOptions {
  db?: string;
  tags: string[];
  dryRun: boolean;
  /** `--init`: create missing roots and mark new destinations; without it every destination must carry its marker. */
  init?: boolean;
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
  snapshot?: { durationMs: number; facts: SqliteFacts };
  artifact?: { key: string; size: number; sha256: string; rawSize: number; rawSha256: string; compression: string; durationMs: number };
  destinations: DestinationRun[];
  policy?: PolicyVerdict;
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
    prepared = await prepareSnapshot({ db, snapshotId, createdAt, codec, staging, tags: opts.tags, deps, log });
  } catch (err) {
    // Nothing was shipped, so nothing anywhere is deleted.
    run.error = (err as Error).message;
    log.error({ err: { type: (err as Error).name, message: run.error } }, "snapshot failed; nothing shipped, nothing deleted");
    return run;
  }
  run.snapshot = prepared.snapshot;
  run.artifact = prepared.summary;
  try {
    run.destinations = await shipEverywhere(prepared, { db: db.name, snapshotId, cfg, opts, deps, open, log });
  } finally {
    await rm(prepared.artifactFile, { force: true });
  }
  judgeRun(run, open, cfg, createdAt, deps, log);
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
}

/** The same artifact to every destination at once; each applies its retention once it holds the new copy. */
async function shipEverywhere(prepared: Prepared, ctx: ShipContext): Promise<DestinationRun[]> {
  const { db, snapshotId, cfg, opts, deps, log } = ctx;
  const item = {
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
      const result = await publishToDestination(adapter, item, { dryRun: opts.dryRun });
      const dr: DestinationRun = { destination: dest.name, type: dest.type, ...result };
      if (result.status === "failed") {
        log.error({ destination: dest.name, err: result.error }, `copy to ${dest.name} failed; its retention is skipped`);
        return dr;
      }
      log.info({ destination: dest.name, ms: result.durationMs, mbPerSec: result.mbPerSec, ...memory() }, `copy on ${dest.name} ${result.status}`);
      dr.retention = await retentionAfterCopy(adapter, dest, db, snapshotId, cfg, opts.dryRun, deps);
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
      verified: d.status === "verified" || d.status === "dry-run",
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
    run.destinations.some((d) => d.retention?.errors.length || d.retention?.leftDamaged.length);
  run.exitCode = verified === 0 ? EXIT.failed : degraded ? EXIT.degraded : EXIT.ok;
  if (!run.policy.pass) {
    for (const r of run.policy.rules.filter((x) => !x.pass)) log.warn({ rule: r.rule }, `3-2-1 rule ${r.rule} ${r.reason}`);
  }
}

async function retentionAfterCopy(
  adapter: StorageAdapter,
  dest: DestinationConfig,
  db: string,
  justWritten: string,
  cfg: Config,
  dryRun: boolean,
  deps: RunDeps,
): Promise<RetentionOutcome> {
  try {
    const inv = await inventoryDestination(adapter, dest.name, [db]);
    if (!inv.reachable) throw new TriplicateError(inv.error ?? "listing failed");
    return await applyRetention(adapter, dest.name, db, inv.copies, dest.retention, { now: deps.clock(), dryRun, leftoverGrace: cfg.leftoverGrace, justWritten });
  } catch (err) {
    return {
      destination: dest.name, db, dryRun, kept: [], deleted: [], leftDamaged: [], orphansDeleted: [], orphansWaiting: [], temporarySwept: [],
      errors: [`retention skipped: ${(err as Error).message}`],
    };
  }
}
