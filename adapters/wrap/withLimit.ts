import pLimit from "p-limit";
import type { StorageAdapter } from "../types.js";
import { aroundEachCall } from "./forward.js";

/**
 * Caps concurrent operations on one destination at its
 * `capabilities.maxConnections` (or `limit`). One limiter per destination,
 * so a slow NAS never holds slots another store could use.
 */
export function withLimit(inner: StorageAdapter, limit = inner.capabilities.maxConnections): StorageAdapter {
  const slot = pLimit(Math.max(1, limit));
  // A get holds its slot only until the stream is open; reading it is the caller's business.
  return aroundEachCall(inner, (_op, _key, signal, call) => slot(() => call(signal)));
}
