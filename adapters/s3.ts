import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { TransformCallback } from "node:stream";
import { credentialProblems, type S3Config } from "./s3Options.js";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectRetentionCommand,
  S3Client,
  type HeadObjectCommandOutput,
  type PutObjectCommandInput,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { AdapterDeps, BlobSource, ObjectInfo, StorageAdapter } from "./types.js";
import {
  AdapterError,
  AuthError,
  ChecksumMismatchError,
  DestinationConfigError,
  NotFoundError,
  PermanentError,
  TransientError,
  assertSafeKey,
} from "./errors.js";
import { HashingCounter } from "./streams.js";

// ---------------------------------------------------------------------------
// Adapter
// ---------------------------------------------------------------------------

/**
 * An S3 bucket (AWS or S3-compatible). Objects commit when the PUT or
 * CompleteMultipartUpload succeeds, so there are no temp names; leftovers of
 * interrupted writes are unfinished multipart uploads, which sweepTemporary
 * aborts.
 *
 * Integrity: the source is counted and SHA-256-hashed as it streams into
 * lib-storage's chunker, and the check runs in the stream's flush, i.e.
 * before the last part is handed over. A short, long or different source
 * therefore fails the upload before PutObject / CompleteMultipartUpload is
 * ever sent, and lib-storage aborts the multipart upload. Our SHA-256 travels
 * as `x-amz-meta-sha256`; a HeadObject after the commit checks the size.
 */
export { s3OptionsSchema, checkS3Options, parseS3Config, type S3Config, type S3Tuning } from "./s3Options.js";
import type { S3Tuning } from "./s3Options.js";

