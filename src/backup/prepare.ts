import { rm } from "node:fs/promises";
import type { Logger } from "pino";
import type { DatabaseConfig } from "../config/schema.js";
import { buildArtifact, type Artifact } from "../artifact/build.js";
import { EXTENSION, type Codec } from "../artifact/codecs.js";
import { keys } from "../publish/ids.js";
import { buildManifest, type Manifest } from "../publish/manifest.js";
import type { RunDeps } from "../runtime/context.js";
import { collectGarbage } from "../runtime/gc.js";
import { removeSqliteFiles } from "../runtime/sqliteFiles.js";
import { copySnapshot } from "../snapshot/take.js";
import { verifyInWorker, type ForeignKeyMode, type ForeignKeyReport, type SqliteFacts } from "../snapshot/checks.js";
import { damagedSourceAdvice } from "../snapshot/advice.js";
import { VerificationError } from "../runtime/errors.js";
import { checkStagingRoom, stagedFile } from "./staging.js";
import { isDamagedSource } from "./damagedSource.js";

export interface PrepareJob {
  db: DatabaseConfig;
  snapshotId: string;
  createdAt: Date;
  codec: Codec;
  staging: string;
  tags: string[];
  /** checks.foreignKeys from the config. */
  foreignKeys: ForeignKeyMode;
  deps: RunDeps;
  log: Logger;
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
  const { db, snapshotId, createdAt, codec, deps, log } = job;
  // The pid in the name lets a later run tell this run's files from those of a run that was killed.
  const snapshotFile = stagedFile(job.staging, db.name, snapshotId, process.pid);
  const artifactFile = `${snapshotFile}.${EXTENSION[codec.algorithm]}`;
  await checkStagingRoom({ staging: job.staging, dbName: db.name, dbPath: db.path, compressed: codec.algorithm !== "none" });
  try {
    log.info({ snapshotId, source: db.path }, "taking snapshot");
    const copy = await copySnapshot(db.name, db.path, snapshotFile);
    // Verification (integrity_check, foreign keys, row counts) runs in a worker while this
    // thread compresses the same file; a failed check discards the artifact before anything ships.
    const verifyStarted = performance.now();
    const verified = verifyInWorker({
      dbName: db.name, file: copy.path, expectedCounts: copy.sourceCounts, sourceJournalMode: copy.sourceJournalMode, foreignKeys: job.foreignKeys,
    }).then((result) => ({ ...result, ms: Math.round(performance.now() - verifyStarted) }));
    const [checked, built] = await Promise.allSettled([verified, buildArtifact(copy.path, artifactFile, codec)]);
    if (checked.status === "rejected") throw withNextStep(checked.reason, db);
    if (built.status === "rejected") throw built.reason;
    const artifact = built.value;
    // Copy plus verification; compression overlaps with the latter and is reported under artifact.
    const snapshot = { durationMs: copy.durationMs + checked.value.ms, facts: checked.value.facts, foreignKeys: checked.value.foreignKeys };
    if (snapshot.foreignKeys.violations) {
      log.warn({ snapshotId, foreignKeyViolations: snapshot.foreignKeys.violations }, "the source has rows that break foreign keys; shipped as they are (checks.foreignKeys: warn)");
    }
    await removeSqliteFiles(copy.path);
    const artifactKey = keys.artifact(db.name, snapshotId, artifact.ext);
    const summary = {
      key: artifactKey, size: artifact.size, sha256: artifact.sha256, rawSize: artifact.rawSize, rawSha256: artifact.rawSha256,
      compression: artifact.compression, durationMs: artifact.durationMs,
    };
    const base = buildManifest({
      toolVersion: deps.toolVersion, db: db.name, snapshotId, createdAt, host: deps.hostname, sourcePath: db.path,
      facts: snapshot.facts, artifact, artifactKey, tags: job.tags,
    });
    collectGarbage();
    log.info({ snapshotId, rawBytes: artifact.rawSize, bytes: artifact.size, ms: snapshot.durationMs, ...memory() }, "snapshot verified and packed");
    return { artifact, artifactFile, snapshot, summary, manifestFor: (lockedUntil) => (lockedUntil ? { ...base, lockedUntil: lockedUntil.toISOString() } : base) };
  } catch (err) {
    await removeSqliteFiles(snapshotFile);
    await rm(artifactFile, { force: true });
    throw err;
  }
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
