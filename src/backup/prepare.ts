import { rm } from "node:fs/promises";
import type { Logger } from "pino";
import type { DatabaseConfig } from "../config/schema.js";
import { artifactExtension, buildArtifact, type Artifact } from "../artifact/build.js";
import type { Codec } from "../artifact/codecs.js";
import { keys } from "../publish/ids.js";
import { buildManifest, type Manifest } from "../publish/manifest.js";
import type { RunDeps } from "../runtime/context.js";
import { collectAfterSnapshot } from "../runtime/gc.js";
import { removeSqliteFiles } from "../runtime/sqliteFiles.js";
import { copySnapshot } from "../snapshot/take.js";
import type { ForeignKeyMode, ForeignKeyReport, SqliteFacts } from "../snapshot/checks.js";
import { verifyInWorker } from "../snapshot/verify.js";
import type { CheckPool } from "../snapshot/checkPool.js";
import { damagedSourceAdvice } from "../snapshot/advice.js";
import { VerificationError } from "../runtime/errors.js";
import { checkStagingRoom, stagedFile } from "./staging.js";
import { isDamagedSource } from "./damagedSource.js";

export interface PrepareJob {
  db: DatabaseConfig;
  snapshotId: string;
  createdAt: Date;
  codec: Codec;
  /** age public keys from `encryption.recipients`; null: not encrypted. */
  recipients: string[] | null;
  staging: string;
  tags: string[];
  /** checks.foreignKeys from the config. */
  foreignKeys: ForeignKeyMode;
  deps: RunDeps;
  log: Logger;
  /** The run's check workers, shared by its databases; without it, a pool for this snapshot alone. */
  checkPool?: CheckPool;
}

/** A verified snapshot, packed once into the artifact every destination receives. */
export interface Prepared {
  artifact: Artifact;
  /** The staged artifact file; the caller removes it once every destination is done. */
  artifactFile: string;
  snapshot: { durationMs: number; facts: SqliteFacts; foreignKeys: ForeignKeyReport };
  summary: { key: string; size: number; sha256: string; rawSize: number; rawSha256: string; compression: string; durationMs: number };
  /** The manifest, carrying the Object Lock date of the copy it describes where it has one. */
  manifestFor: (lockedUntil?: Date) => Manifest;
}

/**
 * Snapshot, check and pack one database. Throws when the snapshot or its
 * checks fail, after removing everything it staged: a snapshot that failed
 * verification is never shipped.
 */
export async function prepareSnapshot(job: PrepareJob): Promise<Prepared> {
  return (await packSnapshot(job)).verified;
}

/** A packed artifact whose checks may still be running: `verified` settles when they are done. */
export interface Packing {
  artifactFile: string;
  summary: Prepared["summary"];
  /** The source's row counts in the copied transaction (what the checks must find). */
  sourceCounts: Record<string, number>;
  /** The verified snapshot, or the VerificationError; rejections are never left unhandled. */
  verified: Promise<Prepared>;
}

/**
 * Snapshot and pack one database, and start its checks; resolves once the
 * artifact is built, which is usually before the checks are done, so the
 * caller can ship to temporary names meanwhile and commit only once
 * `verified` resolves. Throws when the copy or the packing fails.
 */
export async function packSnapshot(job: PrepareJob): Promise<Packing> {
  const { db, snapshotId, createdAt, codec, deps, log } = job;
  // The pid in the name lets a later run tell this run's files from those of a run that was killed.
  const snapshotFile = stagedFile(job.staging, db.name, snapshotId, process.pid);
  const artifactFile = `${snapshotFile}.${artifactExtension(codec, job.recipients)}`;
  const discard = async () => {
    await removeSqliteFiles(snapshotFile);
    await rm(artifactFile, { force: true });
  };
  await checkStagingRoom({ staging: job.staging, dbName: db.name, dbPath: db.path, compressed: codec.algorithm !== "none" });
  let copy;
  try {
    log.info({ snapshotId, source: db.path }, "taking snapshot");
    copy = await copySnapshot(db.name, db.path, snapshotFile);
  } catch (err) {
    await discard();
    throw err;
  }
  // The checks (integrity per table, structure, foreign keys, row counts) run in the pool's workers
  // while this thread compresses the same file; the snapshot file goes once both are done with it.
  const verifyStarted = performance.now();
  const checks = verifyInWorker(
    { dbName: db.name, file: copy.path, expectedCounts: copy.sourceCounts, sourceJournalMode: copy.sourceJournalMode, foreignKeys: job.foreignKeys },
    job.checkPool,
  ).then((result) => ({ ...result, ms: Math.round(performance.now() - verifyStarted) }));
  let artifact: Artifact;
  try {
    artifact = await buildArtifact(copy.path, artifactFile, codec, job.recipients);
  } catch (err) {
    await checks.catch(() => undefined);
    await discard();
    throw err;
  }
  const artifactKey = keys.artifact(db.name, snapshotId, artifact.ext);
  const summary = {
    key: artifactKey, size: artifact.size, sha256: artifact.sha256, rawSize: artifact.rawSize, rawSha256: artifact.rawSha256,
    compression: artifact.compression, durationMs: artifact.durationMs,
  };
  const verified = checks.then(
    async (checked): Promise<Prepared> => {
      await removeSqliteFiles(copy.path);
      const snapshot = { durationMs: copy.durationMs + checked.ms, facts: checked.facts, foreignKeys: checked.foreignKeys };
      if (snapshot.foreignKeys.violations) {
        log.warn({ snapshotId, foreignKeyViolations: snapshot.foreignKeys.violations }, "the source has rows that break foreign keys; shipped as they are (checks.foreignKeys: warn)");
      }
      const base = buildManifest({
        toolVersion: deps.toolVersion, db: db.name, snapshotId, createdAt, host: deps.hostname, sourcePath: db.path,
        facts: snapshot.facts, artifact, artifactKey, tags: job.tags,
      });
      collectAfterSnapshot(artifact.rawSize);
      log.info({ snapshotId, rawBytes: artifact.rawSize, bytes: artifact.size, ms: snapshot.durationMs, ...memory() }, "snapshot verified and packed");
      return { artifact, artifactFile, snapshot, summary, manifestFor: (lockedUntil) => (lockedUntil ? { ...base, lockedUntil: lockedUntil.toISOString() } : base) };
    },
    async (err): Promise<never> => {
      await discard();
      throw withNextStep(err, db);
    },
  );
  verified.catch(() => undefined); // the caller awaits it; a run that stops early must not crash on it
  return { artifactFile, summary, sourceCounts: copy.sourceCounts, verified };
}

/** A snapshot that fails integrity_check means a damaged source: say what to do about it. */
function withNextStep(err: unknown, db: DatabaseConfig): unknown {
  if (!(err instanceof VerificationError) || !isDamagedSource(err)) return err;
  return new VerificationError(err.database, err.failures, { cause: err, nextStep: damagedSourceAdvice(db.name, db.path) });
}

/** Memory figures for the logs, so a run's footprint per phase is visible without a profiler. */
export function memory(): { rssMB: number; heapMB: number; buffersMB: number } {
  const m = process.memoryUsage();
  return { rssMB: Math.round(m.rss / 2 ** 20), heapMB: Math.round(m.heapUsed / 2 ** 20), buffersMB: Math.round(m.arrayBuffers / 2 ** 20) };
}
