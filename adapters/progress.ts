/**
 * Progress of transfers an adapter makes from `src.localPath` itself (local
 * copyFile, SFTP fastPut, S3 multipart from file ranges): those bytes never
 * pass through `src.open()`, so only the adapter can say how far it got.
 * Throttled, because fastPut's step fires per 32 KiB request and a progress
 * line needs ten figures a second at most.
 */
import { stat } from "node:fs/promises";
import type { BlobSource } from "./types.js";

export const PROGRESS_INTERVAL_MS = 100;

export interface ProgressReporter {
  /** Bytes sent so far; dropped when the last report was under 100 ms ago. */
  report(bytes: number): void;
  /** Always passed on: the final figure must never be throttled away. */
  done(bytes: number): void;
}

const SILENT: ProgressReporter = { report: () => undefined, done: () => undefined };

export function progressOf(src: BlobSource, now: () => number = () => performance.now()): ProgressReporter {
  const cb = src.onProgress;
  if (!cb) return SILENT;
  let last = -Infinity;
  // A callback that throws must not fail an upload: progress is decoration.
  const call = (n: number) => {
    try {
      cb(n);
    } catch {
      /* ignored */
    }
  };
  return {
    report(bytes) {
      const t = now();
      if (t - last < PROGRESS_INTERVAL_MS) return;
      last = t;
      call(bytes);
    },
    done: call,
  };
}

/**
 * For a copy with no progress of its own (copyFile): polls the size of the
 * file being written. Honest whatever the kernel does: a reflink copy shows
 * its full size at once, a chunked one grows. Returns the stop function.
 */
export function pollFileSize(file: string, reporter: ProgressReporter): () => void {
  if (reporter === SILENT) return () => undefined;
  const timer = setInterval(() => {
    stat(file).then((s) => reporter.report(s.size), () => undefined);
  }, PROGRESS_INTERVAL_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}

/**
 * Bytes of a transfer in parts sent at once (S3 multipart): each part's
 * count, summed. A part that is retried starts again from 0 (`start`).
 */
export interface PartBytes {
  start(part: number): void;
  add(part: number, bytes: number): void;
  done(total: number): void;
}

export function partBytes(reporter: ProgressReporter, parts: number): PartBytes {
  const sent = new Array<number>(parts).fill(0);
  let total = 0;
  return {
    start(part) {
      total -= sent[part];
      sent[part] = 0;
    },
    add(part, bytes) {
      sent[part] += bytes;
      total += bytes;
      reporter.report(total);
    },
    done: (n) => reporter.done(n),
  };
}
