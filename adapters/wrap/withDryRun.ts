import type { ObjectInfo, StorageAdapter } from "../types.js";

/**
 * `--dry-run` for free (restic's dryrun backend): reads pass through, writes
 * and deletes are reported to `onWrite` and dropped.
 */
export function withDryRun(
  inner: StorageAdapter,
  onWrite: (op: "put" | "delete" | "sweepTemporary", key: string) => void = () => undefined,
): StorageAdapter {
  return {
    id: inner.id,
    capabilities: inner.capabilities,
    async put(key, src): Promise<ObjectInfo> {
      onWrite("put", key);
      return { key, size: src.size, modifiedAt: new Date(), sha256: src.sha256 };
    },
    get: (key, signal, from) => inner.get(key, signal, from),
    stat: (key, signal) => inner.stat(key, signal),
    list: (prefix, signal) => inner.list(prefix, signal),
    async delete(key) {
      onWrite("delete", key);
    },
    async sweepTemporary(prefix) {
      onWrite("sweepTemporary", prefix);
      return [];
    },
    close: () => inner.close(),
  };
}
