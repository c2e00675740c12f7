import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";

/** Bytes read back per step: one read() each, from the page cache the writer just filled. */
const STEP_BYTES = 1 << 20;

/**
 * SHA-256 of a file that another thread is still writing front to back,
 * read back from the file itself (so it covers what landed, not what was
 * meant to) as soon as the writer reports progress. Hashing while the
 * writer works moves most of this pass out of the fsync / integrity_check
 * phase that follows, where it competed with them for the same two cores.
 */
export class FileTailHasher {
  private readonly hash = createHash("sha256");
  private hashed = 0;
  private available = 0;
  private handle: Promise<FileHandle> | undefined;
  private running: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor(private readonly file: string) {}

  /** The writer has written `bytes` bytes from the start: hash up to there, in the background. */
  advance(bytes: number): void {
    if (this.closed) return;
    this.available = Math.max(this.available, bytes);
    this.running ??= this.catchUp().finally(() => (this.running = undefined));
  }

  /** Hashes up to `size` bytes and returns the digest; the file must be `size` bytes long by now. */
  async finish(size: number): Promise<{ sha256: string; size: number }> {
    this.available = Math.max(this.available, size);
    // A pass that was just ending may have missed the last advance: go round until caught up.
    while (!this.failure && !this.closed && (this.running || this.hashed < this.available)) {
      this.advance(this.available);
      await this.running;
    }
    if (this.failure) throw this.failure;
    if (this.hashed < this.available) throw new Error(`hashing ${this.file} was stopped at ${this.hashed} bytes`);
    await this.close();
    return { sha256: this.hash.digest("hex"), size: this.hashed };
  }

  /** Stops for good: later progress reports open nothing. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close().catch(() => undefined);
  }

  private async catchUp(): Promise<void> {
    try {
      this.handle ??= open(this.file, "r");
      const fh = await this.handle;
      const buf = Buffer.allocUnsafe(STEP_BYTES);
      while (this.hashed < this.available && !this.failure && !this.closed) {
        const want = Math.min(STEP_BYTES, this.available - this.hashed);
        const { bytesRead } = await fh.read(buf, 0, want, this.hashed);
        if (bytesRead === 0) throw new Error(`${this.file} ended at ${this.hashed} bytes; ${this.available} were written`);
        this.hash.update(buf.subarray(0, bytesRead));
        this.hashed += bytesRead;
      }
    } catch (err) {
      this.failure ??= err as Error;
    }
  }
}
