/** publish/: one destination gets the artifact, proves it by reading it back, then the manifest (the commit marker). */
import type { BlobSource, StorageAdapter } from "../../adapters/types.js";
import { AdapterError, ChecksumMismatchError, describeError } from "../../adapters/errors.js";
import { readBackSha256 } from "../catalog/inventory.js";

export type PublishStatus = "verified" | "failed" | "dry-run";
export type Durability = "confirmed" | "not confirmed";

export interface PublishResult {
  status: PublishStatus;
  bytes: number;
  durationMs: number;
  /** Upload plus read-back, in MB/s of artifact bytes. */
  mbPerSec: number | null;
  lockedUntil?: Date;
  /**
   * For a verified copy: "confirmed" when the store said both the artifact
   * and the manifest reached stable storage before they were committed;
   * "not confirmed" when it could not say so (an SFTP server without
   * fsync@openssh.com). The copy was read back either way.
   */
  durability?: Durability;
  /** Set when the bytes on the store were proven wrong (counts as a 3-2-1-1-0 error). */
  verificationFailed?: boolean;
  error?: string;
  errorCode?: string;
}

export interface PublishItem {
  artifactKey: string;
  artifact: BlobSource;
  manifestKey: string;
  /** Built per destination, so it can record that store's Object Lock date. */
  manifest: (lockedUntil?: Date) => BlobSource;
}

/**
 * Puts one snapshot on one destination: the artifact (the adapter commits it
 * atomically), a read-back proving its bytes, then the manifest last. A copy
 * exists only once its manifest does, so a failure anywhere before leaves no
 * copy that could be mistaken for a good one.
 */
export async function publishToDestination(adapter: StorageAdapter, item: PublishItem, opts: { dryRun: boolean; signal?: AbortSignal }): Promise<PublishResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (opts.dryRun) return { status: "dry-run", bytes: 0, durationMs: 0, mbPerSec: null };
  try {
    const put = await adapter.put(item.artifactKey, item.artifact, opts.signal);
    const back = await readBackSha256(adapter, item.artifactKey, opts.signal);
    if (back.size !== item.artifact.size || back.sha256 !== item.artifact.sha256) {
      // Our own key, written a moment ago and listed by no manifest: remove the bad bytes now.
      await adapter.delete(item.artifactKey).catch(() => undefined);
      throw new ChecksumMismatchError(`read back ${back.size} bytes hashing to ${back.sha256}; expected ${item.artifact.size} bytes, ${item.artifact.sha256}`, {
        adapter: adapter.id, op: "verify", key: item.artifactKey, expected: item.artifact.sha256, actual: back.sha256,
      });
    }
    const manifest = item.manifest(put.lockedUntil);
    const manifestPut = await adapter.put(item.manifestKey, manifest, opts.signal);
    const manifestBack = await readBackSha256(adapter, item.manifestKey, opts.signal);
    if (manifestBack.sha256 !== manifest.sha256) {
      throw new ChecksumMismatchError("manifest read back differs from what was written", {
        adapter: adapter.id, op: "verify", key: item.manifestKey, expected: manifest.sha256, actual: manifestBack.sha256,
      });
    }
    const ms = elapsed();
    return {
      status: "verified",
      bytes: item.artifact.size,
      durationMs: ms,
      mbPerSec: ms > 0 ? round((item.artifact.size / 1e6) / (ms / 1000)) : null,
      lockedUntil: put.lockedUntil,
      durability: put.durable === true && manifestPut.durable === true ? "confirmed" : "not confirmed",
    };
  } catch (err) {
    return {
      status: "failed",
      bytes: 0,
      durationMs: elapsed(),
      mbPerSec: null,
      verificationFailed: err instanceof ChecksumMismatchError,
      error: describeError(err).message,
      errorCode: err instanceof AdapterError ? err.code : undefined,
    };
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
