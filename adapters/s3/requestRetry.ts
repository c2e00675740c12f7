import pRetry from "p-retry";
import { TransientError, describeError, isRetryable } from "../errors.js";
import type { S3Context } from "./client.js";

/**
 * How often one request of a multipart upload is tried inside that upload.
 * openAdapter passes the destination's `retry` settings; without them (an
 * adapter made directly, in tests) each request is tried once.
 */
export interface RequestRetry {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

/**
 * Tries `attempt` again with backoff while it fails with a TransientError (a
 * 5xx, a dropped or stalled connection): one failed part costs one part
 * again, not the whole upload. `attempt` throws mapped adapter errors; a
 * NotFoundError (NoSuchUpload: the upload itself is gone) is not retried
 * here, the caller starts a new upload. Stops at once when `signal` fires.
 */
export function retryRequest<T>(s3: S3Context, what: string, signal: AbortSignal, attempt: () => Promise<T>): Promise<T> {
  const policy = s3.tuning.retry;
  if (!policy || policy.retries <= 0) return attempt();
  return pRetry(attempt, {
    retries: policy.retries,
    minTimeout: policy.minTimeoutMs,
    maxTimeout: policy.maxTimeoutMs,
    randomize: true,
    signal,
    shouldRetry: ({ error }) => isRetryable(error) && !signal.aborted,
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft > 0 && isRetryable(error) && !signal.aborted) {
        s3.logger.warn({ adapter: s3.id, request: what, attempt: attemptNumber, err: describeError(error) }, `${what} failed, retrying it inside the same upload`);
      }
    },
  });
}

/**
 * The error a multipart upload ends with once its requests have used their
 * retries: still transient (the store may be back tomorrow), but marked so
 * that withRetry does not start the whole upload again (attempts would
 * multiply: 4 uploads × 4 tries of each part).
 */
export function retriesSpent(s3: S3Context, err: unknown): unknown {
  if (!s3.tuning.retry || !(err instanceof TransientError) || err.retriesSpent) return err;
  const prefix = `${err.adapter} ${err.op}${err.key ? ` ${err.key}` : ""}: `;
  const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return new TransientError(`${message} (each request tried ${s3.tuning.retry.retries + 1} times inside the upload)`, {
    adapter: err.adapter, op: err.op, key: err.key, cause: err, retriesSpent: true,
  });
}
