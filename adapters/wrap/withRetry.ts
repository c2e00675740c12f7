import pRetry from "p-retry";
import { PassThrough, type Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { StorageAdapter } from "../types.js";
import { AdapterError, isRetryable } from "../errors.js";
import { aroundEachCall } from "./forward.js";

export interface RetryOptions {
  /** Attempts after the first one. */
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** Told about every failed attempt that will be retried; no logger import here. */
  onRetry?: (info: { op: string; key?: string; attempt: number; error: unknown }) => void;
}

export const defaultRetry: RetryOptions = { retries: 3, minTimeoutMs: 500, maxTimeoutMs: 10_000 };

/**
 * Retries only TransientError (network drops, timeouts, 5xx). NotFound,
 * auth, config and checksum errors fail at once. `put` re-opens its
 * BlobSource on every attempt, so each try streams from the start. A
 * download that breaks off mid-way is resumed (see `resuming`).
 */
export function withRetry(inner: StorageAdapter, opts: RetryOptions = defaultRetry): StorageAdapter {
  const run = <T>(op: string, key: string | undefined, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> =>
    pRetry(fn, {
      retries: opts.retries,
      minTimeout: opts.minTimeoutMs,
      maxTimeout: opts.maxTimeoutMs,
      randomize: true,
      signal,
      shouldRetry: ({ error }) => isRetryable(error),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft > 0 && isRetryable(error)) opts.onRetry?.({ op, key, attempt: attemptNumber, error });
      },
    });

  return {
    ...aroundEachCall(inner, (op, key, signal, call) => run(op, key, () => call(signal), signal)),
    get: async (key, signal, from = 0) => {
      const open = (s: AbortSignal | undefined, at: number) => run("get", key, () => inner.get(key, s, at), s);
      return resuming(await open(signal, from), (s, at) => open(s, from + at), opts, key, signal);
    },
  };
}

/**
 * One unbroken stream from a download that may break off: when the source
 * fails mid-way with an error worth retrying (a dropped connection, a stall),
 * the object is opened again where it stopped (get's `from`), up to
 * `opts.retries` times. Without this, a restore whose connection dropped at
 * 90% called an intact copy failed and fell back to an older snapshot.
 * (Nothing is trusted because of it: consumers hash what they receive, so a
 * resume that spliced two versions of a replaced object would not match.)
 */
function resuming(first: Readable, reopen: (signal: AbortSignal, at: number) => Promise<Readable>, opts: RetryOptions, key: string, signal?: AbortSignal): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  // Ends a backoff or a reopen in progress when the consumer gives up (or the caller aborts).
  const gaveUp = new AbortController();
  const stop = signal ? AbortSignal.any([signal, gaveUp.signal]) : gaveUp.signal;
  let delivered = 0;
  let resumes = 0;
  let current = first;

  // pipe() carries backpressure and ends `out` at the source's end; a source that fails is
  // unpiped, and `out` stays open for the next one.
  const follow = (source: Readable): void => {
    current = source;
    source.pipe(out);
    source.on("data", (chunk: Buffer) => (delivered += chunk.length));
    source.once("error", (err) => {
      source.unpipe(out);
      void resume(err);
    });
  };

  const resume = async (err: Error): Promise<void> => {
    if (out.destroyed) return;
    // Adapter errors say whether they are worth another try; raw stream errors from an SDK's
    // socket (ECONNRESET, premature close) are network trouble too.
    const worthIt = err instanceof AdapterError ? isRetryable(err) : true;
    if (!worthIt || resumes >= opts.retries || signal?.aborted) return void out.destroy(err);
    resumes++;
    try {
      opts.onRetry?.({ op: "get (resuming)", key, attempt: resumes, error: err });
      await sleep(Math.min(opts.maxTimeoutMs, opts.minTimeoutMs * 2 ** (resumes - 1)), undefined, { signal: stop });
      const again = await reopen(stop, delivered);
      if (out.destroyed) return void again.destroy();
      follow(again);
    } catch (failure) {
      out.destroy(failure as Error);
    }
  };

  out.once("close", () => {
    gaveUp.abort();
    if (!current.destroyed) current.destroy();
  });
  follow(first);
  return out;
}
