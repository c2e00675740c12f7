/**
 * Getting a live session and keeping one: connect (host key checked during
 * the handshake, before login), reconnect after a loss, and run one
 * operation on the session with aborts and errors handled.
 */
import { readFile } from "node:fs/promises";
import type { Client as SshClient, SFTPWrapper } from "ssh2";
import type SftpClient from "ssh2-sftp-client";
import { AuthError, DestinationConfigError, PermanentError } from "../errors.js";
import { randomHex } from "../streams.js";
import { ConnectionLost, SFTP, abortError, describeError, mapConnectError, mapError, messageOf, reasonOf, sftpCode, type Ctx } from "./errors.js";
import { ensureDir, requireDir } from "./folders.js";
import { loadHostKeyPin, type HostKeyPin } from "./hostKeys.js";
import { KEEPALIVE_COUNT_MAX } from "./options.js";
import { race, req, useParallel, watchStalls, type Session, type SftpContext } from "./session.js";

async function connect(cx: SftpContext): Promise<Session> {
  const { log } = cx;
  const ctx: Ctx = { adapter: cx.id, op: "connect" };
  const privateKey = await readPrivateKey(cx.config.privateKeyPath, ctx);
  const pin = await loadHostKeyPin(cx.config, cx.port, ctx);
  const s = await handshake(cx, privateKey, pin, ctx);
  try {
    s.posixRename = await probePosixRename(s);
    s.fsync = advertises(s.sftp, "fsync@openssh.com");
    if (cx.createRoot) await ensureDir(s, cx.root, ctx);
    else await requireDir(s, cx.root, ctx);
  } catch (err) {
    const mapped = mapError(err, ctx, s);
    s.markLost("set-up failed");
    throw mapped;
  }
  log.debug(
    { server: s.software || "unknown", openssh: s.openssh, posixRename: s.posixRename, fastPut: useParallel(cx, s), fsync: s.fsync },
    "sftp connected",
  );
  if (!s.fsync) {
    log.warn(
      { server: s.software || "unknown" },
      "server lacks fsync@openssh.com: copies are read back, but their durability is not confirmed (the server never said they reached its disk)",
    );
  }
  if (!s.posixRename) {
    log.warn({ server: s.software }, "server lacks posix-rename@openssh.com: replacing a key is delete + rename, not atomic");
  }
  if (cx.orphans.size) void removeOrphans(cx, s);
  return s;
}

async function readPrivateKey(file: string | undefined, ctx: Ctx): Promise<Buffer | undefined> {
  if (!file) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    throw new DestinationConfigError(
      `cannot read privateKeyPath ${file} (${(err as NodeJS.ErrnoException).code ?? "error"}); check the path and that this user may read it`,
      { ...ctx, cause: err },
    );
  }
}

/** Connects, logs in and opens the SFTP channel; a refused host key fails here, before authentication. */
async function handshake(cx: SftpContext, privateKey: Buffer | undefined, pin: HostKeyPin, ctx: Ctx): Promise<Session> {
  const { config, log } = cx;
  let offered: Buffer | undefined;
  let rawError: (Error & { level?: string; code?: unknown }) | undefined;
  let current: Session | undefined;
  // Silent callbacks replace the library's defaults, which console.log
  // "Global end/close listener" on every disconnect. They cannot do the
  // real work: while one of its calls runs, the library marks end/close/
  // error as handled and skips them. Our own listeners below always run.
  const quiet = () => undefined;
  // Loaded here, not at the top: importing the adapter (config.ts once did,
  // for its schema) should not load the SSH library; connecting does.
  const { default: Client } = await import("ssh2-sftp-client");
  const client = new Client(`triplicate:${cx.id}`, { error: quiet, end: quiet, close: quiet });
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
      port: cx.port,
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
  current = newSession(client, ssh, sftp);
  watchStalls(current, cx.stallMs);
  return current;
}

export function newSession(client: SftpClient, ssh: SshClient | undefined, sftp: SFTPWrapper): Session {
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
    fsync: false,
    alive: true,
    lost,
    lossListeners: new Set(),
    markLost(reason, cause) {
      if (!s.alive) return;
      s.alive = false;
      s.lostReason = reason;
      const err = new ConnectionLost(reason, { cause });
      fail(err);
      for (const tell of s.lossListeners) tell(err);
      s.lossListeners.clear();
      ssh?.destroy();
    },
  };
  // An unhandled 'error' on the channel would crash the process.
  sftp.on("error", (err: Error) => s.markLost(messageOf(err), err));
  sftp.on("close", () => s.markLost("the SFTP channel closed"));
  return s;
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

/**
 * Did the server list `name` in its VERSION reply? ssh2 keeps that list in a
 * private field and throws synchronously from ext_openssh_* calls without
 * it; reading the list lets the connect log and every put say so up front.
 */
export function advertises(sftp: SFTPWrapper, name: string, version = "1"): boolean {
  const ext = (sftp as unknown as { _extensions?: Record<string, string> })._extensions;
  return ext?.[name] === version;
}

async function removeOrphans(cx: SftpContext, s: Session): Promise<void> {
  for (const tmp of [...cx.orphans]) {
    try {
      await req<void>(s, (cb) => s.sftp.unlink(tmp, cb));
      cx.orphans.delete(tmp);
      cx.log.debug({ tmp }, "removed temp file left by an interrupted upload");
    } catch (err) {
      if (sftpCode(err) === SFTP.NO_SUCH_FILE) cx.orphans.delete(tmp);
      if (!s.alive) return;
    }
  }
}

/** The live session, reconnecting if the last one died. Concurrent callers share one connect. */
export async function ensureSession(cx: SftpContext, ctx: Ctx, signal?: AbortSignal): Promise<Session> {
  if (cx.closed) throw new PermanentError("adapter is closed", ctx);
  const { session } = cx;
  if (session?.alive) return session;
  if (session && !session.lossReported) {
    session.lossReported = true;
    cx.log.info({ reason: session.lostReason }, "sftp connection was lost; reconnecting");
  }
  cx.connecting ??= connect(cx).then(
    (s) => {
      cx.session = s;
      cx.connecting = undefined;
      return s;
    },
    (err) => {
      cx.connecting = undefined;
      throw err;
    },
  );
  const pending = cx.connecting;
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
export async function withSession<T>(cx: SftpContext, ctx: Ctx, signal: AbortSignal | undefined, fn: (s: Session) => Promise<T>): Promise<T> {
  if (signal?.aborted) throw abortError(ctx, signal);
  const s = await ensureSession(cx, ctx, signal);
  const onAbort = () => s.markLost(`aborted (${reasonOf(signal)})`);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await race(s, fn(s));
  } catch (err) {
    throw signal?.aborted ? abortError(ctx, signal, err) : mapError(err, ctx, s);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
