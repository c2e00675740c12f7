/** artifact/: the one streaming pass that turns a checked snapshot into what every destination receives. */
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { HashingCounter } from "../../adapters/streams.js";
import { createPrivateFile } from "../runtime/privateFiles.js";
import type { BlobSource } from "../../adapters/types.js";
import { EXTENSION, type Codec, type CompressionAlgorithm } from "./codecs.js";
import { encryptStream } from "../encryption/age.js";

export interface Artifact {
  /** Staged artifact on local disk, shipped to every destination. */
  path: string;
  /** e.g. "zst" or "zst.age"; the artifact key ends `.sqlite.<ext>`. */
  ext: string;
  /** The age recipients (public keys) the artifact is encrypted to; null when it is not encrypted. */
  recipients: string[] | null;
  compression: CompressionAlgorithm;
  compressionLevel: number | null;
  rawSize: number;
  rawSha256: string;
  size: number;
  sha256: string;
  durationMs: number;
}

/**
 * One streaming pass over the snapshot: hash the raw bytes, compress,
 * encrypt with age when there are recipients, hash what comes out, write the
 * artifact. Memory is a few stream buffers whatever the database size. The
 * artifact hash is of the final (encrypted) bytes, so a read-back at backup
 * time proves a copy without any private key.
 */
export async function buildArtifact(snapshotPath: string, artifactPath: string, codec: Codec, recipients: string[] | null = null): Promise<Artifact> {
  const started = performance.now();
  const raw = new HashingCounter();
  const packed = new HashingCounter();
  try {
    await createPrivateFile(artifactPath);
    await pipeline(
      createReadStream(snapshotPath, { highWaterMark: 256 << 10 }),
      raw,
      codec.compress(),
      ...(recipients ? [encryptStream(recipients)] : []),
      packed,
      createWriteStream(artifactPath, { flush: true }),
    );
  } catch (err) {
    await rm(artifactPath, { force: true });
    throw err;
  }
  return {
    path: artifactPath,
    ext: artifactExtension(codec, recipients),
    recipients,
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

/** `zst`, or `zst.age` when encrypted: the artifact's name says what opens it. */
export function artifactExtension(codec: Codec, recipients: string[] | null): string {
  return recipients ? `${EXTENSION[codec.algorithm]}.age` : EXTENSION[codec.algorithm];
}