export async function createS3Adapter(config: S3Config, deps: AdapterDeps, tuning: S3Tuning = {}): Promise<StorageAdapter> {
  const root = config.prefix ?? "";
  const host = config.endpoint ? new URL(config.endpoint).host : undefined; // URL.host never carries user:pass
  // "s3:bucket/prefix", plus "@host:port" for a custom endpoint. Never credentials.
  const id = `s3:${config.bucket}${root ? `/${root.replace(/\/$/, "")}` : ""}${host ? `@${host}` : ""}`;
  const where = host ? ` at ${host}` : "";

  const credProblems = credentialProblems(config);
  if (credProblems.length > 0) {
    throw new DestinationConfigError(credProblems.map((p) => p.message).join("; "), { adapter: id, op: "open" });
  }

  const checksumMode = config.checksumMode ?? (config.endpoint ? "when_required" : "when_supported");
  const partSize = config.partSizeMB * 1024 * 1024;
  const client = new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials:
      config.accessKeyId && config.secretAccessKey
        ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, sessionToken: config.sessionToken }
        : undefined,
    // WHEN_REQUIRED is mandatory for s3rver (it stores the aws-chunked framing of
    // streamed checksummed PUTs inside the object) and for R2/older MinIO, which
    // reject x-amz-checksum-* headers. Our own SHA-256 covers integrity either way.
    requestChecksumCalculation: checksumMode === "when_required" ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
    responseChecksumValidation: checksumMode === "when_required" ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
    // One retry policy for the whole program: adapters/wrap/withRetry (restic's model).
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });

  const fail = (op: string, key: string | undefined, err: unknown): AdapterError => mapS3Error(err, { adapter: id, op, key }, config.bucket);
  const fullKey = (key: string, op: string): string => {
    assertSafeKey(key, { adapter: id, op });
    return root + key;
  };
  const relKey = (k: string): string => (k.startsWith(root) ? k.slice(root.length) : k);
  const opts = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

  // Open-time checks: the bucket exists and these credentials may use it.
  try {
    await client.send(new HeadBucketCommand({ Bucket: config.bucket }));
  } catch (err) {
    client.destroy();
    const status = httpStatus(err);
    if (status === 404 || errName(err) === "NoSuchBucket" || errName(err) === "NotFound") {
      throw new DestinationConfigError(`bucket ${config.bucket} does not exist${where}; create it or fix the bucket name`, {
        adapter: id, op: "open", cause: err,
      });
    }
    if (status === 403) {
      throw new AuthError(`access to bucket ${config.bucket}${where} was refused: check the access key and secret, and that they may list this bucket`, {
        adapter: id, op: "open", cause: err,
      });
    }
    if (status === 301 || errName(err) === "PermanentRedirect") {
      throw new DestinationConfigError(`bucket ${config.bucket} is not in region ${config.region}; set region to the bucket's region`, {
        adapter: id, op: "open", cause: err,
      });
    }
    throw fail("open", undefined, err);
  }

  // Is Object Lock on for the bucket? Then deletes must address versions (see
  // delete) and PUTs need an integrity header even without our own lock settings.
  const bucketLock = await probeObjectLock();
  if (config.objectLock && bucketLock === "disabled") {
    client.destroy();
    throw new DestinationConfigError(
      `objectLock is configured but bucket ${config.bucket} does not have Object Lock enabled; Object Lock can only be enabled on the bucket itself`,
      { adapter: id, op: "open" },
    );
  }
  const lockActive = Boolean(config.objectLock) || bucketLock === "enabled";
  // Object Lock PUTs need Content-MD5 or x-amz-sdk-checksum-algorithm (AWS; moto
  // checks the same), and AWS wants a checksum on every UploadPart of a locked
  // multipart upload. With ChecksumAlgorithm=SHA256 in the params the SDK adds
  // x-amz-sdk-checksum-algorithm plus x-amz-checksum-sha256 per request even in
  // WHEN_REQUIRED mode; parts are Buffers, so it goes in a header, never in an
  // aws-chunked trailer.
  const sendChecksums = checksumMode === "when_supported" || lockActive;

  async function probeObjectLock(): Promise<"enabled" | "disabled" | "unknown"> {
    try {
      const out = await client.send(new GetObjectLockConfigurationCommand({ Bucket: config.bucket }));
      return out.ObjectLockConfiguration?.ObjectLockEnabled === "Enabled" ? "enabled" : "disabled";
    } catch (err) {
      if (errName(err) === "ObjectLockConfigurationNotFoundError") return "disabled";
      // s3rver says 501 NotImplemented, R2 may refuse, a narrow policy may deny it.
      deps.logger.debug({ adapter: id, err: errName(err) }, "cannot read the bucket's Object Lock configuration; assuming none");
      return "unknown";
    }
  }

  const retainUntil = (): Date | undefined =>
    config.objectLock ? new Date(Date.now() + config.objectLock.days * 86_400_000) : undefined;

  const toInfo = (key: string, head: HeadObjectCommandOutput): ObjectInfo => {
    const sha = head.Metadata?.sha256;
    return {
      key,
      size: head.ContentLength ?? 0,
      modifiedAt: head.LastModified ?? new Date(0),
      ...(sha && /^[0-9a-f]{64}$/.test(sha) ? { sha256: sha } : {}),
      ...(head.ObjectLockRetainUntilDate ? { lockedUntil: head.ObjectLockRetainUntilDate } : {}),
    };
  };

  /** Best effort: remove exactly the version we wrote (never a delete marker over older data). */
  const removeWritten = async (full: string, versionId: string | undefined): Promise<void> => {
    await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: full, VersionId: versionId })).catch((err) => {
      deps.logger.warn({ adapter: id, key: full, err: errName(err) }, "could not remove an object that failed verification");
    });
  };

  const adapter = {
    id,
    capabilities: { atomicReplace: true, maxConnections: 4 },

    async put(key: string, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo> {
      const full = fullKey(key, "put");
      const ctx = { adapter: id, op: "put", key };
      if (signal?.aborted) throw new TransientError("aborted before the upload started", { ...ctx, cause: signal.reason });

      const counter = new VerifyingCounter(src, ctx);
      const body = src.open();
      let sourceError: unknown;
      pipeline(body, counter).catch((err) => {
        sourceError ??= err;
      });

      const lockUntil = retainUntil();
      // S3 allows 10,000 parts per upload: grow the part for very large artifacts (8 MiB parts stop at ~78 GiB).
      const uploadPartSize = Math.max(partSize, Math.ceil(src.size / 10_000));
      const singlePart = src.size <= uploadPartSize; // lib-storage sends one PutObject iff the body fits one part
      const params: PutObjectCommandInput = {
        Bucket: config.bucket,
        Key: full,
        Body: counter,
        ContentType: "application/octet-stream",
        Metadata: { sha256: src.sha256 },
        ...(sendChecksums
          ? {
              ChecksumAlgorithm: "SHA256",
              // A single PUT carries our full-object SHA-256, so AWS itself rejects
              // different bytes (BadDigest). Multipart parts get per-part SHA-256
              // from the SDK instead: a full-object SHA-256 is not allowed there, and
              // lib-storage would copy it onto every UploadPart.
              ...(singlePart ? { ChecksumSHA256: Buffer.from(src.sha256, "hex").toString("base64") } : {}),
            }
          : {}),
        ...(config.objectLock && lockUntil ? { ObjectLockMode: config.objectLock.mode, ObjectLockRetainUntilDate: lockUntil } : {}),
      };

      const abortController = new AbortController();
      const onAbort = () => abortController.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      const upload = new Upload({ client, params, partSize: uploadPartSize, queueSize: config.queueSize, abortController });
      let versionId: string | undefined;
      try {
        const result = await upload.done();
        // Unversioned buckets may report the literal version "null"; moto then
        // refuses ?versionId=null, so address the key without a version.
        const v = (result as { VersionId?: string }).VersionId;
        versionId = v && v !== "null" ? v : undefined;
      } catch (err) {
        body.destroy();
        counter.destroy();
        // Prefer the real reason (a short source, a broken disk) over what
        // lib-storage reports after it (e.g. s3rver's 405 on AbortMultipartUpload).
        if (counter.failure) throw counter.failure;
        if (signal?.aborted) throw new TransientError("upload aborted", { ...ctx, cause: signal.reason ?? err });
        if (sourceError) throw sourceProblem(sourceError, ctx);
        throw fail("put", key, err);
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }

      // The flush check has run (the body ended), but stay defensive: never
      // report success for bytes we did not verify.
      if (!counter.verified) {
        await removeWritten(full, versionId);
        throw counter.failure ?? new PermanentError("upload finished before the source was verified", ctx);
      }

      let head: HeadObjectCommandOutput;
      try {
        head = await client.send(new HeadObjectCommand({ Bucket: config.bucket, Key: full, VersionId: versionId }), opts(signal));
      } catch (err) {
        throw fail("put", key, err);
      }
      if (head.ContentLength !== src.size) {
        await removeWritten(full, versionId ?? head.VersionId);
        throw new ChecksumMismatchError(`the store holds ${head.ContentLength} bytes after the upload, expected ${src.size}`, {
          ...ctx, expected: String(src.size), actual: String(head.ContentLength),
        });
      }
      const info = toInfo(key, head);
      info.sha256 ??= src.sha256;

      // moto (and possibly other S3-compatible stores) ignore the lock headers of
      // CreateMultipartUpload; AWS applies them. When the committed version shows
      // no retention, set it explicitly on that version.
      if (config.objectLock && lockUntil && !head.ObjectLockRetainUntilDate) {
        try {
          await client.send(
            new PutObjectRetentionCommand({
              Bucket: config.bucket,
              Key: full,
              VersionId: versionId ?? head.VersionId,
              Retention: { Mode: config.objectLock.mode, RetainUntilDate: lockUntil },
            }),
            opts(signal),
          );
          info.lockedUntil = lockUntil;
        } catch (err) {
          throw new PermanentError(`stored, but Object Lock could not be applied: ${describeS3(err)}`, { ...ctx, cause: err });
        }
      }
      return info;
    },

    async get(key: string, signal?: AbortSignal): Promise<Readable> {
      const full = fullKey(key, "get");
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: full }), opts(signal));
        if (!out.Body) throw new PermanentError("the store returned no body", { adapter: id, op: "get", key });
        return out.Body as Readable;
      } catch (err) {
        throw fail("get", key, err);
      }
    },

    async stat(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
      const full = fullKey(key, "stat");
      try {
        return toInfo(key, await client.send(new HeadObjectCommand({ Bucket: config.bucket, Key: full }), opts(signal)));
      } catch (err) {
        throw fail("stat", key, err);
      }
    },

    async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket: config.bucket, Prefix: root + prefix, ContinuationToken: token, MaxKeys: tuning.listPageSize }),
            opts(signal),
          );
        } catch (err) {
          throw fail("list", prefix, err);
        }
        for (const o of page.Contents ?? []) {
          // Zero-byte "folder" markers made by consoles are not objects of ours.
          if (!o.Key || o.Key.endsWith("/")) continue;
          yield { key: relKey(o.Key), size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    /**
     * Without Object Lock: a plain DeleteObject (on a versioned bucket that
     * adds a delete marker; old versions are left to the bucket's lifecycle
     * rules).
     *
     * With Object Lock (configured here or enabled on the bucket): a plain
     * DeleteObject would also only add a delete marker, which would hide a
     * locked copy rather than be refused, and retention would believe it gone.
     * So every version of the key is deleted by VersionId: unlocked versions
     * go, locked ones are refused by the store, and then delete throws a
     * PermanentError saying until when the object is locked.
     */
    async delete(key: string, signal?: AbortSignal): Promise<void> {
      const full = fullKey(key, "delete");
      if (!lockActive) {
        try {
          await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: full }), opts(signal));
        } catch (err) {
          const mapped = fail("delete", key, err);
          if (!(mapped instanceof NotFoundError)) throw mapped;
        }
        return;
      }
      const refused: { versionId: string; until?: Date; mode?: string; err: unknown }[] = [];
      for await (const versionId of versionsOf(full, signal)) {
        try {
          await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: full, VersionId: versionId }), opts(signal));
        } catch (err) {
          const mapped = fail("delete", key, err);
          if (mapped instanceof NotFoundError) continue;
          if (httpStatus(err) !== 403) throw mapped;
          const head = await client
            .send(new HeadObjectCommand({ Bucket: config.bucket, Key: full, VersionId: versionId }), opts(signal))
            .catch(() => undefined);
          const until = head?.ObjectLockRetainUntilDate;
          if (!until && head?.ObjectLockLegalHoldStatus !== "ON") throw mapped; // a plain permission problem
          refused.push({ versionId, until, mode: head?.ObjectLockMode, err });
        }
      }
      if (refused.length > 0) {
        const latest = refused.reduce<Date | undefined>((m, r) => (r.until && (!m || r.until > m) ? r.until : m), undefined);
        const mode = refused.find((r) => r.mode)?.mode;
        throw new PermanentError(
          latest
            ? `refused: the object is under Object Lock${mode ? ` (${mode})` : ""} until ${latest.toISOString()}; it cannot be deleted before then`
            : `refused: the object is under an Object Lock legal hold`,
          { adapter: id, op: "delete", key, cause: refused[0].err },
        );
      }
    },

    async sweepTemporary(prefix: string, olderThan: Date, signal?: AbortSignal): Promise<string[]> {
      const swept: string[] = [];
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        let page;
        try {
          page = await client.send(
            new ListMultipartUploadsCommand({ Bucket: config.bucket, Prefix: root + prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
            opts(signal),
          );
        } catch (err) {
          if (httpStatus(err) === 501 || httpStatus(err) === 405 || errName(err) === "NotImplemented") {
            deps.logger.warn({ adapter: id }, "this S3 server cannot list multipart uploads; nothing to sweep");
            return swept;
          }
          throw fail("sweepTemporary", prefix, err);
        }
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= olderThan) continue;
          try {
            await client.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: u.Key, UploadId: u.UploadId }), opts(signal));
          } catch (err) {
            const mapped = fail("sweepTemporary", relKey(u.Key), err);
            if (!(mapped instanceof NotFoundError)) throw mapped; // NoSuchUpload: someone else finished it
          }
          swept.push(relKey(u.Key));
        }
        const more = page.IsTruncated && (page.NextKeyMarker || page.NextUploadIdMarker);
        keyMarker = more ? page.NextKeyMarker : undefined;
        uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
      } while (keyMarker || uploadIdMarker);
      return swept;
    },

    async close(): Promise<void> {
      client.destroy();
    },
  } satisfies StorageAdapter;

  /** Version ids (including delete markers) of exactly `full`, newest first. */
  async function* versionsOf(full: string, signal?: AbortSignal): AsyncIterable<string> {
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await client.send(
          new ListObjectVersionsCommand({ Bucket: config.bucket, Prefix: full, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
          opts(signal),
        );
      } catch (err) {
        throw fail("delete", relKey(full), err);
      }
      const entries = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
        .filter((v) => v.Key === full && v.VersionId)
        .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0));
      for (const v of entries) yield v.VersionId!;
      const more = page.IsTruncated && (page.NextKeyMarker || page.NextVersionIdMarker);
      keyMarker = more ? page.NextKeyMarker : undefined;
      versionIdMarker = more ? page.NextVersionIdMarker : undefined;
    } while (keyMarker || versionIdMarker);
  }

  return adapter;
}

