/**
 * The sftp adapter: backups on an SFTP server (a NAS), on ssh2-sftp-client 12 / ssh2 1.17.
 *
 * Commit protocol (litestream sftp/, restic sftp/): upload to a hidden temp
 * name beside the target, check size and SHA-256 of what was sent, then
 * `posix-rename@openssh.com` onto the key (atomic, replaces). Without that
 * extension: delete + rename (logged once at connect as posixRename: false).
 *
 * Division of labour with the library: ssh2-sftp-client owns the connection
 * (connect, end) and fastPut. Everything else goes to the ssh2 SFTPWrapper
 * that `connect()` returns, because the library rewrites SFTP status codes
 * we map on (its `stat` turns FAILURE (4) into ENOENT, its `mkdir` turns
 * FAILURE and NO_SUCH_FILE into ERR_BAD_PATH) and its `put(localPath)` runs at
 * 1.7 MB/s here (MACHINE.md section 3), so it is never used.
 *
 * Transfers (measured on loopback against OpenSSH 9.2, 50 MB, noisy 2-core box):
 * - fastPut(localPath), 8 x 255 KiB requests in flight: 190-280 MB/s. Used
 *   when `transfer` is "parallel", or "auto" and the server identifies as
 *   OpenSSH, and the source has a localPath and is big enough to matter.
 *   fastPut is known to corrupt or truncate on some non-OpenSSH servers
 *   (ssh2-sftp-client issues #380 #461 #582), so every fastPut is verified
 *   before commit (see verifyFastPut in upload.ts) and a failed check falls back to one
 *   sequential upload, with a warning.
 * - sequential: our own writer, one 255 KiB WRITE in flight at a time, hashing
 *   inline: 60-90 MB/s, vs 16-50 MB/s for ssh2's WriteStream (what
 *   ssh2-sftp-client put(Readable) uses, 64 KiB chunks). Works on any server.
 * - reads (get, read-back): 255 KiB READs, 8 in flight on OpenSSH (60-80 MB/s),
 *   1 in flight otherwise (ssh2's ReadStream got 20-30 MB/s).
 */
import type { Readable } from "node:stream";
import type { Stats } from "ssh2";
import type { AdapterDeps, BlobSource, ObjectInfo, StorageAdapter } from "../types.js";
import { DestinationConfigError, NotFoundError } from "../errors.js";
import { randomHex } from "../streams.js";
import { ensureSession, withSession } from "./connection.js";
import { openRead } from "./download.js";
import { SFTP, sftpCode, type Ctx } from "./errors.js";
import { remotePath } from "./folders.js";
import { sweepTemporary, walk } from "./list.js";
import { sftpFreeSpace } from "./freeSpace.js";
import { checkSftpOptions, normalizeRoot, type SftpConfig } from "./options.js";
import { req, type SftpContext } from "./session.js";
import { putObject } from "./upload.js";

export { fingerprintOf, knownHostMatches, parseKnownHosts } from "./hostKeys.js";
export { checkSftpOptions, parseSftpOptions, sftpOptionsSchema, type SftpConfig } from "./options.js";

/**
 * Connects eagerly and returns a connected adapter. Verifies the host key
 * during key exchange, before authentication and before any data moves.
 */
export async function createSftpAdapter(config: SftpConfig, deps: AdapterDeps, tuning: { stallMs?: number } = {}): Promise<StorageAdapter> {
  const port = config.port ?? 22;
  const root = normalizeRoot(config.path);
  const hostLabel = config.host.includes(":") ? `[${config.host}]` : config.host;
  const id = `sftp:${config.username}@${hostLabel}:${port}${root.startsWith("/") ? root : `/~/${root === "." ? "" : root}`}`;

  const problems = checkSftpOptions({ ...config, port });
  if (problems.length) {
    throw new DestinationConfigError(problems.join("; "), { adapter: id, op: "open" });
  }

  const cx: SftpContext = {
    config,
    log: deps.logger,
    id,
    root,
    port,
    transfer: config.transfer ?? "auto",
    createRoot: deps.createRoot ?? true,
    randomId: deps.randomId ?? (() => randomHex()),
    closed: false,
    fastPutDisabled: false,
    orphans: new Set<string>(),
    stallMs: tuning.stallMs ?? 120_000,
  };

  const adapter = {
    id,
    capabilities: { maxConnections: 2, statAddsDetails: false },

    async put(key: string, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo> {
      return putObject(cx, key, src, signal);
    },

    async get(key: string, signal?: AbortSignal, from = 0): Promise<Readable> {
      return openRead(cx, key, signal, from);
    },

    async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
      const full = remotePath(cx, key, "stat");
      const ctx: Ctx = { adapter: id, op: "stat", key };
      return withSession(cx, ctx, signal, async (s) => {
        const st = await req<Stats>(s, (cb) => s.sftp.stat(full, cb));
        if (!st.isFile()) throw new NotFoundError("not a file", ctx);
        return { key, size: st.size, modifiedAt: new Date(st.mtime * 1000) };
      });
    },

    async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
      for await (const { full: _full, ...info } of walk(cx, prefix, false, "list", signal)) yield info;
    },

    async delete(key: string, signal?: AbortSignal): Promise<void> {
      const full = remotePath(cx, key, "delete");
      return withSession(cx, { adapter: id, op: "delete", key }, signal, async (s) => {
        try {
          await req<void>(s, (cb) => s.sftp.unlink(full, cb));
        } catch (err) {
          if (sftpCode(err) !== SFTP.NO_SUCH_FILE) throw err;
        }
      });
    },

    async sweepTemporary(prefix: string, olderThan: Date, signal?: AbortSignal): Promise<string[]> {
      return sweepTemporary(cx, prefix, olderThan, signal);
    },

    freeSpace: (signal?: AbortSignal) => sftpFreeSpace(cx, signal),

    async close(): Promise<void> {
      cx.closed = true;
      const s = cx.session ?? (await cx.connecting?.catch(() => undefined));
      cx.session = undefined;
      if (!s) return;
      // end() waits for the server's goodbye; a hung server never sends it.
      if (s.alive) await Promise.race([s.client.end().catch(() => undefined), sleep(2_000)]);
      s.markLost("the adapter was closed");
    },
  } satisfies StorageAdapter;

  await ensureSession(cx, { adapter: id, op: "open" });
  return adapter;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
