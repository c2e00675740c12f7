/**
 * SFTP destination (a NAS), on ssh2-sftp-client 12 / ssh2 1.17.
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
 *   before commit (see verifyFastPut) and a failed check falls back to one
 *   sequential upload, with a warning.
 * - sequential: our own writer, one 255 KiB WRITE in flight at a time, hashing
 *   inline: 60-90 MB/s, vs 16-50 MB/s for ssh2's WriteStream (what
 *   ssh2-sftp-client put(Readable) uses, 64 KiB chunks). Works on any server.
 * - reads (get, read-back): 255 KiB READs, 8 in flight on OpenSSH (60-80 MB/s),
 *   1 in flight otherwise (ssh2's ReadStream got 20-30 MB/s).
 */
import { randomInt } from "node:crypto";
import { createReadStream } from "node:fs";
import { open as openLocal, readFile } from "node:fs/promises";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type SftpClient from "ssh2-sftp-client";
import type { Client as SshClient, SFTPWrapper, Stats } from "ssh2";
import { z } from "zod";
import type { AdapterDeps, BlobSource, ObjectInfo, StorageAdapter } from "../types.js";
import {
  AdapterError,
  AuthError,
  ChecksumMismatchError,
  DestinationConfigError,
  NotFoundError,
  PermanentError,
  TransientError,
  assertSafeKey,
} from "../errors.js";
import { HashingCounter, hashStream, randomHex } from "../streams.js";
import { fingerprintOf, knownHostMatches, loadHostKeyPin, parseKnownHosts } from "./hostKeys.js";

export { fingerprintOf, knownHostMatches, parseKnownHosts };

// ---------------------------------------------------------------------------------------------
// Config

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/**
 * Options of an sftp destination, as a plain shape so config.ts can spread it
 * into its own strictObject next to name/retention. Call checkSftpOptions on
 * the parsed object for the rules that span fields.
 */
export const sftpOptionsSchema = {
  host: z.string({ error: "host must name the SFTP server" }).min(1, { error: "host must name the SFTP server" }),
  port: z.number().int().min(1).max(65_535, { error: "port must be 1-65535" }).default(22),
  username: z.string({ error: "username is required" }).min(1, { error: "username is required" }),
  /** Private key file on this machine (OpenSSH or PEM format). */
  privateKeyPath: z.string().min(1).optional(),
  privateKeyPassphrase: z.string().optional(),
  password: z.string().optional(),
  /** The server's host key, as `ssh-keygen -lf` prints it: "SHA256:<base64 without padding>". */
  hostKeySha256: z
    .string()
    .regex(FINGERPRINT, { error: 'hostKeySha256 must look like "SHA256:" followed by 43 base64 characters, as printed by ssh-keygen -lf' })
    .optional(),
  /** An OpenSSH known_hosts file; plain and hashed (|1|) entries, for host or [host]:port. */
  knownHostsPath: z.string().min(1).optional(),
  /** Remote folder that holds `<db>/<snapshot>` files; absolute, or relative to the login folder. */
  path: z.string({ error: "path must name the remote folder" }).min(1, { error: "path must name the remote folder" }),
  /** "auto": parallel (fastPut) only against OpenSSH; "sequential" is safe on every server. */
  transfer: z.enum(["auto", "parallel", "sequential"], { error: "transfer must be auto, parallel or sequential" }).default("auto"),
  connectTimeoutSeconds: z.number().positive().max(600).default(20),
  /** SSH keepalive interval; the connection counts as lost after 3 unanswered ones. */
  keepaliveSeconds: z.number().positive().max(600).default(10),
};

const sftpConfigSchema = z.object(sftpOptionsSchema);
export type SftpConfig = z.output<typeof sftpConfigSchema>;
/** Parse helper for callers that hold raw options (tests, tools). */
export const parseSftpOptions = (raw: unknown): SftpConfig => sftpConfigSchema.parse(raw);

