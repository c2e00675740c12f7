import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { BlobSource, ObjectInfo, StorageAdapter } from "./types.js";
import { AdapterError, ChecksumMismatchError, NotFoundError, PermanentError, TransientError, assertSafeKey } from "./errors.js";
import type { CallOp } from "./wrap/forward.js";
import { awaitCommit } from "./commitGate.js";

/** One call the adapter received; `key` is the prefix for list and sweepTemporary. */
export interface MemoryCall {
  op: CallOp;
  key: string;
  /** For get: the byte it was asked to start at. */
  from?: number;
}

/**
 * What a fault hook may do to a download: deliver the object up to byte `at`
 * (counted from its start, not from `from`), then fail with `error`, or,
 * without one, stop sending and never end (a disk that hangs behind a live
 * server).
 */
export interface BrokenDownload {
  at: number;
  error?: Error;
}

export interface MemoryOptions {
  /** The id is `memory:<name>`. */
  name?: string;
  maxConnections?: number;
  /** When true, stat returns the sha256 and list does not, as S3 does; otherwise neither does. */
  statAddsDetails?: boolean;
  /** Gives each committed object its modifiedAt. */
  now?: () => Date;
  /** A store with a clock of its own: put returns its reading as `storeTime` (as S3 and SFTP do). */
  storeClock?: () => Date;
  /**
   * Consulted on every call, after failNext: an Error fails the call at once;
   * a BrokenDownload (get only) opens the download and breaks it off.
   */
  fault?: (call: MemoryCall) => Error | BrokenDownload | undefined;
}

export interface MemoryAdapter extends StorageAdapter {
  /** Every call so far, in order, including those that failed. */
  readonly calls: readonly MemoryCall[];
  /**
   * The next call (of kind `op`, when given) fails with `error`, by default a
   * TransientError, so a wrapper would retry it. Queued: call it twice to
   * fail two calls.
   */
  failNext(op?: CallOp, error?: Error): void;
  readonly closed: boolean;
}

interface Stored {
  bytes: Buffer;
  info: ObjectInfo;
}

/** Downloads arrive in pieces of this size, as from a socket, so backpressure and resumes are exercised. */
const CHUNK = 64 * 1024;

/**
 * A complete StorageAdapter that keeps objects in a Map (restic's mem
 * backend), for tests of the core and of the wrappers: the same commit
 * rules as the real adapters, a record of calls, and faults on demand.
 * A put commits only once every byte arrived and matched the source, so it
 * never needs temporary names and sweepTemporary finds nothing.
 */
export function createMemoryAdapter(options: MemoryOptions = {}): MemoryAdapter {
  const id = `memory:${options.name ?? "default"}`;
  const now = options.now ?? (() => new Date());
  const statAddsDetails = options.statAddsDetails ?? false;
  const objects = new Map<string, Stored>();
  const { calls, failNext, enter } = callGate(id, options.fault);
  let closed = false;

  const find = (op: CallOp, key: string): Stored => {
    const found = objects.get(key);
    if (!found) throw new NotFoundError("no such object", { adapter: id, op, key });
    return found;
  };

  /** What list yields, and what put and stat give unless `statAddsDetails`. */
  const withoutSha = ({ sha256: _known, ...rest }: ObjectInfo): ObjectInfo => rest;

  return {
    id,
    capabilities: { maxConnections: options.maxConnections ?? 4, statAddsDetails },
    calls,
    failNext,
    get closed() {
      return closed;
    },

    async put(key: string, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo> {
      enter({ op: "put", key }, signal);
      const { bytes, sha256 } = await receive(src, { adapter: id, op: "put", key }, signal);
      await awaitCommit(src, { adapter: id, op: "put", key });
      const info: ObjectInfo = { key, size: bytes.length, modifiedAt: now(), sha256 };
      objects.set(key, { bytes, info });
      const written = statAddsDetails ? { ...info } : withoutSha(info);
      return options.storeClock ? { ...written, storeTime: options.storeClock() } : written;
    },

    async get(key: string, signal?: AbortSignal, from = 0): Promise<Readable> {
      const broken = enter({ op: "get", key, from }, signal);
      return download(find("get", key).bytes, from, broken);
    },

    async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
      enter({ op: "stat", key }, signal);
      const { info } = find("stat", key);
      return statAddsDetails ? { ...info } : withoutSha(info);
    },

    async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
      enter({ op: "list", key: prefix }, signal);
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      for (const k of keys) {
        const found = objects.get(k);
        if (found) yield withoutSha(found.info);
      }
    },

    async delete(key: string, signal?: AbortSignal): Promise<void> {
      enter({ op: "delete", key }, signal);
      objects.delete(key);
    },

    async sweepTemporary(prefix: string, _olderThan: Date, signal?: AbortSignal): Promise<string[]> {
      enter({ op: "sweepTemporary", key: prefix }, signal);
      return [];
    },

    async close(): Promise<void> {
      closed = true;
    },
  };
}

