/**
 * Free space on an SFTP destination: OpenSSH's statvfs@openssh.com on the
 * destination's root folder. A server that does not advertise it (most NAS
 * firmware with another SFTP server) has no figure: undefined, never a guess.
 */
import type { FreeSpace } from "../types.js";
import { advertises, withSession } from "./connection.js";
import { req, type SftpContext } from "./session.js";

interface StatVfs {
  f_frsize: number | bigint;
  f_blocks: number | bigint;
  f_bavail: number | bigint;
}

export async function sftpFreeSpace(cx: SftpContext, signal?: AbortSignal): Promise<FreeSpace | undefined> {
  return withSession(cx, { adapter: cx.id, op: "freeSpace", key: "" }, signal, async (s) => {
    if (!advertises(s.sftp, "statvfs@openssh.com", "2")) return undefined;
    const v = await req<StatVfs>(s, (cb) => s.sftp.ext_openssh_statvfs(cx.root, cb as (err: Error | undefined, info: unknown) => void));
    // Blocks are counted in f_frsize units (statvfs(3)); f_bavail leaves out root's reserve.
    const unit = Number(v.f_frsize);
    return { free: Number(v.f_bavail) * unit, size: Number(v.f_blocks) * unit };
  });
}