/** Problems that span fields, in plain words; empty when the options are usable. */
export function checkSftpOptions(o: Pick<SftpConfig, "host" | "port" | "privateKeyPath" | "privateKeyPassphrase" | "password" | "hostKeySha256" | "knownHostsPath">): string[] {
  const problems: string[] = [];
  if (!o.hostKeySha256 && !o.knownHostsPath) {
    problems.push(
      `hostKeySha256 or knownHostsPath is required: triplicate never connects to an unknown host; get the fingerprint with: ssh-keyscan -p ${o.port ?? 22} ${o.host} | ssh-keygen -lf -`,
    );
  }
  if (!o.privateKeyPath && o.password === undefined) {
    problems.push("privateKeyPath or password is required: give the key file of the backup user (recommended) or a password via ${ENV}");
  }
  if (o.privateKeyPassphrase !== undefined && !o.privateKeyPath) {
    problems.push("privateKeyPassphrase is set but privateKeyPath is not");
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Tunables (see the measurements at the top)

/** OpenSSH's limits@openssh.com max read/write length is 261120 bytes; ssh2 splits bigger requests. */
const REQUEST_BYTES = 255 * 1024;
/** READ requests in flight when parallel transfers are allowed. */
const PARALLEL_READS = 8;
/** fastPut settings that measured best here (the ssh2 default, 64 x 32 KiB, ran at about half the speed). */
const FASTPUT = { concurrency: 8, chunkSize: REQUEST_BYTES };
/** Below this, fastPut's set-up and the verification reads cost more than they save. */
const FASTPUT_MIN_BYTES = 4 * 1024 * 1024;
/** Windows of the file compared byte for byte after a fastPut to an OpenSSH server. */
const SPOT_CHECK_WINDOWS = 8;
const SPOT_CHECK_BYTES = 64 * 1024;
const KEEPALIVE_COUNT_MAX = 3;
const FILE_MODE = 0o640;

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02 section 7). */
const SFTP = { EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, NO_CONNECTION: 6, CONNECTION_LOST: 7, OP_UNSUPPORTED: 8 } as const;

/** Temp files are hidden (leading dot) and carry the same marker as local.ts. */
const TMP_MARKER = ".tmp-";
export function isSftpTempName(name: string): boolean {
  return name.startsWith(".") && name.includes(TMP_MARKER);
}

// ---------------------------------------------------------------------------------------------
// Session: one SSH connection and its SFTP channel

/** Internal: the session died under an operation (socket closed, keepalive timeout, abort). */
class ConnectionLost extends Error {}

interface Session {
  client: SftpClient;
  ssh: SshClient | undefined;
  sftp: SFTPWrapper;
  /** Server software from its identification string, e.g. "OpenSSH_9.2p1"; "" if unknown. */
  software: string;
  openssh: boolean;
  posixRename: boolean;
  alive: boolean;
  lostReason?: string;
  /** Rejects (with ConnectionLost) the moment the session dies; raced against every request. */
  lost: Promise<never>;
  markLost(reason: string, cause?: unknown): void;
  /** The loss was logged already (once per session, however many operations notice it). */
  lossReported?: boolean;
}

type Ctx = { adapter: string; op: string; key?: string };

/**
 * Connects eagerly and returns a connected adapter. Verifies the host key
 * during key exchange, before authentication and before any data moves.
 */
export async function createSftpAdapter(config: SftpConfig, deps: AdapterDeps): Promise<StorageAdapter> {
  const log = deps.logger;
  const randomId = deps.randomId ?? (() => randomHex());
  const port = config.port ?? 22;
  const transfer = config.transfer ?? "auto";
  const root = normalizeRoot(config.path);
  const hostLabel = config.host.includes(":") ? `[${config.host}]` : config.host;
  const id = `sftp:${config.username}@${hostLabel}:${port}${root.startsWith("/") ? root : `/~/${root === "." ? "" : root}`}`;

  const problems = checkSftpOptions({ ...config, port });
  if (problems.length) {
    throw new DestinationConfigError(problems.join("; "), { adapter: id, op: "open" });
  }

  const capabilities = { maxConnections: 2, statAddsDetails: false };
  let session: Session | undefined;
  let connecting: Promise<Session> | undefined;
  let closed = false;
  /** fastPut produced a bad copy on this server once; stay sequential from then on. */
  let fastPutDisabled = false;
  /** Temp files a failed put could not remove because the connection was gone; retried on reconnect. */
  const orphans = new Set<string>();

  const remote = (key: string, op: string): string => {
    assertSafeKey(key, { adapter: id, op });
    return root === "/" ? `/${key}` : `${root}/${key}`;
  };
  const keyOf = (full: string): string => full.slice(root === "/" ? 1 : root.length + 1);

  // --- connection -------------------------------------------------------------------------------

  async function connect(): Promise<Session> {
    const ctx: Ctx = { adapter: id, op: "connect" };
    let privateKey: Buffer | undefined;
    if (config.privateKeyPath) {
      try {
        privateKey = await readFile(config.privateKeyPath);
      } catch (err) {
        throw new DestinationConfigError(
          `cannot read privateKeyPath ${config.privateKeyPath} (${(err as NodeJS.ErrnoException).code ?? "error"}); check the path and that this user may read it`,
          { ...ctx, cause: err },
        );
      }
    }
    const pin = await loadHostKeyPin(config, port, ctx);

    let offered: Buffer | undefined;
    let rawError: (Error & { level?: string; code?: unknown }) | undefined;
    let current: Session | undefined;
    // Silent callbacks replace the library's defaults, which console.log
    // "Global end/close listener" on every disconnect. They cannot do the
    // real work: while one of its calls runs, the library marks end/close/
    // error as handled and skips them. Our own listeners below always run.
    const quiet = () => undefined;
    // Loaded here, not at the top: config.ts imports this module for its schema.
    const { default: Client } = await import("ssh2-sftp-client");
    const client = new Client(`triplicate:${id}`, { error: quiet, end: quiet, close: quiet });
    // The library also re-wraps errors and drops ssh2's `level` (which tells
    // auth failures from network ones), so keep the first raw error.
    client.on("error", (err: Error & { level?: string }) => {
      rawError ??= err;
      if (current?.alive) log.debug({ err: describeError(err) }, "sftp connection error");
      current?.markLost(messageOf(err), err);
    });
    client.on("end", () => current?.markLost("the server ended the connection"));
    client.on("close", () => current?.markLost("the connection closed"));
    const ssh = (client as unknown as { client?: SshClient }).client;
    if (config.password !== undefined) {
      // Some NAS firmware accepts passwords only through keyboard-interactive.
      ssh?.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => config.password!)));
    }

    let sftp: SFTPWrapper;
    try {
      sftp = await client.connect({
        host: config.host,
        port,
        username: config.username,
        privateKey,
        passphrase: config.privateKeyPassphrase,
        password: config.password,
        tryKeyboard: config.password !== undefined,
        readyTimeout: Math.round((config.connectTimeoutSeconds ?? 20) * 1000),
        keepaliveInterval: Math.round((config.keepaliveSeconds ?? 10) * 1000),
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        algorithms: pin.serverHostKey ? { serverHostKey: pin.serverHostKey } : undefined,
        hostVerifier: (key: Buffer) => {
          offered = key;
          return pin.accepts(key);
        },
      });
    } catch (err) {
      ssh?.destroy();
      if (offered && !pin.accepts(offered)) {
        throw new AuthError(pin.mismatch(offered), { ...ctx, cause: err });
      }
      if (!offered && pin.serverHostKey && rawError?.level === "handshake") {
        throw new AuthError(pin.noCommonKeyType(messageOf(rawError)), { ...ctx, cause: err });
      }
      throw mapConnectError(rawError ?? err, ctx);
    }

    // ssh2 leaves Nagle's algorithm on. Our READ requests are small packets sent while the previous
    // ones are unacknowledged, so Nagle holds them back and the pipeline of reads runs dry: a 464 MiB
    // restore's transfer took 5.8-7.0 s with it, 2.6-4.1 s without (everyone idle in between).
    ssh?.setNoDelay(true);
    const software = (ssh as unknown as { _remoteVer?: unknown } | undefined)?._remoteVer;
    let fail!: (e: Error) => void;
    const lost = new Promise<never>((_, reject) => (fail = reject));
    lost.catch(() => undefined);
    const s: Session = {
      client,
      ssh,
      sftp,
      software: typeof software === "string" ? software : "",
      openssh: typeof software === "string" && /^OpenSSH_/i.test(software),
      posixRename: false,
      alive: true,
      lost,
      markLost(reason, cause) {
        if (!s.alive) return;
        s.alive = false;
        s.lostReason = reason;
        fail(new ConnectionLost(reason, { cause }));
        ssh?.destroy();
      },
    };
    current = s;
    // An unhandled 'error' on the channel would crash the process.
    sftp.on("error", (err: Error) => s.markLost(messageOf(err), err));
    sftp.on("close", () => s.markLost("the SFTP channel closed"));

    try {
      s.posixRename = await probePosixRename(s);
      if (deps.createRoot ?? true) await ensureDir(s, root, ctx);
      else await requireDir(s, root, ctx);
    } catch (err) {
      const mapped = mapError(err, ctx, s);
      s.markLost("set-up failed");
      throw mapped;
    }
    log.debug(
      { server: s.software || "unknown", openssh: s.openssh, posixRename: s.posixRename, fastPut: useParallel(s) },
      "sftp connected",
    );
    if (!s.posixRename) {
      log.warn({ server: s.software }, "server lacks posix-rename@openssh.com: replacing a key is delete + rename, not atomic");
    }
    if (orphans.size) void removeOrphans(s);
    return s;
  }

  /** The live session, reconnecting if the last one died. Concurrent callers share one connect. */
  async function ensureSession(ctx: Ctx, signal?: AbortSignal): Promise<Session> {
    if (closed) throw new PermanentError("adapter is closed", ctx);
    if (session?.alive) return session;
    if (session && !session.lossReported) {
      session.lossReported = true;
      log.info({ reason: session.lostReason }, "sftp connection was lost; reconnecting");
    }
    connecting ??= connect().then(
      (s) => {
        session = s;
        connecting = undefined;
        return s;
      },
      (err) => {
        connecting = undefined;
        throw err;
      },
    );
    const pending = connecting;
    if (!signal) return pending;
    // Aborting this caller does not cancel a connect others may share; it is bounded by readyTimeout.
    return new Promise<Session>((resolve, reject) => {
      const onAbort = () => reject(abortError(ctx, signal));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  /**
   * Runs one operation on the session. An abort ends the connection, which
   * fails every request in flight at once (SFTP has no per-request cancel);
   * the next operation reconnects. Errors leave here mapped.
   */
  async function withSession<T>(ctx: Ctx, signal: AbortSignal | undefined, fn: (s: Session) => Promise<T>): Promise<T> {
    if (signal?.aborted) throw abortError(ctx, signal);
    const s = await ensureSession(ctx, signal);
    const onAbort = () => s.markLost(`aborted (${reasonOf(signal)})`);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const work = fn(s);
      work.catch(() => undefined);
      return await Promise.race([work, s.lost]);
    } catch (err) {
      throw signal?.aborted ? abortError(ctx, signal, err) : mapError(err, ctx, s);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async function removeOrphans(s: Session): Promise<void> {
    for (const tmp of [...orphans]) {
      try {
        await req<void>(s, (cb) => s.sftp.unlink(tmp, cb));
        orphans.delete(tmp);
        log.debug({ tmp }, "removed temp file left by an interrupted upload");
      } catch (err) {
        if (sftpCode(err) === SFTP.NO_SUCH_FILE) orphans.delete(tmp);
        if (!s.alive) return;
      }
    }
  }

  // --- helpers on a session ---------------------------------------------------------------------

  /** mkdir -p. Not cached: one stat per put keeps a folder removed behind our back from breaking puts. */
  async function ensureDir(s: Session, dir: string, ctx: Ctx): Promise<void> {
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
        await req<void>(s, (cb) => s.sftp.mkdir(dir, cb));
      } catch (err) {
        // Another writer may have made it meanwhile (OpenSSH answers FAILURE for EEXIST).
        const again = await req<Stats>(s, (cb) => s.sftp.stat(dir, cb)).catch(() => undefined);
        if (!again?.isDirectory()) throw err;
      }
    }
  }

  /** The root must already be there (see AdapterDeps.createRoot). */
  async function requireDir(s: Session, dir: string, ctx: Ctx): Promise<void> {
    const st = await req<Stats>(s, (cb) => s.sftp.stat(dir, cb)).catch((err) => {
      if (sftpCode(err) !== SFTP.NO_SUCH_FILE) throw err;
      throw new NotFoundError(`the folder ${dir} does not exist on the server: is the NAS volume mounted? (triplicate backup creates it on first use)`, ctx);
    });
    if (!st.isDirectory()) throw new DestinationConfigError(`${dir} exists on the server but is not a folder`, ctx);
  }

  function useParallel(s: Session): boolean {
    return transfer === "parallel" || (transfer === "auto" && s.openssh);
  }

  async function uploadSequential(s: Session, src: BlobSource, tmp: string, ctx: Ctx, signal?: AbortSignal): Promise<{ bytes: number; sha256: string }> {
    const handle = await req<Buffer>(s, (cb) => s.sftp.open(tmp, "wx", { mode: FILE_MODE }, cb));
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
    } finally {
      if (s.alive) await req<void>(s, (cb) => s.sftp.close(handle, cb)).catch(() => undefined);
    }
    return { bytes: counter.bytes, sha256: counter.digest() };
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

  /** Committed files (or, with `temporary`, only our temp files) under root whose key starts with prefix. */
  async function* walk(prefix: string, temporary: boolean, op: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo & { full: string }> {
    const stack: string[] = [""];
    while (stack.length > 0) {
      const rel = stack.pop()!;
      const dir = rel ? `${root === "/" ? "" : root}/${rel}` : root;
      const entries = await withSession({ adapter: id, op, key: rel || prefix }, signal, async (s) => {
        try {
          return await req<{ filename: string; attrs: Stats }[]>(s, (cb) => s.sftp.readdir(dir, cb));
        } catch (err) {
          if (sftpCode(err) === SFTP.NO_SUCH_FILE) return [];
          throw err;
        }
      });
      entries.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
      const subdirs: string[] = [];
      for (const entry of entries) {
        const key = rel ? `${rel}/${entry.filename}` : entry.filename;
        if (entry.attrs.isDirectory()) {
          // Descend only where the prefix could still match.
          if (prefix === "" || prefix.startsWith(key + "/") || key.startsWith(prefix)) subdirs.push(key);
          continue;
        }
        if (!entry.attrs.isFile() || !key.startsWith(prefix)) continue;
        if (isSftpTempName(entry.filename) !== temporary) continue;
        yield { key, size: entry.attrs.size, modifiedAt: new Date(entry.attrs.mtime * 1000), full: `${dir === "/" ? "" : dir}/${entry.filename}` };
      }
      stack.push(...subdirs.reverse());
    }
  }

  // --- the adapter ------------------------------------------------------------------------------

  const adapter = {
    id,
    capabilities,

    async put(key: string, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo> {
      const full = remote(key, "put");
      const ctx: Ctx = { adapter: id, op: "put", key };
      const dir = posix.dirname(full);
      const tmp = `${dir}/.${posix.basename(full)}${TMP_MARKER}${process.pid}-${randomId()}`;
      return withSession(ctx, signal, async (s) => {
        let committed = false;
        try {
          await ensureDir(s, dir, ctx);
          let how = "sequential";
          const localPath = src.localPath;
          if (localPath && useParallel(s) && !fastPutDisabled && src.size >= FASTPUT_MIN_BYTES) {
            const [, local] = await Promise.all([
              race(s, s.client.fastPut(localPath, tmp, { ...FASTPUT, mode: FILE_MODE })),
              hashStream(createReadStream(localPath, { highWaterMark: 1 << 20 })),
            ]);
            checkSent(local.size, local.sha256, src, ctx);
            const problem = await verifyFastPut(s, { ...src, localPath }, tmp);
            how = "fastPut";
            if (problem) {
              fastPutDisabled = true;
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
          await commit(s, tmp, full);
          committed = true;
          log.debug({ key, size: src.size, transfer: how }, "sftp put committed");
          const st = await req<Stats>(s, (cb) => s.sftp.stat(full, cb));
          return { key, size: st.size, modifiedAt: new Date(st.mtime * 1000) };
        } finally {
          if (!committed) {
            if (s.alive) {
              await req<void>(s, (cb) => s.sftp.unlink(tmp, cb)).catch((err) => {
                if (sftpCode(err) !== SFTP.NO_SUCH_FILE) orphans.add(tmp);
              });
            } else {
              orphans.add(tmp); // removed on reconnect; sweepTemporary is the backstop
            }
          }
        }
      });
    },

    async get(key: string, signal?: AbortSignal, from = 0): Promise<Readable> {
      const full = remote(key, "get");
      const ctx: Ctx = { adapter: id, op: "get", key };
      // Open eagerly so a missing file is a NotFoundError here, not a stream error later.
      const { s, handle, size } = await withSession(ctx, signal, async (s) => {
        const handle = await req<Buffer>(s, (cb) => s.sftp.open(full, "r", cb));
        try {
          const st = await req<Stats>(s, (cb) => s.sftp.fstat(handle, cb));
          return { s, handle, size: st.size };
        } catch (err) {
          await req<void>(s, (cb) => s.sftp.close(handle, cb)).catch(() => undefined);
          throw err;
        }
      });
      const inflight = useParallel(s) ? PARALLEL_READS : 1;
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
    },

    async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
      const full = remote(key, "stat");
      const ctx: Ctx = { adapter: id, op: "stat", key };
      return withSession(ctx, signal, async (s) => {
        const st = await req<Stats>(s, (cb) => s.sftp.stat(full, cb));
        if (!st.isFile()) throw new NotFoundError("not a file", ctx);
        return { key, size: st.size, modifiedAt: new Date(st.mtime * 1000) };
      });
    },

    async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
      for await (const { full: _full, ...info } of walk(prefix, false, "list", signal)) yield info;
    },

    async delete(key: string, signal?: AbortSignal): Promise<void> {
      const full = remote(key, "delete");
      return withSession({ adapter: id, op: "delete", key }, signal, async (s) => {
        try {
          await req<void>(s, (cb) => s.sftp.unlink(full, cb));
        } catch (err) {
          if (sftpCode(err) !== SFTP.NO_SUCH_FILE) throw err;
        }
      });
    },

    async sweepTemporary(prefix: string, olderThan: Date, signal?: AbortSignal): Promise<string[]> {
      const removed: string[] = [];
      for await (const entry of walk(prefix, true, "sweepTemporary", signal)) {
        if (entry.modifiedAt >= olderThan) continue;
        await withSession({ adapter: id, op: "sweepTemporary", key: entry.key }, signal, async (s) => {
          await req<void>(s, (cb) => s.sftp.unlink(entry.full, cb)).catch((err) => {
            if (sftpCode(err) !== SFTP.NO_SUCH_FILE) throw err;
          });
        });
        orphans.delete(entry.full);
        removed.push(keyOf(entry.full));
      }
      return removed;
    },

    async close(): Promise<void> {
      closed = true;
      const s = session ?? (await connecting?.catch(() => undefined));
      session = undefined;
      if (!s) return;
      // end() waits for the server's goodbye; a hung server never sends it.
      if (s.alive) await Promise.race([s.client.end().catch(() => undefined), sleep(2_000)]);
      s.markLost("the adapter was closed");
    },
  } satisfies StorageAdapter;

  await ensureSession({ adapter: id, op: "open" });
  return adapter;
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Promisify one SFTP request and race it against the session dying (ssh2 may never call back then). */
function req<T>(s: Session, start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  if (!s.alive) return s.lost;
  const p = new Promise<T>((resolve, reject) => {
    try {
      start((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err);
    }
  });
  return race(s, p);
}

function race<T>(s: Session, p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return Promise.race([p, s.lost]);
}

/** Reads exactly `len` bytes at `at` (servers may answer a READ with fewer). */
async function readFully(s: Session, handle: Buffer, at: number, len: number): Promise<Buffer> {
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
async function* readRemote(s: Session, handle: Buffer, size: number, inflight: number, from = 0): AsyncGenerator<Buffer> {
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

/**
 * Is posix-rename@openssh.com there? ssh2 throws synchronously when the
 * server did not advertise it; otherwise the probe (a rename of a name that
 * does not exist) costs one round trip and changes nothing.
 */
async function probePosixRename(s: Session): Promise<boolean> {
  const ghost = `/.triplicate-probe-${randomHex(8)}`;
  try {
    await req<void>(s, (cb) => s.sftp.ext_openssh_rename(ghost, `${ghost}-2`, cb));
    return true; // cannot happen for a missing source; a server that says OK supports it
  } catch (err) {
    if (err instanceof ConnectionLost) throw err;
    return typeof sftpCode(err) === "number";
  }
}

function checkSent(bytes: number, sha256: string, src: BlobSource, ctx: Ctx): void {
  if (bytes !== src.size) {
    throw new PermanentError(`sent ${bytes} bytes, expected ${src.size}`, ctx);
  }
  if (sha256 !== src.sha256) {
    throw new ChecksumMismatchError(`source bytes hash to ${sha256}, expected ${src.sha256}`, { ...ctx, expected: src.sha256, actual: sha256 });
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

const TRANSIENT_CODES = new Set([
  "EPIPE", "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN",
  "EHOSTDOWN", "EAI_AGAIN", "ENOTFOUND", "ERR_NOT_CONNECTED", "ERR_SOCKET_CLOSED", "ERR_STREAM_PREMATURE_CLOSE",
]);
const TRANSIENT_TEXT = /No response from server|Keepalive timeout|Timed out while waiting for handshake|Connection lost before handshake|Not connected|No SFTP connection|Unexpected (end|close) event|socket hang up|write after end/i;

function sftpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function describeError(err: unknown): { message: string; code?: unknown; level?: unknown } {
  const e = err as { code?: unknown; level?: unknown };
  return { message: messageOf(err), code: e?.code, level: e?.level };
}

function reasonOf(signal: AbortSignal | undefined): string {
  const r = signal?.reason as { name?: string; message?: string } | undefined;
  return r?.name === "TimeoutError" ? "timeout" : (r?.message ?? "aborted");
}

function abortError(ctx: Ctx, signal: AbortSignal, cause?: unknown): TransientError {
  return new TransientError(`aborted (${reasonOf(signal)}); the connection was closed and the next operation reconnects`, {
    ...ctx,
    cause: cause ?? signal.reason,
  });
}

function mapError(err: unknown, ctx: Ctx, s?: Session): AdapterError {
  if (err instanceof AdapterError) return err;
  const c = { ...ctx, cause: err };
  if (err instanceof ConnectionLost || (s && !s.alive)) {
    return new TransientError(`connection lost (${s?.lostReason ?? messageOf(err)}); the next operation reconnects`, c);
  }
  const code = sftpCode(err);
  if (code !== undefined) {
    switch (code) {
      case SFTP.NO_SUCH_FILE:
        return new NotFoundError("no such file", c);
      case SFTP.PERMISSION_DENIED:
        return new DestinationConfigError("permission denied by the server: make the destination folder writable by this user", c);
      case SFTP.NO_CONNECTION:
      case SFTP.CONNECTION_LOST:
        return new TransientError(`connection lost: ${messageOf(err)}`, c);
      case SFTP.OP_UNSUPPORTED:
        return new PermanentError(`the server does not support this operation: ${messageOf(err)}`, c);
      case SFTP.FAILURE:
        return new PermanentError(`the server reported a failure (a full disk, or a name taken by a folder?): ${messageOf(err)}`, c);
      default:
        return new PermanentError(`SFTP status ${code}: ${messageOf(err)}`, c);
    }
  }
  return mapConnectError(err, ctx);
}

/** Errors from connecting (or with no SFTP status): by ssh2's `level`, the socket code, then the text. */
function mapConnectError(err: unknown, ctx: Ctx): AdapterError {
  if (err instanceof AdapterError) return err;
  const e = err as { code?: unknown; level?: unknown } | undefined;
  const c = { ...ctx, cause: err };
  const message = messageOf(err).replace(/^getConnection: /, "");
  if (e?.level === "client-authentication") {
    return new AuthError(`the server refused the credentials (${message}); check username, key and password`, c);
  }
  if (/privateKey|passphrase/i.test(message) && /parse|passphrase|encrypted|unsupported key/i.test(message)) {
    return new AuthError(`cannot use the private key: ${message}`, c);
  }
  if (typeof e?.code === "string" && TRANSIENT_CODES.has(e.code)) {
    // Node's own messages already start with the code ("connect ECONNREFUSED 127.0.0.1:22").
    return new TransientError(message.includes(e.code) ? message : `${e.code}: ${message}`, c);
  }
  if (e?.level === "client-timeout" || e?.level === "client-socket" || e?.level === "client-dns" || e?.level === "protocol" || TRANSIENT_TEXT.test(message)) {
    return new TransientError(message, c);
  }
  if (e?.code === "EACCES") return new DestinationConfigError(`permission denied: ${message}`, c);
  return new PermanentError(message, c);
}

// ---------------------------------------------------------------------------------------------
// Small things

function normalizeRoot(p: string): string {
  let r = p.trim();
  if (r === "~") return ".";
  if (r.startsWith("~/")) r = r.slice(2) || ".";
  if (r.length > 1) r = r.replace(/\/+$/, "");
  return r || ".";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
