/** restore/decode/: decompress an artifact into a file off the main thread, hashing the file back as it grows. */
import { Writable } from "node:stream";
import { Worker } from "node:worker_threads";
import { openFileDecoder, type FileDecoder } from "./chunkDecoders.js";
import type { CompressionAlgorithm } from "../../artifact/codecs.js";
import { compiledWorker } from "../../runtime/workerScript.js";

/** What the decode worker is given: how to decode, and the open file to write into. */
export interface DecodeJob {
  algorithm: CompressionAlgorithm;
  fd: number;
}

export type DecodeReply = { kind: "ack"; batch: Uint8Array<ArrayBuffer>; rawBytes: number } | { kind: "done"; rawBytes: number } | { kind: "error"; message: string };

/** Artifact bytes are handed to the worker in batches of this size... */
const BATCH_BYTES = 1 << 20;
/** ...with at most this many on their way: memory stays flat at a few MiB. */
const MAX_IN_FLIGHT = 4;

/**
 * The end of a restore pipeline: takes artifact bytes (already decrypted,
 * still compressed) and writes the database into the open file `fd`.
 *
 * Decompression and the writes run in a worker thread so that they overlap
 * with the download and the artifact hash on this thread; measured on a
 * 1 GiB database, this halves the time from artifact to written file (2.0 s
 * to 1.1 s). Loaded from TypeScript sources (a test runner), the same
 * decoder runs inline; a compiled build without its worker is an error.
 *
 * The caller owns `fd`: it must `await stop()` before closing it, so that no
 * write can land in a descriptor number that has been reused.
 */
export class DecodeToFile extends Writable {
  private readonly worker: Worker | null;
  private readonly inline: FileDecoder | null;
  private batch: Uint8Array<ArrayBuffer> = new Uint8Array(BATCH_BYTES);
  private fill = 0;
  private readonly spare: Uint8Array<ArrayBuffer>[] = [];
  private inFlight = 0;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  /** Decoded bytes written, known once the stream has finished. */
  rawBytes = 0;
  private workerDone = false;

  /** `onProgress` hears how many decoded bytes are in the file so far, as they land. */
  constructor(algorithm: CompressionAlgorithm, fd: number, private readonly onProgress: (rawBytes: number) => void = () => {}) {
    super({ highWaterMark: BATCH_BYTES });
    const workerUrl = compiledWorker("decodeWorker.js", import.meta.url);
    if (workerUrl) {
      // The work happens in native code and in Buffers; the worker's JS heap stays tiny.
      this.worker = new Worker(workerUrl, { workerData: { algorithm, fd } satisfies DecodeJob, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 } });
      this.worker.on("message", (r: DecodeReply) => this.onReply(r));
      this.worker.on("error", (err) => this.fail(err));
      this.worker.on("exit", (code) => this.fail(new Error(`decode worker exited (code ${code}) before it finished`)));
      this.inline = null;
    } else {
      this.worker = null;
      this.inline = openFileDecoder(algorithm, fd);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.take(chunk).then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.finish().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.stop().then(() => done(err), () => done(err));
  }

  /** Ends the worker (if any); safe to call more than once. */
  async stop(): Promise<void> {
    if (this.worker) {
      this.worker.removeAllListeners("exit");
      await this.worker.terminate();
    }
  }

  private async take(chunk: Buffer): Promise<void> {
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(chunk.length - off, BATCH_BYTES - this.fill);
      this.batch.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === BATCH_BYTES) await this.send();
    }
  }

  private async send(): Promise<void> {
    if (this.failure) throw this.failure;
    const full = this.batch.subarray(0, this.fill);
    this.batch = this.spare.pop() ?? new Uint8Array(BATCH_BYTES);
    this.fill = 0;
    if (this.inline) {
      await this.inline.write(full);
      this.onProgress(this.inline.bytesWritten);
      return;
    }
    this.inFlight++;
    // Transferred, not copied: the worker hands the same memory back with its ack.
    this.worker!.postMessage(full, [full.buffer]);
    while (this.inFlight >= MAX_IN_FLIGHT) await this.nextReply();
  }

  private async finish(): Promise<void> {
    if (this.fill > 0) await this.send();
    if (this.inline) {
      await this.inline.end();
      this.rawBytes = this.inline.bytesWritten;
      return;
    }
    while (this.inFlight > 0) await this.nextReply();
    this.worker!.postMessage(null);
    while (!this.workerDone) await this.nextReply();
    await this.stop();
  }

  /** Resolves at the worker's next reply; rejects once it has failed. */
  private nextReply(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.wake = () => (this.failure ? reject(this.failure) : resolve());
    });
  }

  private onReply(r: DecodeReply): void {
    if (r.kind === "ack") {
      this.inFlight--;
      this.onProgress(r.rawBytes);
      this.spare.push(new Uint8Array(r.batch.buffer));
    } else if (r.kind === "done") {
      this.rawBytes = r.rawBytes;
      this.workerDone = true;
    } else {
      this.failure ??= new Error(r.message);
    }
    this.signal();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
