import type { Logger } from "pino";
import type { StorageAdapter } from "../types.js";

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
      log.debug({ op, key, ms: Math.round(performance.now() - started), err: describe(err) }, `${op} failed`);
      throw err;
    }
  };
  return {
    id: inner.id,
    capabilities: inner.capabilities,
    put: (key, src, signal) => timed("put", key, () => inner.put(key, src, signal), { bytes: src.size }),
    get: (key, signal, from) => timed("get", key, () => inner.get(key, signal, from)),
    stat: (key, signal) => timed("stat", key, () => inner.stat(key, signal)),
    async *list(prefix, signal) {
      let n = 0;
      for await (const o of inner.list(prefix, signal)) {
        n++;
        yield o;
      }
      log.debug({ op: "list", prefix, count: n }, "list ok");
    },
    delete: (key, signal) => timed("delete", key, () => inner.delete(key, signal)),
    sweepTemporary: (prefix, olderThan, signal) => timed("sweepTemporary", prefix, () => inner.sweepTemporary(prefix, olderThan, signal)),
    close: () => inner.close(),
  };
}

/** Error summary for logs: class and message only (messages never carry secrets). */
export function describe(err: unknown): { type: string; message: string; code?: string } {
  if (err instanceof Error) return { type: err.name, message: err.message, code: (err as { code?: string }).code };
  return { type: typeof err, message: String(err) };
}
