/**
 * Uploads: to a hidden temp name beside the key, by fastPut (verified) or our
 * sequential writer, then committed by posix-rename (see index.ts).
 */
import { randomInt } from "node:crypto";
import { createReadStream } from "node:fs";
import { open as openLocal } from "node:fs/promises";
import { posix } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Stats } from "ssh2";
import type { BlobSource, ObjectInfo } from "../types.js";
import { ChecksumMismatchError, PermanentError } from "../errors.js";
import { tempNameFor } from "../files.js";
import { awaitCommit } from "../commitGate.js";
import { progressOf } from "../progress.js";
import { HashingCounter, hashStream } from "../streams.js";
import { withSession } from "./connection.js";
import { readFully, readRemote } from "./download.js";
import { SFTP, sftpCode, type Ctx } from "./errors.js";
import { ensureDir, remotePath } from "./folders.js";
import { FASTPUT, FASTPUT_MIN_BYTES, FILE_MODE, REQUEST_BYTES, SPOT_CHECK_BYTES, SPOT_CHECK_WINDOWS } from "./options.js";
import { race, req, useParallel, type Session, type SftpContext } from "./session.js";

/** The adapter's put. */
export async function putObject(cx: SftpContext, key: string, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo> {
  const { log } = cx;
  const full = remotePath(cx, key, "put");
  const ctx: Ctx = { adapter: cx.id, op: "put", key };
  const dir = posix.dirname(full);
  const tmp = `${dir}/${tempNameFor(posix.basename(full), cx.randomId)}`;
  return withSession(cx, ctx, signal, async (s) => {
    let committed = false;
    try {
      await ensureDir(s, dir, ctx);
      let how = "sequential";
      const localPath = src.localPath;
      if (localPath && useParallel(cx, s) && !cx.fastPutDisabled && src.size >= FASTPUT_MIN_BYTES) {
        const progress = progressOf(src);
        const step = (sent: number) => progress.report(sent);
        const [, local] = await Promise.all([
          race(s, s.client.fastPut(localPath, tmp, { ...FASTPUT, mode: FILE_MODE, step })),
          hashStream(createReadStream(localPath, { highWaterMark: 1 << 20 })),
        ]);
        checkSent(local.size, local.sha256, src, ctx);
        const problem = await verifyFastPut(s, { ...src, localPath }, tmp);
        how = "fastPut";
        if (!problem) progress.done(src.size);
        if (!problem) await fsyncRemote(s, tmp);
        if (problem) {
          cx.fastPutDisabled = true;
          how = "sequential after a failed fastPut check";
          log.warn(
            { key, problem, server: s.software || "unknown" },
            `fastPut left a bad copy on this server (${problem}); uploading again sequentially, and staying sequential (set transfer: sequential to skip the attempt)`,
          );
          await req<void>(s, (cb) => s.sftp.unlink(tmp, cb));
        }
      }
      if (how !== "fastPut") {
        const sent = await uploadSequential(s, src, tmp, ctx, signal);
        checkSent(sent.bytes, sent.sha256, src, ctx);
      }
      await awaitCommit(src, ctx);
      await commit(s, tmp, full);
      committed = true;
      log.debug({ key, size: src.size, transfer: how, fsync: s.fsync }, "sftp put committed");
      const st = await req<Stats>(s, (cb) => s.sftp.stat(full, cb));
      // The server stamped this mtime with its own clock: the run compares it with this host's.
      const modifiedAt = new Date(st.mtime * 1000);
      return { key, size: st.size, modifiedAt, storeTime: modifiedAt, durable: s.fsync };
    } finally {
      if (!committed) {
        if (s.alive) {
          await req<void>(s, (cb) => s.sftp.unlink(tmp, cb)).catch((err) => {
            if (sftpCode(err) !== SFTP.NO_SUCH_FILE) cx.orphans.add(tmp);
          });
        } else {
          cx.orphans.add(tmp); // removed on reconnect; sweepTemporary is the backstop
        }
      }
    }
  });
}

async function uploadSequential(s: Session, src: BlobSource, tmp: string, ctx: Ctx, signal?: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const handle = await req<Buffer>(s, (cb) => s.sftp.open(tmp, "wx", { mode: FILE_MODE }, cb));
  // The server's umask filtered the mode asked for at open (fastPut sets it the same way). Best
  // effort: a server that refuses SETSTAT (some NAS and Windows servers) keeps its own permissions.
  await req<void>(s, (cb) => s.sftp.fchmod(handle, FILE_MODE, cb)).catch(() => undefined);
  const counter = new HashingCounter();
  let pos = 0;
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (all: boolean) => {
      while (pendingBytes >= REQUEST_BYTES || (all && pendingBytes > 0)) {
        const buf = pending.length === 1 ? pending[0] : Buffer.concat(pending);
        const n = Math.min(REQUEST_BYTES, buf.length);
        await req<void>(s, (cb) => s.sftp.write(handle, buf, 0, n, pos, (err) => cb(err)));
        pos += n;
        pending = n < buf.length ? [buf.subarray(n)] : [];
        pendingBytes -= n;
      }
    };
    await pipeline(
      src.open(),
      counter,
      async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) {
          // Stop early rather than send a source that is already too long.
          if (counter.bytes > src.size) throw new PermanentError(`source is longer than its declared ${src.size} bytes`, ctx);
          pending.push(chunk);
          pendingBytes += chunk.length;
          await flush(false);
        }
        await flush(true);
      },
      { signal },
    );
    // The bytes reach the server's disk before the rename publishes them (a close alone does not flush).
    if (s.fsync) await req<void>(s, (cb) => s.sftp.ext_openssh_fsync(handle, (err) => cb(err)));
  } finally {
    if (s.alive) await req<void>(s, (cb) => s.sftp.close(handle, cb)).catch(() => undefined);
  }
  return { bytes: counter.bytes, sha256: counter.digest() };
}