/**
 * The call record and the faults asked for. Every method enters through
 * `enter`, which records the call and throws its fault, or returns the
 * BrokenDownload a get should suffer.
 */
function callGate(id: string, fault: MemoryOptions["fault"]) {
  const calls: MemoryCall[] = [];
  const queued: { op?: CallOp; error?: Error }[] = [];
  return {
    calls,
    failNext(op?: CallOp, error?: Error): void {
      queued.push({ op, error });
    },
    enter(call: MemoryCall, signal?: AbortSignal): BrokenDownload | undefined {
      calls.push(call);
      signal?.throwIfAborted();
      if (call.op !== "list" && call.op !== "sweepTemporary") assertSafeKey(call.key, { adapter: id, op: call.op });
      const next = queued.findIndex((q) => q.op === undefined || q.op === call.op);
      if (next >= 0) {
        const [q] = queued.splice(next, 1);
        throw q!.error ?? new TransientError("injected fault", { adapter: id, op: call.op, key: call.key });
      }
      const chosen = fault?.(call);
      if (chosen instanceof Error) throw chosen;
      if (chosen && call.op !== "get") throw new Error(`a BrokenDownload fault only applies to get, not ${call.op}`);
      return chosen;
    },
  };
}

/**
 * Every byte the source yields, checked against its size and sha256 as the
 * real adapters check before they commit. A source that fails mid-way fails
 * the put.
 */
async function receive(src: BlobSource, ctx: { adapter: string; op: string; key: string }, signal?: AbortSignal): Promise<{ bytes: Buffer; sha256: string }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of src.open()) {
      signal?.throwIfAborted();
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    }
  } catch (err) {
    throw err instanceof AdapterError ? err : new PermanentError((err as Error)?.message ?? String(err), { ...ctx, cause: err });
  }
  const bytes = Buffer.concat(chunks);
  if (bytes.length !== src.size) throw new PermanentError(`wrote ${bytes.length} bytes, expected ${src.size}`, ctx);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (sha256 !== src.sha256) {
    throw new ChecksumMismatchError(`source bytes hash to ${sha256}, expected ${src.sha256}`, { ...ctx, expected: src.sha256, actual: sha256 });
  }
  return { bytes, sha256 };
}

/** The bytes from `from` on, in CHUNK pieces, broken off at `broken.at` when asked. */
function download(bytes: Buffer, from: number, broken: BrokenDownload | undefined): Readable {
  const end = broken ? Math.min(broken.at, bytes.length) : bytes.length;
  let at = Math.min(from, bytes.length);
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (at < end) {
        const piece = bytes.subarray(at, Math.min(end, at + CHUNK));
        at += piece.length;
        this.push(piece);
      } else if (!broken) {
        this.push(null);
      } else if (broken.error) {
        this.destroy(broken.error);
      }
      // Broken without an error: push nothing more, and the download hangs.
    },
  });
}