// ---------------------------------------------------------------------------
// Streaming verification
// ---------------------------------------------------------------------------

/**
 * Counts and hashes the source on its way into lib-storage and fails the
 * stream (so the upload) when it yields more or fewer bytes than declared, or
 * different bytes. The size check runs per chunk, the hash check in flush,
 * which happens before the chunker hands the last part to S3.
 */
class VerifyingCounter extends HashingCounter {
  failure?: AdapterError;
  verified = false;

  constructor(
    private readonly src: BlobSource,
    private readonly ctx: { adapter: string; op: string; key: string },
  ) {
    super();
  }

  override _transform(chunk: Buffer, enc: BufferEncoding, done: TransformCallback): void {
    if (this.bytes + chunk.length > this.src.size) {
      this.failure = new PermanentError(`the source yielded more than the declared ${this.src.size} bytes`, this.ctx);
      return done(this.failure);
    }
    super._transform(chunk, enc, done);
  }

  override _flush(done: TransformCallback): void {
    if (this.bytes !== this.src.size) {
      this.failure = new PermanentError(`the source yielded ${this.bytes} bytes, expected ${this.src.size}`, this.ctx);
      return done(this.failure);
    }
    const actual = this.digest();
    if (actual !== this.src.sha256) {
      this.failure = new ChecksumMismatchError(`source bytes hash to ${actual}, expected ${this.src.sha256}`, {
        ...this.ctx, expected: this.src.sha256, actual,
      });
      return done(this.failure);
    }
    this.verified = true;
    done();
  }
}

// ---------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------

type S3ErrorLike = { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };

function errName(err: unknown): string {
  const e = err as S3ErrorLike | undefined;
  return e?.Code ?? e?.name ?? "";
}

function httpStatus(err: unknown): number | undefined {
  return (err as S3ErrorLike | undefined)?.$metadata?.httpStatusCode;
}

/** "Name (HTTP 403)": SDK error names and codes never carry credentials; we do not echo messages that might. */
function describeS3(err: unknown): string {
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
function sourceProblem(err: unknown, ctx: { adapter: string; op: string; key: string }): AdapterError {
  const code = (err as NodeJS.ErrnoException)?.code ?? "";
  const message = `reading the source failed: ${(err as Error)?.message ?? String(err)}`;
  return ["EIO", "EAGAIN", "EBUSY", "EMFILE", "ENFILE"].includes(code)
    ? new TransientError(message, { ...ctx, cause: err })
    : new PermanentError(message, { ...ctx, cause: err });
}
