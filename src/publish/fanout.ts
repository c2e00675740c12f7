/** publish/: one destination gets the artifact, proves it by reading it back, then the manifest (the commit marker). */
import type { BlobSource, StorageAdapter } from "../../adapters/types.js";
import { AdapterError, ChecksumMismatchError, describeError } from "../../adapters/errors.js";
import { readBackSha256 } from "../catalog/inventory.js";
import { recordProof, type RecordedLevel } from "../verify/proofs.js";
import { readClocks, type ClockReading } from "../guard/clock.js";

/**
 * `would-ship`: a dry run, where nothing was written and so nothing was proven.
 * `unchanged`: the source equals a copy already there; nothing uploaded (backup/unchanged.ts).
 */
export type PublishStatus = "verified" | "failed" | "would-ship" | "unchanged";
export type Durability = "confirmed" | "not confirmed";

export interface PublishResult {
  status: PublishStatus;
  bytes: number;
  durationMs: number;
  /** Upload plus read-back, in MB/s of artifact bytes. */
  mbPerSec: number | null;
  lockedUntil?: Date;
  /** The proof this run recorded beside the copy (every verified copy was read back whole). */
  proof?: { level: RecordedLevel; at: string };
  /** The copy was proven but its proof object could not be written: later runs will see it as `present`. */
  proofError?: string;
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
  /** This host's clock and the store's around the artifact's write, where the store has a clock of its own. */
  clock?: ClockReading;
}

export interface PublishItem {
  db: string;
  snapshotId: string;
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
/** What a proof record says about who made it. */
export interface ProofAuthor {
  clock: () => Date;
  hostname: string;
  toolVersion: string;
  randomHex: (bytes: number) => string;
}

export async function publishToDestination(
  adapter: StorageAdapter,
  item: PublishItem,
  opts: { dryRun: boolean; signal?: AbortSignal; author: ProofAuthor },
): Promise<PublishResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const clock = opts.author.clock;
  // Bytes are what would be shipped; nothing is written, so nothing here may count as a copy.
  if (opts.dryRun) return { status: "would-ship", bytes: item.artifact.size, durationMs: 0, mbPerSec: null };
  try {
    const hostBefore = clock();
    const put = await adapter.put(item.artifactKey, item.artifact, opts.signal);
    const reading = put.storeTime ? readClocks(hostBefore, clock(), put.storeTime) : undefined;
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
    const result: PublishResult = {
      status: "verified",
      bytes: item.artifact.size,
      durationMs: ms,
      mbPerSec: ms > 0 ? round((item.artifact.size / 1e6) / (ms / 1000)) : null,
      lockedUntil: put.lockedUntil,
      ...(reading ? { clock: reading } : {}),
      durability: put.durable === true && manifestPut.durable === true ? "confirmed" : "not confirmed",
    };
    return { ...result, ...(await recordReadBack(adapter, item, ms, opts.author, opts.signal)) };
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

/**
 * The read-back just done, recorded beside the copy. A proof that cannot be
 * written does not undo the copy (its bytes were proven), but the report says
 * so: later runs will only see the copy as present.
 */
async function recordReadBack(adapter: StorageAdapter, item: PublishItem, durationMs: number, author: ProofAuthor, signal?: AbortSignal): Promise<Pick<PublishResult, "proof" | "proofError">> {
  const at = author.clock().toISOString();
  try {
    await recordProof(
      adapter,
      { db: item.db, snapshotId: item.snapshotId, level: "read-back", ok: true, at, artifactSha256: item.artifact.sha256, host: author.hostname, toolVersion: author.toolVersion, durationMs },
      author.randomHex(4),
      signal,
    );
    return { proof: { level: "read-back", at } };
  } catch (err) {
    return { proofError: `the copy was read back and matches, but its proof could not be recorded: ${describeError(err).message}` };
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
