import pLimit from "p-limit";
import type { StorageAdapter } from "../types.js";
import { collect } from "../streams.js";

/**
 * Caps concurrent operations on one destination at its
 * `capabilities.maxConnections` (or `limit`). One limiter per destination,
 * so a slow NAS never holds slots another store could use.
 */
export function withLimit(inner: StorageAdapter, limit = inner.capabilities.maxConnections): StorageAdapter {
  const slot = pLimit(Math.max(1, limit));
  return {
    id: inner.id,
    capabilities: inner.capabilities,
    put: (key, src, signal) => slot(() => inner.put(key, src, signal)),
    // A get holds its slot only until the stream is open; reading it is the caller's business.
    get: (key, signal, from) => slot(() => inner.get(key, signal, from)),
    stat: (key, signal) => slot(() => inner.stat(key, signal)),
    async *list(prefix, signal) {
      yield* await slot(() => collect(inner.list(prefix, signal)));
    },
    delete: (key, signal) => slot(() => inner.delete(key, signal)),
    sweepTemporary: (prefix, olderThan, signal) => slot(() => inner.sweepTemporary(prefix, olderThan, signal)),
    close: () => inner.close(),
  };
}
