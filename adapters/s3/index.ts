import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createReadStream } from "node:fs";
import { stat as fsStat } from "node:fs/promises";
import { createHash } from "node:crypto";
import pLimit from "p-limit";
import type { TransformCallback } from "node:stream";
import { credentialProblems, type S3Config } from "./options.js";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
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
  UploadPartCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
  type PutObjectCommandInput,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
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
import { HashingCounter } from "../streams.js";
import { describeS3, errName, httpStatus, mapS3Error, sourceProblem } from "./errors.js";

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
 * A staged file (`src.localPath`) bigger than one part skips lib-storage and
 * is sent as file-range parts, so no part is buffered in memory; see
 * putFileMultipart for how that path verifies the bytes.
 */
export { s3OptionsSchema, checkS3Options, parseS3Config, type S3Config, type S3Tuning } from "./options.js";
export { mapS3Error } from "./errors.js";
import type { S3Tuning } from "./options.js";

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
  const connectMs = Math.round((config.connectTimeoutSeconds ?? 20) * 1000);
  const opening = () => ({ abortSignal: AbortSignal.timeout(connectMs) });
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
    // socketTimeout fails a request whose socket is silent (a hung server, before or during a
    // body); the SDK's requestTimeout would only log a warning by default, so it is off.
    requestHandler: { connectionTimeout: connectMs, socketTimeout: tuning.socketIdleMs ?? 120_000, requestTimeout: 0 },
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
    await client.send(new HeadBucketCommand({ Bucket: config.bucket }), opening());
  } catch (err) {
    client.destroy();
    if (errName(err) === "AbortError" || errName(err) === "TimeoutError") {
      throw new TransientError(`no answer${where} within ${connectMs / 1000}s (connectTimeoutSeconds)`, { adapter: id, op: "open", cause: err });
    }
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
  // WHEN_REQUIRED mode; lib-storage's parts are Buffers and putFileMultipart
  // passes each part's precomputed hash, so it goes in a header, never in an
  // aws-chunked trailer.
  const sendChecksums = checksumMode === "when_supported" || lockActive;

  async function probeObjectLock(): Promise<"enabled" | "disabled" | "unknown"> {
    try {
      const out = await client.send(new GetObjectLockConfigurationCommand({ Bucket: config.bucket }), opening());
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

  type PutCtx = { adapter: string; op: string; key: string };
  const lockParams = (lockUntil: Date | undefined) =>
    config.objectLock && lockUntil ? { ObjectLockMode: config.objectLock.mode, ObjectLockRetainUntilDate: lockUntil } : {};
  /** Unversioned buckets may report the literal version "null"; moto then refuses ?versionId=null, so address the key without a version. */
  const realVersion = (v: string | undefined): string | undefined => (v && v !== "null" ? v : undefined);

  /** Upload through lib-storage from `src.open()`, verified on the way in (see VerifyingCounter). Returns the version written. */
  async function putStream(
    full: string,
    key: string,
    src: BlobSource,
    uploadPartSize: number,
    singlePart: boolean,
    lockUntil: Date | undefined,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const ctx: PutCtx = { adapter: id, op: "put", key };
    const counter = new VerifyingCounter(src, ctx);
    const body = src.open();
    let sourceError: unknown;
    pipeline(body, counter).catch((err) => {
      sourceError ??= err;
    });

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
      ...lockParams(lockUntil),
    };

    const abortController = new AbortController();
    const onAbort = () => abortController.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const upload = new Upload({ client, params, partSize: uploadPartSize, queueSize: config.queueSize, abortController });
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
    return versionId;
  }

  /**
   * A manual multipart upload whose part bodies are ranges of the staged file,
   * so memory stays at a few stream buffers per part in flight whatever the
   * part size. Integrity: one sequential pass hashes the whole file (checked
   * against src.sha256 before CompleteMultipartUpload) and each part's range;
   * every part body is hashed again as it is sent and must match its range's
   * hash, so the committed bytes are the bytes that hashed to src.sha256 even
   * if the file changed under us. With sendChecksums the part hash also goes
   * to the store as x-amz-checksum-sha256 (precomputed, so in a header, never
   * an aws-chunked trailer). Any failure aborts the multipart upload.
   */
  async function putFileMultipart(
    full: string,
    key: string,
    src: BlobSource & { localPath: string },
    uploadPartSize: number,
    lockUntil: Date | undefined,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const ctx: PutCtx = { adapter: id, op: "put", key };
    let fileSize: number;
    try {
      fileSize = (await fsStat(src.localPath)).size;
    } catch (err) {
      throw sourceProblem(err, ctx);
    }
    if (fileSize !== src.size) {
      throw new PermanentError(`the source file holds ${fileSize} bytes, expected ${src.size}`, ctx);
    }

    const ranges: { start: number; end: number }[] = []; // end exclusive
    for (let start = 0; start < src.size; start += uploadPartSize) ranges.push({ start, end: Math.min(start + uploadPartSize, src.size) });

    // `stop` ends everything still running after the first failure; part
    // requests also end on the caller's signal.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    // The first failure decides the error; later ones are mostly fallout of `stop`.
    let failure: { err: unknown; from: "source" | "store" } | undefined;
    const failed = (from: "source" | "store") => (err: unknown): never => {
      failure ??= { err, from };
      stop.abort();
      throw err;
    };

    let uploadId: string | undefined;
    try {
      const scan = hashFileParts(src.localPath, ranges, stop.signal);
      const whole = scan.whole
        .then((sha) => {
          if (sha !== src.sha256) {
            throw new ChecksumMismatchError(`source bytes hash to ${sha}, expected ${src.sha256}`, { ...ctx, expected: src.sha256, actual: sha });
          }
        })
        .catch(failed("source"));
      whole.catch(() => undefined); // observed below; no unhandled rejection meanwhile

      const created = await client
        .send(
          new CreateMultipartUploadCommand({
            Bucket: config.bucket,
            Key: full,
            ContentType: "application/octet-stream",
            Metadata: { sha256: src.sha256 },
            ...(sendChecksums ? { ChecksumAlgorithm: "SHA256" } : {}),
            ...lockParams(lockUntil),
          }),
          { abortSignal: stop.signal },
        )
        .catch(failed("store"));
      uploadId = created.UploadId;
      if (!uploadId) throw failed("store")(new PermanentError("the store returned no UploadId", ctx));

      const limit = pLimit(config.queueSize);
      const sendPart = async (i: number): Promise<CompletedPart> => {
        if (stop.signal.aborted) failed("store")(new TransientError("upload stopped", ctx));
        const { start, end } = ranges[i];
        const expected = await scan.parts[i].catch(failed("source"));
        const tap = new HashingCounter();
        let readError: unknown;
        // fs ranges are inclusive at both ends.
        pipeline(createReadStream(src.localPath, { start, end: end - 1 }), tap).catch((err) => {
          readError ??= err;
        });
        let out;
        try {
          out = await client.send(
            new UploadPartCommand({
              Bucket: config.bucket,
              Key: full,
              UploadId: uploadId,
              PartNumber: i + 1,
              Body: tap,
              ContentLength: end - start,
              ...(sendChecksums ? { ChecksumAlgorithm: "SHA256", ChecksumSHA256: expected.toString("base64") } : {}),
            }),
            { abortSignal: stop.signal },
          );
        } catch (err) {
          tap.destroy();
          if (readError) failed("source")(readError);
          throw failed("store")(err);
        }
        const sent = tap.digest();
        if (tap.bytes !== end - start || sent !== expected.toString("hex")) {
          failed("source")(
            new ChecksumMismatchError(`part ${i + 1} changed on disk during the upload (${tap.bytes} bytes hashing to ${sent})`, {
              ...ctx, expected: expected.toString("hex"), actual: sent,
            }),
          );
        }
        return { PartNumber: i + 1, ETag: out.ETag, ...(sendChecksums ? { ChecksumSHA256: out.ChecksumSHA256 ?? expected.toString("base64") } : {}) };
      };
      const settled = await Promise.allSettled(ranges.map((_, i) => limit(() => sendPart(i))));
      await whole.catch(() => undefined);
      const rejected = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failure || rejected) throw failure?.err ?? rejected?.reason;
      const parts = settled.map((r) => (r as PromiseFulfilledResult<CompletedPart>).value);
      await whole; // the whole file hashed to src.sha256 before anything commits

      const done = await client
        .send(
          new CompleteMultipartUploadCommand({ Bucket: config.bucket, Key: full, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          { abortSignal: stop.signal },
        )
        .catch(failed("store"));
      return realVersion(done.VersionId);
    } catch (err) {
      stop.abort();
      if (uploadId) {
        // Best effort: s3rver answers 405; sweepTemporary catches what is left.
        await client.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: full, UploadId: uploadId })).catch((e) => {
          deps.logger.debug({ adapter: id, key: full, err: errName(e) }, "could not abort the multipart upload");
        });
      }
      const first = failure ?? { err, from: "store" as const };
      if (first.err instanceof AdapterError && !(first.err instanceof TransientError && signal?.aborted)) throw first.err;
      if (signal?.aborted) throw new TransientError("upload aborted", { ...ctx, cause: signal.reason ?? first.err });
      if (first.from === "source") throw sourceProblem(first.err, ctx);
      throw fail("put", key, first.err);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  const adapter = {
    id,
    capabilities: { maxConnections: 4, statAddsDetails: true },

    async put(key: string, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo> {
      const full = fullKey(key, "put");
      const ctx = { adapter: id, op: "put", key };
      if (signal?.aborted) throw new TransientError("aborted before the upload started", { ...ctx, cause: signal.reason });

      const lockUntil = retainUntil();
      // S3 allows 10,000 parts per upload: grow the part for very large artifacts (8 MiB parts stop at ~78 GiB).
      const uploadPartSize = Math.max(partSize, Math.ceil(src.size / 10_000));
      const singlePart = src.size <= uploadPartSize; // lib-storage sends one PutObject iff the body fits one part
      // A staged file is sent part by part straight from disk: lib-storage would
      // hold up to queueSize+1 parts of a stream body in memory (~40-60 MB more RSS).
      const localPath = src.localPath;
      const versionId =
        localPath && !singlePart
          ? await putFileMultipart(full, key, { ...src, localPath }, uploadPartSize, lockUntil, signal)
          : await putStream(full, key, src, uploadPartSize, singlePart, lockUntil, signal);

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

    async get(key: string, signal?: AbortSignal, from = 0): Promise<Readable> {
      const full = fullKey(key, "get");
      try {
        const range = from > 0 ? `bytes=${from}-` : undefined;
        const out = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: full, Range: range }), opts(signal)).catch((err) => {
          // Asked for the bytes after the last one (a download that broke off right at its end).
          if (range && httpStatus(err) === 416) return { Body: Readable.from([]) };
          throw err;
        });
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

/**
 * One sequential read of `path` that hashes the whole file and, separately,
 * each of `ranges` (contiguous, from 0). Part hashes resolve as the read
 * passes them, so uploads can start long before the whole hash is known.
 */
function hashFileParts(
  path: string,
  ranges: readonly { start: number; end: number }[],
  signal: AbortSignal,
): { parts: Promise<Buffer>[]; whole: Promise<string> } {
  const settle: { resolve: (b: Buffer) => void; reject: (e: unknown) => void }[] = [];
  const parts = ranges.map(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        settle.push({ resolve, reject });
      }),
  );
  for (const p of parts) p.catch(() => undefined); // parts never asked for must not be unhandled rejections
  const total = ranges.length > 0 ? ranges[ranges.length - 1].end : 0;
  const whole = (async () => {
    const all = createHash("sha256");
    let i = 0;
    let part = createHash("sha256");
    let pos = 0;
    // 1 MiB reads: the pass runs at disk speed, far ahead of the network.
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>) {
      all.update(chunk);
      let off = 0;
      while (off < chunk.length) {
        if (i >= ranges.length) throw new Error(`the file grew past the declared ${total} bytes while it was read`);
        const take = Math.min(chunk.length - off, ranges[i].end - pos);
        part.update(chunk.subarray(off, off + take));
        off += take;
        pos += take;
        if (pos === ranges[i].end) {
          settle[i++].resolve(part.digest());
          part = createHash("sha256");
        }
      }
    }
    if (pos !== total) throw new Error(`the file ended after ${pos} bytes, expected ${total}`);
    return all.digest("hex");
  })();
  whole.catch((err) => {
    for (const s of settle) s.reject(err); // no-op for parts already resolved
  });
  return { parts, whole };
}
