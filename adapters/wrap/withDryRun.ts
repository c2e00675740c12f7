import type { ObjectInfo, StorageAdapter } from "../types.js";
import { forward } from "./forward.js";

/**
 * `--dry-run` for free (restic's dryrun backend): reads pass through, writes
 * and deletes are reported to `onWrite` and dropped.
 */
export function withDryRun(
  inner: StorageAdapter,
  onWrite: (op: "put" | "delete" | "sweepTemporary", key: string) => void = () => undefined,
): StorageAdapter {
  return {
    ...forward(inner),
    async put(key, src): Promise<ObjectInfo> {
      onWrite("put", key);
      return { key, size: src.size, modifiedAt: new Date(), sha256: src.sha256 };
    },
    async delete(key) {
      onWrite("delete", key);
    },
    async sweepTemporary(prefix) {
      onWrite("sweepTemporary", prefix);
      return [];
    },
  };
}
