import pLimit from "p-limit";
import { finished, type Readable } from "node:stream";
import type { StorageAdapter } from "../types.js";
import { aroundEachCall } from "./forward.js";

/**
 * Caps concurrent operations on one destination at its
 * `capabilities.maxConnections` (or `limit`). One limiter per destination,
 * so a slow NAS never holds slots another store could use.
 *
 * A download is a connection for as long as its bytes flow, so a get holds
 * its slot until the stream ends, fails or is destroyed (a consumer that
 * gives up, a for-await left early), not merely until it is open: otherwise
 * restores, deep checks and read-backs are not bounded at all. A consumer
 * must therefore read or destroy every stream it opens. withRetry's resume
 * opens the next stream only after the broken one failed, so it never waits
 * on its own slot.
 */
export function withLimit(inner: StorageAdapter, limit = inner.capabilities.maxConnections): StorageAdapter {
  const slot = pLimit(Math.max(1, limit));
  return {
    ...aroundEachCall(inner, (_op, _key, signal, call) => slot(() => call(signal))),
    get: (key, signal, from) =>
      new Promise<Readable>((resolve, reject) => {
        void slot(async () => {
          let stream: Readable;
          try {
            stream = await inner.get(key, signal, from);
          } catch (err) {
            return reject(err);
          }
          // finished() fires once on end, error or premature close, also for a stream already done.
          const done = new Promise<void>((release) => finished(stream, () => release()));
          resolve(stream);
          await done;
        });
      }),
  };
}
