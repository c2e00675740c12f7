/**
 * Typed adapter errors. Callers decide by class or `code`, never by message.
 * Every error names the adapter, the operation and the key, and keeps the
 * underlying error as `cause`. Messages never include credentials.
 */
export type AdapterErrorCode = "NOT_FOUND" | "AUTH" | "TRANSIENT" | "CHECKSUM" | "CONFIG" | "PERMANENT";

export interface AdapterErrorContext {
  adapter: string;
  op: string;
  key?: string;
  cause?: unknown;
}

export class AdapterError extends Error {
  readonly code: AdapterErrorCode;
  readonly adapter: string;
  readonly op: string;
  readonly key?: string;

  constructor(code: AdapterErrorCode, message: string, ctx: AdapterErrorContext) {
    super(`${ctx.adapter} ${ctx.op}${ctx.key ? ` ${ctx.key}` : ""}: ${message}`, { cause: ctx.cause });
    this.name = new.target.name;
    this.code = code;
    this.adapter = ctx.adapter;
    this.op = ctx.op;
    this.key = ctx.key;
  }
}

/** The key does not exist. Never retried. */
export class NotFoundError extends AdapterError {
  constructor(message: string, ctx: AdapterErrorContext) {
    super("NOT_FOUND", message, ctx);
  }
}

/** Worth another attempt: network drops, timeouts, throttling, 5xx. */
export class TransientError extends AdapterError {
  /**
   * The adapter already retried this itself (S3 retries each request of a
   * multipart upload inside that upload): the retry wrapper must not start
   * the whole operation again, or attempts would multiply.
   */
  readonly retriesSpent: boolean;
  constructor(message: string, ctx: AdapterErrorContext & { retriesSpent?: boolean }) {
    super("TRANSIENT", message, ctx);
    this.retriesSpent = ctx.retriesSpent ?? false;
  }
}

/** Credentials or host identity refused. Never retried. */
export class AuthError extends AdapterError {
  constructor(message: string, ctx: AdapterErrorContext) {
    super("AUTH", message, ctx);
  }
}

/** Bytes on the store differ from what was expected. */
export class ChecksumMismatchError extends AdapterError {
  readonly expected: string;
  readonly actual: string;
  constructor(message: string, ctx: AdapterErrorContext & { expected: string; actual: string }) {
    super("CHECKSUM", message, ctx);
    this.expected = ctx.expected;
    this.actual = ctx.actual;
  }
}

/** The destination is set up wrongly (missing bucket, not a directory, no permission). */
export class DestinationConfigError extends AdapterError {
  constructor(message: string, ctx: AdapterErrorContext) {
    super("CONFIG", message, ctx);
  }
}

/** Failed and will fail again; not worth retrying. */
export class PermanentError extends AdapterError {
  constructor(message: string, ctx: AdapterErrorContext) {
    super("PERMANENT", message, ctx);
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof TransientError && !err.retriesSpent;
}

export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}

/** A key an adapter may store: relative, forward slashes, no `..`, no empty parts. */
export function assertSafeKey(key: string, ctx: { adapter: string; op: string }): void {
  const parts = key.split("/");
  const bad =
    key.length === 0 ||
    key.startsWith("/") ||
    key.includes("\\") ||
    key.includes("\0") ||
    parts.some((p) => p === "" || p === "." || p === "..");
  if (bad) {
    throw new PermanentError(`refusing unsafe key ${JSON.stringify(key)} (keys are relative, without '..' or empty parts)`, {
      ...ctx,
      key,
    });
  }
}

/** Error summary for logs: class and message only (messages never carry secrets). */
export function describeError(err: unknown): { type: string; message: string; code?: string } {
  if (err instanceof Error) return { type: err.name, message: err.message, code: (err as { code?: string }).code };
  return { type: typeof err, message: String(err) };
}
