/** artifact/: the one streaming pass that turns a checked snapshot into what every destination receives. */
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { HashingCounter } from "../../adapters/streams.js";
import { createPrivateFile } from "../runtime/privateFiles.js";
import type { BlobSource } from "../../adapters/types.js";
import { EXTENSION, type Codec, type CompressionAlgorithm } from "./codecs.js";

export interface Artifact {
  /** Staged artifact on local disk, shipped to every destination. */
  path: string;
  /** e.g. "zst"; the artifact key ends `.sqlite.<ext>`. */
  ext: string;
  compression: CompressionAlgorithm;
  compressionLevel: number | null;
  rawSize: number;
  rawSha256: string;
  size: number;
  sha256: string;
  durationMs: number;
}

/**
 * One streaming pass over the snapshot: hash the raw bytes, compress, hash
 * the compressed bytes, write the artifact. Memory is a few stream buffers
 * whatever the database size. Encryption will slot in after compression.
 */
export async function buildArtifact(snapshotPath: string, artifactPath: string, codec: Codec): Promise<Artifact> {
  const started = performance.now();
  const raw = new HashingCounter();
  const packed = new HashingCounter();
  try {
    await createPrivateFile(artifactPath);
    await pipeline(
      createReadStream(snapshotPath, { highWaterMark: 256 << 10 }),
      raw,
      codec.compress(),
      packed,
      createWriteStream(artifactPath, { flush: true }),
    );
  } catch (err) {
    await rm(artifactPath, { force: true });
    throw err;
  }
  return {
    path: artifactPath,
    ext: EXTENSION[codec.algorithm],
    compression: codec.algorithm,
    compressionLevel: codec.level,
    rawSize: raw.bytes,
    rawSha256: raw.digest(),
    size: packed.bytes,
    sha256: packed.digest(),
    durationMs: Math.round(performance.now() - started),
  };
}

/** The artifact as a replayable source for adapters. */
export function artifactSource(a: Pick<Artifact, "path" | "size" | "sha256">): BlobSource {
  return {
    open: () => createReadStream(a.path, { highWaterMark: 1 << 20 }),
    size: a.size,
    sha256: a.sha256,
    localPath: a.path,
  };
}
