import { PassThrough, type Readable } from "node:stream";
import type { StorageAdapter } from "../types.js";
import { TransientError } from "../errors.js";
import { aroundEachCall } from "./forward.js";

/**
 * Bounds each operation: the adapter gets an AbortSignal that fires after
 * `ms` (or when the caller's signal does), and a call still running then
 * fails with a TransientError, so withRetry may try again and a hung
 * destination never holds the run beyond its own timeout. For a download
 * the timeout bounds opening it; once open, it runs as long as bytes keep
 * coming, and fails when none arrives for `stallMs`.
 */
export function withTimeout(inner: StorageAdapter, ms: number, stallMs = 120_000): StorageAdapter {
  const bounded = <T>(op: string, key: string, signal: AbortSignal | undefined, fn: (s: AbortSignal) => Promise<T>): Promise<T> => {
    const timer = AbortSignal.timeout(ms);
    const combined = signal ? AbortSignal.any([signal, timer]) : timer;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () =>
        reject(
          timer.aborted
            ? new TransientError(`timed out after ${Math.round(ms / 1000)}s`, { adapter: inner.id, op, key })
            : (signal?.reason ?? new Error("aborted")),
        );
      if (combined.aborted) return onAbort();
      combined.addEventListener("abort", onAbort, { once: true });
      fn(combined).then(resolve, reject).finally(() => combined.removeEventListener("abort", onAbort));
    });
  };
  return {
    ...aroundEachCall(inner, bounded),
    get: async (key, signal, from) => {
      // The deadline covers opening the download, not reading it: a 50 GiB restore over a slow
      // link may take hours, and stall detection is what catches a download that stops. So the
      // adapter gets a signal of its own, cancelled by the deadline only while opening (the S3
      // SDK keeps its signal for the whole body) and by the caller at any time.
      const download = new AbortController();
      const stream = await bounded("get", key, signal, (opening) => {
        const cancel = () => download.abort(opening.reason);
        opening.addEventListener("abort", cancel, { once: true });
        return inner.get(key, download.signal, from).finally(() => opening.removeEventListener("abort", cancel));
      });
      if (signal) {
        const cancel = () => download.abort(signal.reason);
        signal.addEventListener("abort", cancel, { once: true });
        stream.once("close", () => signal.removeEventListener("abort", cancel));
      }
      return watchForStalls(stream, stallMs, inner.id, key);
    },
  };
}

/**
 * Passes a download through, failing it with a TransientError when no byte
 * arrives for `stallMs` (a NAS whose disk hangs while its SSH server still
 * answers keep-alives). Time spent waiting on a slow reader does not count.
 */
function watchForStalls(source: Readable, stallMs: number, adapter: string, key: string): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const err = new TransientError(`download stalled: no data for ${Math.round(stallMs / 1000)}s`, { adapter, op: "get", key });
      source.destroy(err);
      out.destroy(err);
    }, stallMs);
    timer.unref?.();
  };
  source.on("data", (chunk: Buffer) => {
    arm();
    if (!out.write(chunk)) {
      clearTimeout(timer);
      source.pause();
    }
  });
  out.on("drain", () => {
    arm();
    source.resume();
  });
  source.once("end", () => {
    clearTimeout(timer);
    out.end();
  });
  source.once("error", (err) => {
    clearTimeout(timer);
    out.destroy(err);
  });
  out.once("close", () => {
    clearTimeout(timer);
    if (!source.destroyed) source.destroy();
  });
  arm();
  return out;
}
