import { open, type FileHandle } from "node:fs/promises";
import type { Duplex, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StorageAdapter } from "../../adapters/types.js";
import { HashingCounter } from "../../adapters/streams.js";
import { codecFor } from "../artifact/codecs.js";
import type { Manifest } from "../publish/manifest.js";
import { DecodeToFile } from "./decode/toFile.js";
import { FileTailHasher } from "./decode/tailHasher.js";
import { verifyInWorker } from "../snapshot/verify.js";
import { removeSqliteFiles } from "../runtime/sqliteFiles.js";
import { TriplicateError, VerificationError } from "../runtime/errors.js";
import { decryptStream, type AgeKeys } from "../encryption/age.js";
import { requireIdentityFor } from "../encryption/identity.js";

/**
 * One check a copy failed, in words for the report ("artifact sha256 mismatch", ...).
 * The only error fetchAndCheckCopy throws that blames the copy: anything else
 * (the output folder, a broken install) would fail every other copy the same way.
 */
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
  /** Of durationMs: download + decode + write, then fsync || hash || integrity_check. */
  transferMs: number;
  checkMs: number;
}

/**
 * Downloads one copy into `outFile` and proves it: artifact bytes hash to the
 * manifest's sha256, decoded bytes hash to the raw sha256, SQLite's
 * integrity_check passes and every table has the manifest's row count.
 * Leaves `outFile` in place only on success. Shared by restore and verify --deep.
 * An encrypted copy needs `identity`; without it, or with an identity that is
 * not among the copy's recipients, a usage error is thrown before anything
 * is downloaded or written (encryption/identity.ts).
 *
 * The download and the artifact hash stream on this thread while a worker
 * decompresses and writes (DecodeToFile), and the written file is read back
 * and hashed as it grows (FileTailHasher); once it is complete, its fsync,
 * the end of that hash and integrity_check (a worker) run side by side.
 */
export async function fetchAndCheckCopy(adapter: StorageAdapter, manifest: Manifest, outFile: string, signal?: AbortSignal, identity?: AgeKeys): Promise<CheckedCopy> {
  const started = performance.now();
  const artifactHash = new HashingCounter();
  // Before opening the download: a copy this host cannot decode is not a broken copy.
  requireIdentityFor(manifest, identity, "opening it");
  const decrypt = decryptors(manifest, identity);
  requireDecoder(manifest);
  let file: FileHandle | undefined;
  let sink: DecodeToFile | undefined;
  let source: Readable | undefined;
  let rawHasher: FileTailHasher | undefined;
  try {
    try {
      source = await adapter.get(manifest.artifact.key, signal);
    } catch (err) {
      throw new CopyCheckError("download", `cannot read ${manifest.artifact.key}: ${(err as Error).message}`, { cause: err });
    }
    // Owner-only while it is being written: it holds production data before anyone checked it.
    file = await open(outFile, "w", 0o600);
    const tail = (rawHasher = new FileTailHasher(outFile));
    sink = new DecodeToFile(manifest.compression.algorithm, file.fd, (written) => tail.advance(written));
    try {
      await pipeline(source, artifactHash, ...decrypt, sink, { signal });
    } catch (err) {
      // A truncated or bit-flipped artifact usually breaks the decoder before the hash can be compared.
      const hashKnown = artifactHash.bytes === manifest.artifact.size;
      // Either way the stored artifact is what is wrong, not the database it would become.
      const what = hashKnown ? "the artifact is damaged: it does not decode" : `download broke off after ${artifactHash.bytes} bytes of ${manifest.artifact.size}`;
      throw new CopyCheckError(hashKnown ? "decode" : "download", `${what} (${(err as Error).message})`, { cause: err });
    }
    const artifactSha = artifactHash.digest();
    if (artifactHash.bytes !== manifest.artifact.size || artifactSha !== manifest.artifact.sha256) {
      throw new CopyCheckError("artifact-hash", `artifact is ${artifactHash.bytes} bytes with sha256 ${artifactSha}; the manifest says ${manifest.artifact.size} bytes, ${manifest.artifact.sha256}`);
    }
    if (sink.rawBytes !== manifest.raw.size) {
      throw new CopyCheckError("raw-hash", `decoded database is ${sink.rawBytes} bytes; the manifest says ${manifest.raw.size}`);
    }
    const transferMs = Math.round(performance.now() - started);
    // fsync (disk), the rest of the raw hash (this thread) and integrity_check (a worker) all at once.
    const [synced, raw, facts] = await Promise.allSettled([
      file.sync(),
      tail.finish(sink.rawBytes),
      // Foreign-key violations never fail a copy: the raw SHA-256 proves these are the bytes the
      // backup checked, so any violation was in the source then (counted in the manifest), and
      // refusing to restore a faithful copy would leave the operator with nothing.
      verifyInWorker({
        dbName: manifest.db, file: outFile, expectedCounts: manifest.sqlite.rowCounts, sourceJournalMode: manifest.sqlite.journalMode,
        countLabels: { expected: "manifest", actual: "restored" }, foreignKeys: "warn",
      }),
    ]);
    // The disk under the target failed, not the copy: every other copy would fail here too.
    if (synced.status === "rejected") throw new TriplicateError(`cannot flush ${outFile} to disk: ${(synced.reason as Error).message}`, { cause: synced.reason });
    if (raw.status === "rejected") throw new CopyCheckError("raw-hash", `cannot read back ${outFile}: ${(raw.reason as Error).message}`, { cause: raw.reason });
    if (raw.value.sha256 !== manifest.raw.sha256) {
      throw new CopyCheckError("raw-hash", `decoded database has sha256 ${raw.value.sha256}; the manifest says ${manifest.raw.sha256}`);
    }
    if (facts.status === "rejected") {
      const failures = facts.reason instanceof VerificationError ? facts.reason.failures : [(facts.reason as Error).message];
      const stage = failures.every((f) => f.startsWith("row count")) ? "row-counts" : "integrity";
      throw new CopyCheckError(stage, failures.join("; "), { cause: facts.reason });
    }
    const durationMs = Math.round(performance.now() - started);
    return { bytes: artifactHash.bytes, rawSize: sink.rawBytes, rawSha256: raw.value.sha256, durationMs, transferMs, checkMs: durationMs - transferMs };
  } catch (err) {
    // Opening the file or the worker can fail before the pipeline owns the download.
    source?.destroy();
    await closeQuietly(sink, file);
    await rawHasher?.close();
    [sink, file] = [undefined, undefined];
    await removeSqliteFiles(outFile);
    throw err;
  } finally {
    await closeQuietly(sink, file);
  }
}

/** The worker stops before the descriptor it writes to is closed. */
async function closeQuietly(sink: DecodeToFile | undefined, file: FileHandle | undefined): Promise<void> {
  await sink?.stop().catch(() => {});
  await file?.close().catch(() => {});
}

/**
 * The transforms between artifact bytes and compressed database bytes: age
 * decryption for an encrypted copy (the identity was checked against its
 * recipients already, so a header that does not open is damage), none
 * otherwise. Decompression then follows in `DecodeToFile`.
 */
function decryptors(manifest: Manifest, identity: AgeKeys | undefined): Duplex[] {
  return manifest.encryption && identity ? [decryptStream(identity)] : [];
}

function requireDecoder(manifest: Manifest): void {
  try {
    codecFor(manifest.compression.algorithm);
  } catch (err) {
    throw new CopyCheckError("decode", `this copy is ${manifest.compression.algorithm}-compressed and this host cannot decode it: install the zstd-napi package (npm install zstd-napi)`, { cause: err });
  }
}
