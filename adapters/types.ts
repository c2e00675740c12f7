import type { Readable } from "node:stream";
import type { Logger } from "pino";

/**
 * A replayable, pre-hashed source of bytes. Retries call `open()` again, so a
 * failed attempt never leaves the next one with a half-consumed stream
 * (the same idea as restic's RewindReader).
 */
export interface BlobSource {
  open(): Readable;
  /** Exact byte length; adapters refuse to commit anything else. */
  readonly size: number;
  /** Lower-case hex SHA-256 of the bytes `open()` yields. */
  readonly sha256: string;
  /**
   * Where the bytes live on the local disk, when they do. Adapters whose
   * fastest transfer works from a path (sftp fastPut) may use it; all must
   * work without it.
   */
  readonly localPath?: string;
  /**
   * Held commit (adapters/commitGate.ts): when set, the adapter writes to its
   * temporary place, then awaits this before the bytes become `key`; a
   * rejection fails the put and removes what was written. Lets a backup ship
   * while its checks still run, and publish only what passed them.
   */
  readonly beforeCommit?: () => Promise<void>;
  /**
   * Bytes sent so far, for a live progress line. Called by the adapter, at
   * most about ten times a second (adapters/progress.ts), for transfers it
   * makes from `localPath` itself; bytes read through `open()` are the
   * caller's to count. A retry starts again from 0. Never affects the put.
   */
  readonly onProgress?: (bytesSoFar: number) => void;
}

/** A destination's file system, as statvfs tells it: bytes an unprivileged writer may still use, and the total. */
export interface FreeSpace {
  free: number;
  size: number;
}

export interface ObjectInfo {
  /** Key relative to the adapter's root, always with forward slashes. */
  key: string;
  size: number;
  modifiedAt: Date;
  /**
   * The SHA-256 recorded with the object (S3 metadata written by us), when
   * the store keeps one: a mismatch shows the object is not what was written,
   * but a match proves nothing (we wrote both).
   */
  sha256?: string;
  /**
   * A SHA-256 the store itself computed over the bytes it received (S3's
   * full-object checksum): the `store-checksum` proof level.
   */
  storeSha256?: string;
  /** Object Lock retain-until, for stores that lock objects (S3). */
  lockedUntil?: Date;
  /**
   * Returned by `put` only, and only by a store with a clock of its own (S3:
   * the Last-Modified it gave the object; SFTP: the mtime the server stamped
   * on the file): the store's time of the write. Lets a run notice that this
   * host's clock is off before retention measures anything from it. A local
   * folder shares the host's clock and leaves it out.
   */
  storeTime?: Date;
  /**
   * put only: true when the store confirmed the bytes reached stable storage
   * before the commit (local fsync, SFTP fsync@openssh.com, S3's own
   * acknowledgement); false when it could not be asked (an SFTP server
   * without the extension). Left out by stores that make no claim.
   */
  durable?: boolean;
}

export interface AdapterCapabilities {
  /** How many operations the store should see at once from us. */
  maxConnections: number;
  /**
   * True when `stat` knows more than `list` yields (a checksum, an Object
   * Lock date): inventories then stat each artifact; otherwise the listing
   * is all there is to know, and no second round trip is made.
   */
  statAddsDetails: boolean;
}

/**
 * The whole storage interface every destination implements. Keys are
 * relative (`<db>/<file>`); the adapter maps them under its root. Retry,
 * limits, logging and dry-run are wrappers (adapters/wrap), never inside an
 * adapter, with one exception: S3 retries each request of a multipart
 * upload inside that upload (only it can), by the policy openAdapter passes,
 * and marks what it gives up on TransientError.retriesSpent.
 */
export interface StorageAdapter {
  /** e.g. "local:/backup/sqlite", used in logs and reports. Never holds secrets. */
  readonly id: string;
  readonly capabilities: AdapterCapabilities;
  /** Write to a temporary name, check the size, then commit under `key`. */
  put(key: string, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo>;
  /**
   * Stream a committed object, from byte `from` (default 0) to its end: a
   * download that broke off resumes there. Throws NotFoundError.
   */
  get(key: string, signal?: AbortSignal, from?: number): Promise<Readable>;
  /** Throws NotFoundError. */
  stat(key: string, signal?: AbortSignal): Promise<ObjectInfo>;
  /** Committed objects under `prefix`; never yields temporary names. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string, signal?: AbortSignal): Promise<void>;
  /**
   * Remove this adapter's own leftovers of interrupted writes (temp files,
   * unfinished multipart uploads) under `prefix` that are older than
   * `olderThan`. Returns what was removed, for the report.
   */
  sweepTemporary(prefix: string, olderThan: Date, signal?: AbortSignal): Promise<string[]>;
  /**
   * Optional: free and total bytes where the store can tell (a local folder's
   * statfs, SFTP's statvfs@openssh.com); undefined when this server cannot.
   * Left out by stores with no such figure (S3).
   */
  freeSpace?(signal?: AbortSignal): Promise<FreeSpace | undefined>;
  close(): Promise<void>;
}

/** What every adapter factory receives; nothing is read from globals. */
export interface AdapterDeps {
  logger: Logger;
  /** Random suffixes for temp names; injectable for tests. */
  randomId?: () => string;
  /**
   * May the adapter create its root folder when it is missing? Only for
   * `backup --init` (src/ always says which): otherwise a missing root is a
   * NotFoundError at open, because a backup folder that is not there is
   * usually a disk or NAS volume that is not mounted, and must never look
   * like an empty, healthy one. Default true, for callers outside a run.
   */
  createRoot?: boolean;
}
