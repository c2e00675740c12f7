/** Reading remote files: 255 KiB READs, several in flight on OpenSSH (see the measurements in index.ts). */
import { Readable } from "node:stream";
import type { Stats } from "ssh2";
import { mapError, type Ctx } from "./errors.js";
import { withSession } from "./connection.js";
import { remotePath } from "./folders.js";
import { PARALLEL_READS, REQUEST_BYTES } from "./options.js";
import { req, useParallel, type Session, type SftpContext } from "./session.js";

/** The adapter's get: a stream of the file from byte `from` to its end. */
export async function openRead(cx: SftpContext, key: string, signal?: AbortSignal, from = 0): Promise<Readable> {
  const full = remotePath(cx, key, "get");
  const ctx: Ctx = { adapter: cx.id, op: "get", key };
  // Open eagerly so a missing file is a NotFoundError here, not a stream error later.
  const { s, handle, size } = await withSession(cx, ctx, signal, async (s) => {
    const handle = await req<Buffer>(s, (cb) => s.sftp.open(full, "r", cb));
    try {
      const st = await req<Stats>(s, (cb) => s.sftp.fstat(handle, cb));
      return { s, handle, size: st.size };
    } catch (err) {
      await req<void>(s, (cb) => s.sftp.close(handle, cb)).catch(() => undefined);
      throw err;
    }
  });
  const inflight = useParallel(cx, s) ? PARALLEL_READS : 1;
  async function* body(): AsyncGenerator<Buffer> {
    try {
      yield* readRemote(s, handle, size, inflight, from);
    } catch (err) {
      throw mapError(err, ctx, s);
    } finally {
      if (s.alive) await req<void>(s, (cb) => s.sftp.close(handle, cb)).catch(() => undefined);
    }
  }
  return Readable.from(body(), { objectMode: false });
}

/** Reads exactly `len` bytes at `at` (servers may answer a READ with fewer). */
export async function readFully(s: Session, handle: Buffer, at: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = await req<number>(s, (cb) => s.sftp.read(handle, buf, got, len - got, at + got, (err, bytes) => cb(err, bytes)));
    if (!n) throw new Error(`file ended at ${at + got} bytes, before the ${at + len} its size promised`);
    got += n;
  }
  return buf;
}

/** The first `size` bytes of an open file, in order, with up to `inflight` READs outstanding. */
export async function* readRemote(s: Session, handle: Buffer, size: number, inflight: number, from = 0): AsyncGenerator<Buffer> {
  let next = from;
  const queue: Promise<Buffer>[] = [];
  const issue = () => {
    const at = next;
    const len = Math.min(REQUEST_BYTES, size - at);
    next += len;
    const p = readFully(s, handle, at, len);
    p.catch(() => undefined); // awaited in order below; a consumer that stops early leaves some unread
    queue.push(p);
  };
  while (next < size && queue.length < inflight) issue();
  while (queue.length) {
    const buf = await queue.shift()!;
    if (next < size) issue();
    yield buf;
  }
}
