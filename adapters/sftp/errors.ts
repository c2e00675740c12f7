/**
 * SFTP status codes, socket errors and ssh2's error levels, mapped onto the
 * adapter error classes that decide what is retried.
 */
import { AdapterError, AuthError, DestinationConfigError, NotFoundError, PermanentError, TransientError } from "../errors.js";
import type { Session } from "./session.js";

export type Ctx = { adapter: string; op: string; key?: string };

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02 section 7). */
export const SFTP = { EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, NO_CONNECTION: 6, CONNECTION_LOST: 7, OP_UNSUPPORTED: 8 } as const;

/** Internal: the session died under an operation (socket closed, keepalive timeout, abort). */
export class ConnectionLost extends Error {}

const TRANSIENT_CODES = new Set([
  "EPIPE", "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN",
  "EHOSTDOWN", "EAI_AGAIN", "ENOTFOUND", "ERR_NOT_CONNECTED", "ERR_SOCKET_CLOSED", "ERR_STREAM_PREMATURE_CLOSE",
]);
const TRANSIENT_TEXT = /No response from server|Keepalive timeout|Timed out while waiting for handshake|Connection lost before handshake|Not connected|No SFTP connection|Unexpected (end|close) event|socket hang up|write after end/i;

export function sftpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function describeError(err: unknown): { message: string; code?: unknown; level?: unknown } {
  const e = err as { code?: unknown; level?: unknown };
  return { message: messageOf(err), code: e?.code, level: e?.level };
}

export function reasonOf(signal: AbortSignal | undefined): string {
  const r = signal?.reason as { name?: string; message?: string } | undefined;
  return r?.name === "TimeoutError" ? "timeout" : (r?.message ?? "aborted");
}

export function abortError(ctx: Ctx, signal: AbortSignal, cause?: unknown): TransientError {
  return new TransientError(`aborted (${reasonOf(signal)}); the connection was closed and the next operation reconnects`, {
    ...ctx,
    cause: cause ?? signal.reason,
  });
}

export function mapError(err: unknown, ctx: Ctx, s?: Session): AdapterError {
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
export function mapConnectError(err: unknown, ctx: Ctx): AdapterError {
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