/**
 * fastPut opens and closes its own handle, so its file is flushed through a
 * handle of ours. OpenSSH's sftp-server fsyncs any file handle, a read-only
 * one too (fsync(2) flushes the file, not the descriptor).
 */
async function fsyncRemote(s: Session, file: string): Promise<void> {
  if (!s.fsync) return;
  const handle = await req<Buffer>(s, (cb) => s.sftp.open(file, "r", cb));
  try {
    await req<void>(s, (cb) => s.sftp.ext_openssh_fsync(handle, (err) => cb(err)));
  } finally {
    if (s.alive) await req<void>(s, (cb) => s.sftp.close(handle, cb)).catch(() => undefined);
  }
}

/**
 * The cheaper proof after a fastPut, and why it is enough:
 * - the local file is hashed alongside the upload and must match the
 *   source's size and SHA-256 (staged artifacts do not change while shipped);
 * - fastPut resolves only after every WRITE was acknowledged with OK;
 * - the remote size must match (catches truncation, the usual failure);
 * - OpenSSH's sftp-server writes each request at its offset (pwrite
 *   semantics) and handles requests in order, so the silent corruption
 *   reported against fastPut comes from other servers. On OpenSSH we
 *   compare 8 windows (first, last, 6 random) byte for byte, catching a
 *   server that ignores offsets; on anything else, the whole file is read
 *   back sequentially and hashed.
 * The backup's own verify step (DESIGN step 4) re-reads committed copies anyway.
 */
async function verifyFastPut(s: Session, src: BlobSource & { localPath: string }, tmp: string): Promise<string | undefined> {
  const handle = await req<Buffer>(s, (cb) => s.sftp.open(tmp, "r", cb));
  try {
    const st = await req<Stats>(s, (cb) => s.sftp.fstat(handle, cb));
    if (st.size !== src.size) return `remote size ${st.size}, expected ${src.size}`;
    if (!s.openssh) {
      const { sha256, size } = await hashStream(readRemote(s, handle, src.size, 1));
      return sha256 === src.sha256 && size === src.size ? undefined : `read-back SHA-256 ${sha256}, expected ${src.sha256}`;
    }
    const local = await openLocal(src.localPath, "r");
    try {
      const last = Math.max(0, src.size - SPOT_CHECK_BYTES);
      const offsets = new Set([0, last]);
      while (offsets.size < SPOT_CHECK_WINDOWS && offsets.size < Math.ceil(src.size / SPOT_CHECK_BYTES)) {
        offsets.add(randomInt(0, last + 1));
      }
      for (const at of offsets) {
        const len = Math.min(SPOT_CHECK_BYTES, src.size - at);
        const mine = Buffer.alloc(len);
        await local.read(mine, 0, len, at);
        const theirs = await readFully(s, handle, at, len);
        if (!mine.equals(theirs)) return `bytes at offset ${at} differ from the local file`;
      }
      return undefined;
    } finally {
      await local.close();
    }
  } finally {
    if (s.alive) await req<void>(s, (cb) => s.sftp.close(handle, cb)).catch(() => undefined);
  }
}

async function commit(s: Session, tmp: string, full: string): Promise<void> {
  if (s.posixRename) {
    await req<void>(s, (cb) => s.sftp.ext_openssh_rename(tmp, full, cb));
    return;
  }
  // SFTP v3 rename refuses an existing target: delete first (not atomic, reported in capabilities).
  await req<void>(s, (cb) => s.sftp.unlink(full, cb)).catch((err) => {
    if (sftpCode(err) !== SFTP.NO_SUCH_FILE) throw err;
  });
  await req<void>(s, (cb) => s.sftp.rename(tmp, full, cb));
}

function checkSent(bytes: number, sha256: string, src: BlobSource, ctx: Ctx): void {
  if (bytes !== src.size) {
    throw new PermanentError(`sent ${bytes} bytes, expected ${src.size}`, ctx);
  }
  if (sha256 !== src.sha256) {
    throw new ChecksumMismatchError(`source bytes hash to ${sha256}, expected ${src.sha256}`, { ...ctx, expected: src.sha256, actual: sha256 });
  }
}
