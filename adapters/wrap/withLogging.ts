import type { Logger } from "pino";
import type { StorageAdapter } from "../types.js";
import { aroundEachCall } from "./forward.js";
import { describeError } from "../errors.js";

/**
 * Logs every operation with its duration through a child logger carrying
 * `{adapter: id}`. Placed inside withRetry, so each attempt is its own line.
 */
export function withLogging(inner: StorageAdapter, logger: Logger): StorageAdapter {
  const log = logger.child({ adapter: inner.id });
  const timed = async <T>(op: string, key: string, fn: () => Promise<T>, extra: object = {}): Promise<T> => {
    const started = performance.now();
    try {
      const result = await fn();
      log.debug({ op, key, ms: Math.round(performance.now() - started), ...extra }, `${op} ok`);
      return result;
    } catch (err) {
      log.debug({ op, key, ms: Math.round(performance.now() - started), err: describeError(err) }, `${op} failed`);
      throw err;
    }
  };
  return {
    ...aroundEachCall(inner, (op, key, signal, call) => timed(op, key, () => call(signal))),
    put: (key, src, signal) => timed("put", key, () => inner.put(key, src, signal), { bytes: src.size }),
    // Passed through as it streams (withRetry, outside, collects it whole); the line says how many went by.
    async *list(prefix, signal) {
      let n = 0;
      for await (const o of inner.list(prefix, signal)) {
        n++;
        yield o;
      }
      log.debug({ op: "list", prefix, count: n }, "list ok");
    },
  };
}
