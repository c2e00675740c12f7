import Database from "better-sqlite3";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StorageAdapter } from "../adapters/types.js";
import { HashingCounter } from "../adapters/streams.js";
import { codecFor } from "./compression.js";
import type { Manifest } from "./manifest.js";
import { countRows } from "./snapshot.js";
import { TriplicateError } from "./errors.js";

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
 */
export async function fetchAndCheckCopy(adapter: StorageAdapter, manifest: Manifest, outFile: string, signal?: AbortSignal): Promise<CheckedCopy> {
  const started = performance.now();
  const artifactHash = new HashingCounter();
  const rawHash = new HashingCounter();
  try {
    let source;
    try {
      source = await adapter.get(manifest.artifact.key, signal);
    } catch (err) {
      throw new CopyCheckError("download", `cannot read ${manifest.artifact.key}: ${(err as Error).message}`, { cause: err });
    }
    try {
      await pipeline(source, artifactHash, ...decoders(manifest), rawHash, createWriteStream(outFile, { flush: true }), { signal });
    } catch (err) {
      // A truncated or bit-flipped artifact usually breaks the decoder before the hash can be compared.
      const hashKnown = artifactHash.bytes === manifest.artifact.size;
      throw new CopyCheckError(hashKnown ? "decode" : "download", `${hashKnown ? "cannot decode" : "download broke off after " + artifactHash.bytes + " bytes of " + manifest.artifact.size}: ${(err as Error).message}`, { cause: err });
    }
    const artifactSha = artifactHash.digest();
    if (artifactHash.bytes !== manifest.artifact.size || artifactSha !== manifest.artifact.sha256) {
      throw new CopyCheckError("artifact-hash", `artifact is ${artifactHash.bytes} bytes with sha256 ${artifactSha}; the manifest says ${manifest.artifact.size} bytes, ${manifest.artifact.sha256}`);
    }
    const rawSha = rawHash.digest();
    if (rawHash.bytes !== manifest.raw.size || rawSha !== manifest.raw.sha256) {
      throw new CopyCheckError("raw-hash", `decoded database is ${rawHash.bytes} bytes with sha256 ${rawSha}; the manifest says ${manifest.raw.size}, ${manifest.raw.sha256}`);
    }
    checkDatabase(outFile, manifest);
    return { bytes: artifactHash.bytes, rawSize: rawHash.bytes, rawSha256: rawSha, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    await Promise.all(["", "-journal", "-wal", "-shm"].map((s) => rm(outFile + s, { force: true })));
    throw err;
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
  return [codecFor(manifest.compression.algorithm).decompress()];
}

function checkDatabase(file: string, manifest: Manifest): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const result = db.pragma("integrity_check(5)", { simple: false }) as { integrity_check: string }[];
    const problems = result.map((r) => r.integrity_check).filter((m) => m !== "ok");
    if (problems.length) throw new CopyCheckError("integrity", `integrity_check: ${problems.join(" | ")}`);
    const counts = countRows(db);
    const diffs = Object.entries(manifest.sqlite.rowCounts).filter(([t, n]) => counts[t] !== n);
    if (diffs.length) {
      throw new CopyCheckError("row-counts", `row counts differ from the manifest: ${diffs.map(([t, n]) => `${t} ${counts[t] ?? "missing"} ≠ ${n}`).join(", ")}`);
    }
  } catch (err) {
    if (err instanceof CopyCheckError) throw err;
    throw new CopyCheckError("integrity", `not a usable SQLite database: ${(err as Error).message}`, { cause: err });
  } finally {
    db?.close();
  }
}
