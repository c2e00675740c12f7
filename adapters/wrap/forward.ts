// Wrappers that each add one concern (retry, limits, logging, timeouts, dry-run) around any StorageAdapter.
import type { StorageAdapter } from "../types.js";
import { collect } from "../streams.js";

/**
 * Every method of `inner`, passed through unchanged. A wrapper spreads this
 * and overrides only what it changes, as an Apache OpenDAL layer passes
 * through what it does not implement. Methods are bound here rather than
 * copied with `{...inner}`, so an adapter written as a class keeps its `this`.
 */
export function forward(inner: StorageAdapter): StorageAdapter {
  return {
    id: inner.id,
    capabilities: inner.capabilities,
    put: (key, src, signal) => inner.put(key, src, signal),
    get: (key, signal, from) => inner.get(key, signal, from),
    stat: (key, signal) => inner.stat(key, signal),
    list: (prefix, signal) => inner.list(prefix, signal),
    delete: (key, signal) => inner.delete(key, signal),
    sweepTemporary: (prefix, olderThan, signal) => inner.sweepTemporary(prefix, olderThan, signal),
    // Optional, so present only where the inner adapter has it: callers test for the method.
    ...(inner.freeSpace ? { freeSpace: (signal?: AbortSignal) => inner.freeSpace!(signal) } : {}),
    close: () => inner.close(),
  };
}

export type CallOp = "put" | "get" | "stat" | "list" | "delete" | "sweepTemporary";

/**
 * Wraps one call to the inner adapter. `key` is the prefix for list and
 * sweepTemporary. `call` runs the inner method with the signal it is given,
 * so a wrapper may hand the adapter a signal of its own.
 */
export type Around = <T>(
  op: CallOp,
  key: string,
  signal: AbortSignal | undefined,
  call: (signal: AbortSignal | undefined) => Promise<T>,
) => Promise<T>;

/**
 * `inner` with `around` put about each promise-returning call: the shape of
 * withRetry, withLimit, withLogging and withTimeout, which treat every call
 * alike (and override `get` where a download needs more).
 */
export function aroundEachCall(inner: StorageAdapter, around: Around): StorageAdapter {
  return {
    ...forward(inner),
    put: (key, src, signal) => around("put", key, signal, (s) => inner.put(key, src, s)),
    get: (key, signal, from) => around("get", key, signal, (s) => inner.get(key, s, from)),
    stat: (key, signal) => around("stat", key, signal, (s) => inner.stat(key, s)),
    async *list(prefix, signal) {
      // A listing is one call, collected as a whole: retried whole, so a drop half-way never
      // yields duplicates, and limited and timed out whole.
      yield* await around("list", prefix, signal, (s) => collect(inner.list(prefix, s)));
    },
    delete: (key, signal) => around("delete", key, signal, (s) => inner.delete(key, s)),
    sweepTemporary: (prefix, olderThan, signal) =>
      around("sweepTemporary", prefix, signal, (s) => inner.sweepTemporary(prefix, olderThan, s)),
  };
}
