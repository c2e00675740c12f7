import pRetry from "p-retry";
import type { BlobSource, StorageAdapter, WrappedAdapter } from "../types.js";
import { collect } from "../streams.js";
import { isRetryable } from "../errors.js";

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
 * BlobSource on every attempt, so each try streams from the start.
 */
export function withRetry(inner: StorageAdapter, opts: RetryOptions = defaultRetry): WrappedAdapter {
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
    id: inner.id,
    capabilities: inner.capabilities,
    unwrap: () => inner,
    put: (key: string, src: BlobSource, signal?: AbortSignal) => run("put", key, () => inner.put(key, src, signal), signal),
    get: (key, signal) => run("get", key, () => inner.get(key, signal), signal),
    stat: (key, signal) => run("stat", key, () => inner.stat(key, signal), signal),
    async *list(prefix, signal) {
      // A listing is retried as a whole, so a drop half-way never yields duplicates.
      const all = await run("list", prefix, () => collect(inner.list(prefix, signal)), signal);
      yield* all;
    },
    delete: (key, signal) => run("delete", key, () => inner.delete(key, signal), signal),
    sweepTemporary: (prefix, olderThan, signal) =>
      run("sweepTemporary", prefix, () => inner.sweepTemporary(prefix, olderThan, signal), signal),
    close: () => inner.close(),
  };
}
