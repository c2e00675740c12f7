/** Keys as remote paths under the root, and the folders that hold them. */
import { posix } from "node:path";
import type { Stats } from "ssh2";
import { DestinationConfigError, NotFoundError, assertSafeKey } from "../errors.js";
import { SFTP, sftpCode, type Ctx } from "./errors.js";
import { req, type Session, type SftpContext } from "./session.js";
import { DIR_MODE } from "./options.js";

export function remotePath(cx: SftpContext, key: string, op: string): string {
  assertSafeKey(key, { adapter: cx.id, op });
  return cx.root === "/" ? `/${key}` : `${cx.root}/${key}`;
}

export function keyOf(cx: SftpContext, full: string): string {
  return full.slice(cx.root === "/" ? 1 : cx.root.length + 1);
}

/** mkdir -p. Not cached: one stat per put keeps a folder removed behind our back from breaking puts. */
export async function ensureDir(s: Session, dir: string, ctx: Ctx): Promise<void> {
  let st: Stats | undefined;
  try {
    st = await req<Stats>(s, (cb) => s.sftp.stat(dir, cb));
  } catch (err) {
    if (sftpCode(err) !== SFTP.NO_SUCH_FILE) throw err;
  }
  if (st && !st.isDirectory()) {
    throw new DestinationConfigError(`${dir} exists on the server but is not a folder`, ctx);
  }
  if (!st) {
    const parent = posix.dirname(dir);
    if (parent !== dir) await ensureDir(s, parent, ctx);
    try {
      await req<void>(s, (cb) => s.sftp.mkdir(dir, { mode: DIR_MODE }, cb));
    } catch (err) {
      // Another writer may have made it meanwhile (OpenSSH answers FAILURE for EEXIST).
      const again = await req<Stats>(s, (cb) => s.sftp.stat(dir, cb)).catch(() => undefined);
      if (!again?.isDirectory()) throw err;
      return;
    }
    // The server's umask filtered the mode above. Best effort, as for files (upload.ts).
    await req<void>(s, (cb) => s.sftp.chmod(dir, DIR_MODE, cb)).catch(() => undefined);
  }
}

/** The root must already be there (see AdapterDeps.createRoot). */
export async function requireDir(s: Session, dir: string, ctx: Ctx): Promise<void> {
  const st = await req<Stats>(s, (cb) => s.sftp.stat(dir, cb)).catch((err) => {
    if (sftpCode(err) !== SFTP.NO_SUCH_FILE) throw err;
    throw new NotFoundError(`the folder ${dir} does not exist on the server`, ctx);
  });
  if (!st.isDirectory()) throw new DestinationConfigError(`${dir} exists on the server but is not a folder`, ctx);
}
