import { createReadStream, createWriteStream } from "node:fs";
import { open, rm } from "node:fs/promises";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StorageAdapter } from "../adapters/types.js";
import { HashingCounter, hashStream } from "../adapters/streams.js";
import { codecFor } from "./compression.js";
import type { Manifest } from "./manifest.js";
import { verifyInWorker } from "./snapshot.js";
import { TriplicateError, VerificationError } from "./errors.js";

/** One check a copy failed, in words for the report ("artifact sha256 mismatch", ...). */
export class CopyCheckError extends TriplicateError {
  constructor(readonly stage: "download" | "artifact-hash" | "decode" | "raw-hash" | "integrity" | "row-counts", message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface CheckedCopy {
  bytes: number;
  rawSize: number;
  rawSha256: string;
  durationMs: number;
}

/**
 * Downloads one copy into `outFile` and proves it: artifact bytes hash to the
 * manifest's sha256, decoded bytes hash to the raw sha256, SQLite's
 * integrity_check passes and every table has the manifest's row count.
 * Leaves `outFile` in place only on success. Shared by restore and verify --deep.
 *
 * The download, artifact hash and decompression stream on this thread; once
 * the file is written, its fsync, its SHA-256 (here) and integrity_check (a
 * worker) run side by side instead of one after the other.
 */
export async function fetchAndCheckCopy(adapter: StorageAdapter, manifest: Manifest, outFile: string, signal?: AbortSignal): Promise<CheckedCopy> {
  const started = performance.now();
  const artifactHash = new HashingCounter();
  const rawBytes = new ByteCounter();
  // Before opening the download: a copy this host cannot decode is not a broken copy.
  const decode = decoders(manifest);
  try {
    let source;
    try {
      source = await adapter.get(manifest.artifact.key, signal);
    } catch (err) {
      throw new CopyCheckError("download", `cannot read ${manifest.artifact.key}: ${(err as Error).message}`, { cause: err });
    }
    try {
      await pipeline(source, artifactHash, ...decode, rawBytes, createWriteStream(outFile), { signal });
    } catch (err) {
      // A truncated or bit-flipped artifact usually breaks the decoder before the hash can be compared.
      const hashKnown = artifactHash.bytes === manifest.artifact.size;
      throw new CopyCheckError(hashKnown ? "decode" : "download", `${hashKnown ? "cannot decode" : "download broke off after " + artifactHash.bytes + " bytes of " + manifest.artifact.size}: ${(err as Error).message}`, { cause: err });
    }
    const artifactSha = artifactHash.digest();
    if (artifactHash.bytes !== manifest.artifact.size || artifactSha !== manifest.artifact.sha256) {
      throw new CopyCheckError("artifact-hash", `artifact is ${artifactHash.bytes} bytes with sha256 ${artifactSha}; the manifest says ${manifest.artifact.size} bytes, ${manifest.artifact.sha256}`);
    }
    if (rawBytes.bytes !== manifest.raw.size) {
      throw new CopyCheckError("raw-hash", `decoded database is ${rawBytes.bytes} bytes; the manifest says ${manifest.raw.size}`);
    }
    // fsync (disk), the raw hash (this thread) and integrity_check (a worker) all at once.
    const [synced, raw, facts] = await Promise.allSettled([
      fsyncFile(outFile),
      hashStream(createReadStream(outFile, { highWaterMark: 1 << 20 })),
      verifyInWorker({ dbName: manifest.db, file: outFile, expectedCounts: manifest.sqlite.rowCounts, sourceJournalMode: manifest.sqlite.journalMode }),
    ]);
    if (synced.status === "rejected") throw new CopyCheckError("download", `cannot flush ${outFile} to disk: ${(synced.reason as Error).message}`, { cause: synced.reason });
    if (raw.status === "rejected") throw new CopyCheckError("raw-hash", `cannot read back ${outFile}: ${(raw.reason as Error).message}`, { cause: raw.reason });
    if (raw.value.sha256 !== manifest.raw.sha256) {
      throw new CopyCheckError("raw-hash", `decoded database has sha256 ${raw.value.sha256}; the manifest says ${manifest.raw.sha256}`);
    }
    if (facts.status === "rejected") {
      const failures = facts.reason instanceof VerificationError ? facts.reason.failures : [(facts.reason as Error).message];
      const stage = failures.every((f) => f.startsWith("row count")) ? "row-counts" : "integrity";
      throw new CopyCheckError(stage, failures.join("; "), { cause: facts.reason });
    }
    return { bytes: artifactHash.bytes, rawSize: rawBytes.bytes, rawSha256: raw.value.sha256, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    await Promise.all(["", "-journal", "-wal", "-shm"].map((s) => rm(outFile + s, { force: true })));
    throw err;
  }
}

async function fsyncFile(file: string): Promise<void> {
  const h = await open(file, "r+");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Counts bytes passing through (the raw bytes are hashed from the written file instead). */
class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/**
 * The transforms between artifact bytes and database bytes. Decryption
 * (age) goes in front of decompression here when encryption lands.
 */
function decoders(manifest: Manifest): Transform[] {
  if (manifest.encryption) {
    throw new CopyCheckError("decode", "this copy is encrypted, and this version of triplicate cannot decrypt yet");
  }
  try {
    return [codecFor(manifest.compression.algorithm).decompress()];
  } catch (err) {
    throw new CopyCheckError("decode", `this copy is ${manifest.compression.algorithm}-compressed and this host cannot decode it: install the zstd-napi package (npm install zstd-napi)`, { cause: err });
  }
}
