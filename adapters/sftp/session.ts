/**
 * What an sftp adapter holds (one SSH connection and its SFTP channel, plus
 * the state that outlives a connection) and how one request runs on it.
 */
import type SftpClient from "ssh2-sftp-client";
import type { Client as SshClient, SFTPWrapper } from "ssh2";
import type { AdapterDeps } from "../types.js";
import type { SftpConfig } from "./options.js";

/** One SSH connection and its SFTP channel. */
export interface Session {
  client: SftpClient;
  ssh: SshClient | undefined;
  sftp: SFTPWrapper;
  /** Server software from its identification string, e.g. "OpenSSH_9.2p1"; "" if unknown. */
  software: string;
  openssh: boolean;
  posixRename: boolean;
  /** The server advertised fsync@openssh.com: a put can ask it to flush the file to disk. */
  fsync: boolean;
  alive: boolean;
  lostReason?: string;
  /** Rejects (with ConnectionLost) the moment the session dies; what a request on a dead session gets. */
  lost: Promise<never>;
  /** Requests in flight, each told of the loss; a request leaves the set when it settles (see race). */
  readonly lossListeners: Set<(err: Error) => void>;
  markLost(reason: string, cause?: unknown): void;
  /** The loss was logged already (once per session, however many operations notice it). */
  lossReported?: boolean;
}

/** One adapter's settings and the state that outlives a connection, passed to every piece. */
export interface SftpContext {
  readonly config: SftpConfig;
  readonly log: AdapterDeps["logger"];
  readonly id: string;
  /** Remote folder that holds the keys, as normalizeRoot left it. */
  readonly root: string;
  readonly port: number;
  readonly transfer: SftpConfig["transfer"];
  /** See AdapterDeps.createRoot. */
  readonly createRoot: boolean;
  readonly randomId: () => string;
  session?: Session;
  /** The connect in progress; concurrent callers share it. */
  connecting?: Promise<Session>;
  closed: boolean;
  /** fastPut produced a bad copy on this server once; stay sequential from then on. */
  fastPutDisabled: boolean;
  /** Temp files a failed put could not remove because the connection was gone; retried on reconnect. */
  readonly orphans: Set<string>;
  /** The destination's stallSeconds: requests outstanding and no reply for this long ends the session (see watchStalls). */
  readonly stallMs: number;
}

/**
 * Ends the session when SFTP requests are outstanding and no SFTP reply has
 * arrived for `stallMs`: a server (or a link) that stalled, whatever the
 * operation (fastPut, writes, reads, fsync). Keep-alives alone would take
 * 3 × keepaliveSeconds, and never fire for a NAS whose disk hangs while its
 * SSH server still answers them. Waiting with nothing outstanding (a slow
 * reader of a download) does not count. Reads ssh2's request table and
 * wraps the channel's push(), as the connect code reads its other internals.
 */
export function watchStalls(s: Session, stallMs: number): void {
  const sftp = s.sftp as unknown as { _requests?: Record<string, unknown>; push?: (data: Buffer) => unknown };
  const push = sftp.push;
  if (typeof push !== "function" || typeof sftp._requests !== "object") return; // another ssh2: keep-alives still bound it
  let last = performance.now();
  sftp.push = function (this: unknown, data: Buffer) {
    last = performance.now();
    return push.call(this, data);
  };
  const timer = setInterval(() => {
    if (!s.alive) return clearInterval(timer);
    if (Object.keys(sftp._requests ?? {}).length === 0) {
      last = performance.now();
      return;
    }
    if (performance.now() - last > stallMs) {
      clearInterval(timer);
      s.markLost(`the server stalled: no reply for ${Math.round(stallMs / 1000)}s (stallSeconds)`);
    }
  }, Math.max(50, Math.min(1_000, stallMs / 4)));
  timer.unref?.();
}

/** Promisify one SFTP request and race it against the session dying (ssh2 may never call back then). */
export function req<T>(s: Session, start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
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

/**
 * `p`, or the session's loss if that comes first. Not `Promise.race([p,
 * s.lost])`: each such race leaves a reaction on the long-lived `lost`
 * promise that keeps the race's result reachable until the session ends, so
 * every reply of a run stayed in memory (a fleet of 1,000 databases grew to
 * 645 MB). Here the listener leaves the set as soon as `p` settles.
 */
export function race<T>(s: Session, p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  if (!s.alive) return s.lost;
  return new Promise<T>((resolve, reject) => {
    s.lossListeners.add(reject);
    p.then(resolve, reject).finally(() => s.lossListeners.delete(reject));
  });
}

export function useParallel(cx: SftpContext, s: Session): boolean {
  return cx.transfer === "parallel" || (cx.transfer === "auto" && s.openssh);
}
