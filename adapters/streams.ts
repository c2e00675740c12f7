import { createHash } from "node:crypto";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { BlobSource } from "./types.js";

/**
 * A pass-through that counts and hashes what flows through it, so adapters
 * can check a transfer against its BlobSource without a second read.
 */
export class HashingCounter extends Transform {
  private readonly hash = createHash("sha256");
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  /** Hex digest; call once, after the stream has finished. */
  digest(): string {
    return this.hash.digest("hex");
  }
}

/** SHA-256 and length of everything a readable yields. */
export async function hashStream(stream: AsyncIterable<Buffer>): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

/** Random hex for temp names. */
export function randomHex(bytes = 6): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Everything an async iterable yields, as an array (listings are retried and limited as a whole). */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const o of it) out.push(o);
  return out;
}

/** A BlobSource over bytes already in memory (manifests, proofs, markers: a few KiB). */
export function bytesSource(bytes: Buffer): BlobSource {
  return { open: () => Readable.from([bytes]), size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/**
 * All of a small object's bytes (a manifest, a proof, a marker), or null once
 * more than `maxBytes` arrive: a stray large file named like one of ours must
 * never be read whole into memory. Returning early destroys the stream, which
 * frees its connection.
 */
export async function readCapped(stream: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += c.length;
    if (size > maxBytes) return null;
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
