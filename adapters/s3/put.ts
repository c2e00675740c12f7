import { pipeline } from "node:stream/promises";
import type { TransformCallback } from "node:stream";
import { DeleteObjectCommand, HeadObjectCommand, type HeadObjectCommandOutput, type PutObjectCommandInput } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { BlobSource, ObjectInfo } from "../types.js";
import { AdapterError, ChecksumMismatchError, PermanentError, TransientError } from "../errors.js";
import { awaitCommit } from "../commitGate.js";
import { HashingCounter } from "../streams.js";
import { fail, fullKey, opts, type S3Context, type Target } from "./client.js";
import { errName, sourceProblem } from "./errors.js";
import { applyRetention, lockParams, retainUntil } from "./objectLock.js";
import { putFileMultipart, realVersion } from "./multipart.js";
import { toInfo } from "./read.js";

/** Uploads `src` by the cheapest verified path, then checks what the store holds and applies Object Lock if the store did not. */
export async function putObject(s3: S3Context, key: string, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo> {
  const { config } = s3;
  const full = fullKey(s3, key, "put");
  const ctx = { adapter: s3.id, op: "put", key };
  if (signal?.aborted) throw new TransientError("aborted before the upload started", { ...ctx, cause: signal.reason });

  const lockUntil = retainUntil(config);
  // S3 allows 10,000 parts per upload: grow the part for very large artifacts (8 MiB parts stop at ~78 GiB).
  const uploadPartSize = Math.max(config.partSizeMB * 1024 * 1024, Math.ceil(src.size / 10_000));
  const singlePart = src.size <= uploadPartSize; // lib-storage sends one PutObject iff the body fits one part
  // A staged file is sent part by part straight from disk: lib-storage would
  // hold up to queueSize+1 parts of a stream body in memory (~40-60 MB more RSS).
  const localPath = src.localPath;
  const versionId =
    localPath && !singlePart
      ? await putFileMultipart(s3, { key, full }, { ...src, localPath }, uploadPartSize, lockUntil, signal)
      : await putStream(s3, { key, full }, src, { uploadPartSize, singlePart, lockUntil }, signal);

  let head: HeadObjectCommandOutput;
  try {
    head = await s3.client.send(new HeadObjectCommand({ Bucket: config.bucket, Key: full, VersionId: versionId, ChecksumMode: "ENABLED" }), opts(signal));
  } catch (err) {
    throw fail(s3, "put", key, err);
  }
  if (head.ContentLength !== src.size) {
    await removeWritten(s3, full, versionId ?? head.VersionId);
    throw new ChecksumMismatchError(`the store holds ${head.ContentLength} bytes after the upload, expected ${src.size}`, {
      ...ctx, expected: String(src.size), actual: String(head.ContentLength),
    });
  }
  const info = toInfo(key, head);
  if (info.storeSha256 && info.storeSha256 !== src.sha256) {
    await removeWritten(s3, full, versionId ?? head.VersionId);
    throw new ChecksumMismatchError(`the store computed sha256 ${info.storeSha256} of what it received, expected ${src.sha256}`, {
      ...ctx, expected: src.sha256, actual: info.storeSha256,
    });
  }
  info.sha256 ??= src.sha256;
  // S3 sets Last-Modified from its own clock (for a multipart upload: when it began).
  if (head.LastModified) info.storeTime = head.LastModified;
  if (config.objectLock && lockUntil && !head.ObjectLockRetainUntilDate) {
    await applyRetention(s3, { key, full, versionId: versionId ?? head.VersionId }, lockUntil, signal);
    info.lockedUntil = lockUntil;
  }
  return info;
}

/** Best effort: remove exactly the version we wrote (never a delete marker over older data). */
async function removeWritten(s3: S3Context, full: string, versionId: string | undefined): Promise<void> {
  await s3.client.send(new DeleteObjectCommand({ Bucket: s3.config.bucket, Key: full, VersionId: versionId })).catch((err) => {
    s3.logger.warn({ adapter: s3.id, key: full, err: errName(err) }, "could not remove an object that failed verification");
  });
}

/** Upload through lib-storage from `src.open()`, verified on the way in (see VerifyingCounter). Returns the version written. */
async function putStream(
  s3: S3Context,
  target: Target,
  src: BlobSource,
  how: { uploadPartSize: number; singlePart: boolean; lockUntil: Date | undefined },
  signal?: AbortSignal,
): Promise<string | undefined> {
  const { key, full } = target;
  const ctx = { adapter: s3.id, op: "put", key };
  const counter = new VerifyingCounter(src, ctx);
  const body = src.open();
  let sourceError: unknown;
  pipeline(body, counter).catch((err) => {
    sourceError ??= err;
  });

  const params: PutObjectCommandInput = {
    Bucket: s3.config.bucket,
    Key: full,
    Body: counter,
    ContentType: "application/octet-stream",
    Metadata: { sha256: src.sha256 },
    ...(s3.sendChecksums
      ? {
          ChecksumAlgorithm: "SHA256",
          // A single PUT carries our full-object SHA-256, so AWS itself rejects
          // different bytes (BadDigest). Multipart parts get per-part SHA-256
          // from the SDK instead: a full-object SHA-256 is not allowed there, and
          // lib-storage would copy it onto every UploadPart.
          ...(how.singlePart ? { ChecksumSHA256: Buffer.from(src.sha256, "hex").toString("base64") } : {}),
        }
      : {}),
    ...lockParams(s3.config, how.lockUntil),
  };

  // One PUT commits as it lands: a held commit can only hold its start (small artifacts).
  try {
    await awaitCommit(src, ctx);
  } catch (err) {
    body.destroy();
    counter.destroy();
    throw err;
  }
  const abortController = new AbortController();
  const onAbort = () => abortController.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  const upload = new Upload({ client: s3.client, params, partSize: how.uploadPartSize, queueSize: s3.config.queueSize, abortController });
  let versionId: string | undefined;
  try {
    const result = await upload.done();
    versionId = realVersion((result as { VersionId?: string }).VersionId);
  } catch (err) {
    body.destroy();
    counter.destroy();
    // Prefer the real reason (a short source, a broken disk) over what
    // lib-storage reports after it (e.g. s3rver's 405 on AbortMultipartUpload).
    if (counter.failure) throw counter.failure;
    if (signal?.aborted) throw new TransientError("upload aborted", { ...ctx, cause: signal.reason ?? err });
    if (sourceError) throw sourceProblem(sourceError, ctx);
    throw fail(s3, "put", key, err);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }

  // The flush check has run (the body ended), but stay defensive: never
  // report success for bytes we did not verify.
  if (!counter.verified) {
    await removeWritten(s3, full, versionId);
    throw counter.failure ?? new PermanentError("upload finished before the source was verified", ctx);
  }
  return versionId;
}

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

