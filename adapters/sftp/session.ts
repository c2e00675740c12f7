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
  /** Rejects (with ConnectionLost) the moment the session dies; raced against every request. */
  lost: Promise<never>;
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

export function race<T>(s: Session, p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return Promise.race([p, s.lost]);
}

export function useParallel(cx: SftpContext, s: Session): boolean {
  return cx.transfer === "parallel" || (cx.transfer === "auto" && s.openssh);
}
