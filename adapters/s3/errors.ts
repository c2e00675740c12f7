import { AdapterError, AuthError, DestinationConfigError, NotFoundError, PermanentError, TransientError } from "../errors.js";

type S3ErrorLike = { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };

export function errName(err: unknown): string {
  const e = err as S3ErrorLike | undefined;
  return e?.Code ?? e?.name ?? "";
}

export function httpStatus(err: unknown): number | undefined {
  return (err as S3ErrorLike | undefined)?.$metadata?.httpStatusCode;
}

/** "Name (HTTP 403)": SDK error names and codes never carry credentials; we do not echo messages that might. */
export function describeS3(err: unknown): string {
  const status = httpStatus(err);
  const name = errName(err) || "Error";
  return status ? `${name} (HTTP ${status})` : `${name}: ${(err as Error)?.message ?? String(err)}`;
}

const NETWORK_CODES = new Set([
  "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN",
  "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "ESOCKETTIMEDOUT", "UND_ERR_SOCKET", "ERR_STREAM_PREMATURE_CLOSE",
]);
const THROTTLING = new Set([
  "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "TooManyRequests",
  "TooManyRequestsException", "RequestLimitExceeded", "ProvisionedThroughputExceededException", "BandwidthLimitExceeded",
]);
const TRANSIENT_CODES = new Set([
  "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable", "TimeoutError",
  // The SDK corrects its clock offset from this response, so the next attempt is signed right.
  "RequestTimeTooSkewed",
  // The store received different bytes than were sent: corrupted in transit, worth another attempt.
  "BadDigest", "XAmzContentSHA256Mismatch", "IncompleteBody",
]);
const AUTH_CODES = new Set([
  "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
  "InvalidSecurity", "AccountProblem", "AllAccessDisabled", "CredentialsProviderError", "Forbidden",
]);
const NOT_FOUND_CODES = new Set(["NoSuchKey", "NotFound", "NoSuchVersion", "NoSuchUpload"]);

/** Turns an SDK, network or stream error into one of our typed errors, with the original as cause. */
export function mapS3Error(err: unknown, ctx: { adapter: string; op: string; key?: string }, bucket?: string): AdapterError {
  if (err instanceof AdapterError) return err;
  const c = { ...ctx, cause: err };
  const name = errName(err);
  const code = (err as S3ErrorLike | undefined)?.code ?? "";
  const status = httpStatus(err);
  const what = describeS3(err);

  if (name === "AbortError" || code === "ABORT_ERR") return new TransientError("aborted (timeout or cancel)", c);
  if (name === "NoSuchBucket") return new DestinationConfigError(`bucket ${bucket ?? "(unnamed)"} does not exist (NoSuchBucket)`, c);
  if (NOT_FOUND_CODES.has(name) || status === 404) return new NotFoundError(`no such object (${name || "HTTP 404"})`, c);
  if (name === "InvalidAccessKeyId") return new AuthError("the store does not know this access key id (InvalidAccessKeyId)", c);
  if (name === "SignatureDoesNotMatch") return new AuthError("request signature refused (SignatureDoesNotMatch): check secretAccessKey", c);
  if (AUTH_CODES.has(name) || status === 401 || (status === 403 && !TRANSIENT_CODES.has(name))) {
    return new AuthError(`access denied (${what}): check the credentials and their permissions`, c);
  }
  if (TRANSIENT_CODES.has(name) || THROTTLING.has(name) || NETWORK_CODES.has(code) || NETWORK_CODES.has(name) || status === 429) {
    return new TransientError(what, c);
  }
  if (name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed" || status === 301) {
    return new DestinationConfigError(`wrong region or endpoint for bucket ${bucket ?? "(unnamed)"} (${name || status})`, c);
  }
  if (name === "InvalidBucketName") return new DestinationConfigError(`invalid bucket name (InvalidBucketName)`, c);
  if (name === "NotImplemented" || status === 501) return new PermanentError(`the S3 server does not implement this (${what})`, c);
  if (status !== undefined && status >= 500) return new TransientError(what, c);
  if (status === undefined && (err as S3ErrorLike | undefined)?.$retryable) return new TransientError(what, c);
  return new PermanentError(what, c);
}

/** An error from reading the source (the staged artifact), not from the store. */
export function sourceProblem(err: unknown, ctx: { adapter: string; op: string; key: string }): AdapterError {
  const code = (err as NodeJS.ErrnoException)?.code ?? "";
  const message = `reading the source failed: ${(err as Error)?.message ?? String(err)}`;
  return ["EIO", "EAGAIN", "EBUSY", "EMFILE", "ENFILE"].includes(code)
    ? new TransientError(message, { ...ctx, cause: err })
    : new PermanentError(message, { ...ctx, cause: err });
}
