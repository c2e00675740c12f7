/** Listing the remote tree by key, and sweeping the temp files interrupted puts left in it. */
import type { Stats } from "ssh2";
import type { ObjectInfo } from "../types.js";
import { walkFiles } from "../files.js";
import { withSession } from "./connection.js";
import { SFTP, sftpCode } from "./errors.js";
import { keyOf } from "./folders.js";
import { req, type SftpContext } from "./session.js";

/** Committed files (or, with `temporary`, only our temp files) under root whose key starts with prefix. */
export async function* walk(cx: SftpContext, prefix: string, temporary: boolean, op: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo & { full: string }> {
  const { root } = cx;
  const dirOf = (rel: string) => (rel ? `${root === "/" ? "" : root}/${rel}` : root);
  const readDir = async (rel: string) => {
    const dir = dirOf(rel);
    const entries = await withSession(cx, { adapter: cx.id, op, key: rel || prefix }, signal, async (s) => {
      try {
        return await req<{ filename: string; attrs: Stats }[]>(s, (cb) => s.sftp.readdir(dir, cb));
      } catch (err) {
        if (sftpCode(err) === SFTP.NO_SUCH_FILE) return [];
        throw err;
      }
    });
    entries.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
    return entries.map(({ filename, attrs }) => ({ name: filename, attrs, isDirectory: () => attrs.isDirectory(), isFile: () => attrs.isFile() }));
  };
  for await (const { key, rel, entry } of walkFiles(prefix, temporary, readDir)) {
    const dir = dirOf(rel);
    yield { key, size: entry.attrs.size, modifiedAt: new Date(entry.attrs.mtime * 1000), full: `${dir === "/" ? "" : dir}/${entry.name}` };
  }
}

/** The adapter's sweepTemporary. */
export async function sweepTemporary(cx: SftpContext, prefix: string, olderThan: Date, signal?: AbortSignal): Promise<string[]> {
  const removed: string[] = [];
  for await (const entry of walk(cx, prefix, true, "sweepTemporary", signal)) {
    if (entry.modifiedAt >= olderThan) continue;
    await withSession(cx, { adapter: cx.id, op: "sweepTemporary", key: entry.key }, signal, async (s) => {
      await req<void>(s, (cb) => s.sftp.unlink(entry.full, cb)).catch((err) => {
        if (sftpCode(err) !== SFTP.NO_SUCH_FILE) throw err;
      });
    });
    cx.orphans.delete(entry.full);
    removed.push(keyOf(cx, entry.full));
  }
  return removed;
}
