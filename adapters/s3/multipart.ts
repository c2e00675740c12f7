import { pipeline } from "node:stream/promises";
import { createReadStream } from "node:fs";
import { stat as fsStat } from "node:fs/promises";
import pLimit from "p-limit";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import type { BlobSource } from "../types.js";
import { AdapterError, ChecksumMismatchError, NotFoundError, PermanentError, TransientError } from "../errors.js";
import { HashingCounter } from "../streams.js";
import { awaitCommit } from "../commitGate.js";
import { fail, type S3Context, type Target } from "./client.js";
import { errName, sourceProblem } from "./errors.js";
import { lockParams } from "./objectLock.js";
import { retriesSpent, retryRequest } from "./requestRetry.js";
import { hashFileParts } from "./partHashes.js";
import { stallWatch } from "./stallWatch.js";
import { partBytes, progressOf, type PartBytes } from "../progress.js";

type PutCtx = { adapter: string; op: string; key: string };
type Range = { start: number; end: number }; // end exclusive

/** Unversioned buckets may report the literal version "null"; moto then refuses ?versionId=null, so address the key without a version. */
export const realVersion = (v: string | undefined): string | undefined => (v && v !== "null" ? v : undefined);

/** Who failed first in one multipart upload, and the signal that stops everything still running. */
class Run {
  readonly stop = new AbortController();
  // The first failure decides the error; later ones are mostly fallout of `stop`.
  failure: { err: unknown; from: "source" | "store" } | undefined;

  failed = (from: "source" | "store") => (err: unknown): never => {
    this.failure ??= { err, from };
    this.stop.abort();
    throw err;
  };
}

/** The store forgot the upload (NoSuchUpload): only a new upload can go on. */
class UploadGone extends Error {}

/**
 * The bound on a failed upload's AbortMultipartUpload. It is awaited only
 * after a source problem (the store is fine then); after a store failure it
 * runs on in the background, since a store that stalled will not answer it
 * either and waiting would stack a second stall on every attempt. What stays
 * behind is swept after leftoverGrace.
 */
const ABORT_GRACE_MS = 2_000;

/**
 * A manual multipart upload whose part bodies are ranges of the staged file,
 * so memory stays at a few stream buffers per part in flight whatever the
 * part size. Integrity: one sequential pass hashes the whole file (checked
 * against src.sha256 before CompleteMultipartUpload) and each part's range;
 * every part body is hashed again as it is sent and must match its range's
 * hash, so the committed bytes are the bytes that hashed to src.sha256 even
 * if the file changed under us. With sendChecksums the part hash also goes
 * to the store as x-amz-checksum-sha256 (precomputed, so in a header, never
 * an aws-chunked trailer).
 *
 * Retries (s3.tuning.retry): each request (create, every part, complete) is
 * retried with backoff inside the same upload; a new upload starts only when
 * the store says this one is gone (NoSuchUpload). The error after that is
 * marked retriesSpent, so withRetry does not start it all again. Any other
 * failure aborts the multipart upload.
 */
export async function putFileMultipart(
  s3: S3Context,
  target: Target,
  src: BlobSource & { localPath: string },
  uploadPartSize: number,
  lockUntil: Date | undefined,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const ctx: PutCtx = { adapter: s3.id, op: "put", key: target.key };
  const ranges = await partRanges(src, uploadPartSize, ctx);
  // The hashing pass serves every upload attempt; it ends with the caller's signal or when we are done.
  const scanStop = new AbortController();
  const onAbort = () => scanStop.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const scan = hashFileParts(src.localPath, ranges, scanStop.signal);
    const whole = scan.whole.then((sha) => {
      if (sha !== src.sha256) {
        throw new ChecksumMismatchError(`source bytes hash to ${sha}, expected ${src.sha256}`, { ...ctx, expected: src.sha256, actual: sha });
      }
    });
    whole.catch(() => undefined); // observed by every attempt; no unhandled rejection meanwhile
    const restarts = s3.tuning.retry?.retries ?? 0;
    for (let restart = 0; ; restart++) {
      try {
        return await uploadOnce({ s3, target, path: src.localPath, sha256: src.sha256, ranges, partHashes: scan.parts, whole, lockUntil, ctx, beforeCommit: src.beforeCommit, sent: partBytes(progressOf(src), ranges.length) }, signal);
      } catch (err) {
        if (!(err instanceof UploadGone) || restart >= restarts) throw err instanceof UploadGone ? err.cause : err;
        s3.logger.warn({ adapter: s3.id, key: target.full, restart: restart + 1 }, "the store lost the multipart upload (NoSuchUpload); starting a new one");
      }
    }
  } catch (err) {
    throw retriesSpent(s3, err);
  } finally {
    scanStop.abort();
    signal?.removeEventListener("abort", onAbort);
  }
}

/** What every part of one upload attempt shares. */
interface Attempt {
  s3: S3Context;
  target: Target;
  path: string;
  sha256: string;
  ranges: readonly Range[];
  /** Each range's SHA-256, from the sequential pass of hashFileParts. */
  partHashes: Promise<Buffer>[];
  /** Resolves once the whole file hashed to sha256. */
  whole: Promise<void>;
  lockUntil: Date | undefined;
  ctx: PutCtx;
  /** The caller's hold on the commit (adapters/commitGate.ts). */
  beforeCommit?: BlobSource["beforeCommit"];
  /** Bytes read into part bodies, for src.onProgress. */
  sent: PartBytes;
}

/** One multipart upload, from CreateMultipartUpload to Complete; throws UploadGone when the store lost it. */
async function uploadOnce(a: Attempt, signal?: AbortSignal): Promise<string | undefined> {
  const { s3, target, ctx } = a;
  const { config, client } = s3;
  const run = new Run();
  const onAbort = () => run.stop.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  const stop = run.stop.signal;
  a.whole.catch(run.failed("source")).catch(() => undefined);
  let uploadId: string | undefined;
  try {
    const created = await retryRequest(s3, "CreateMultipartUpload", stop, () =>
      storeCall(s3, ctx, () =>
        client.send(
          new CreateMultipartUploadCommand({
            Bucket: config.bucket,
            Key: target.full,
            ContentType: "application/octet-stream",
            Metadata: { sha256: a.sha256 },
            ...(s3.sendChecksums ? { ChecksumAlgorithm: "SHA256" } : {}),
            ...lockParams(config, a.lockUntil),
          }),
          { abortSignal: stop },
        ),
      ),
    ).catch(run.failed("store"));
    uploadId = created.UploadId;
    if (!uploadId) throw run.failed("store")(new PermanentError("the store returned no UploadId", ctx));

    const upload: PartUpload = { ...a, uploadId, run };
    const limit = pLimit(config.queueSize);
    const settled = await Promise.allSettled(a.ranges.map((_, i) => limit(() => sendPart(upload, i))));
    await a.whole.catch(() => undefined);
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (run.failure || rejected) throw run.failure?.err ?? rejected?.reason;
    const parts = settled.map((r) => (r as PromiseFulfilledResult<CompletedPart>).value);
    a.sent.done(a.ranges.at(-1)?.end ?? 0);
    await a.whole; // the whole file hashed to sha256 before anything commits
    await awaitCommit(a, ctx); // the caller's checks passed; a refusal aborts the upload below

    const done = await retryRequest(s3, "CompleteMultipartUpload", stop, () =>
      storeCall(s3, ctx, () =>
        client.send(
          new CompleteMultipartUploadCommand({ Bucket: config.bucket, Key: target.full, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          { abortSignal: stop },
        ),
      ),
    ).catch(run.failed("store"));
    return realVersion(done.VersionId);
  } catch (err) {
    run.stop.abort();
    const first = run.failure ?? { err, from: "store" as const };
    const gone = first.from === "store" && first.err instanceof NotFoundError && !signal?.aborted;
    if (uploadId && !gone) {
      // A store that stalled or failed will hardly answer the abort either: do not wait for it then.
      const pending = abortUpload(s3, target.full, uploadId);
      if (!(first.err instanceof TransientError || first.from === "store")) await pending;
    }
    if (signal?.aborted) throw new TransientError("upload aborted", { ...ctx, cause: signal.reason ?? first.err });
    if (gone) throw new UploadGone("upload gone", { cause: first.err });
    if (first.err instanceof AdapterError) throw first.err;
    if (first.from === "source") throw sourceProblem(first.err, ctx);
    throw fail(s3, "put", target.key, first.err);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** One request to the store, its failure mapped to our typed errors (so retryRequest can judge it). */
async function storeCall<T>(s3: S3Context, ctx: PutCtx, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    throw fail(s3, "put", ctx.key, err);
  }
}

/** Best effort, bounded by ABORT_GRACE_MS: s3rver answers 405; sweepTemporary catches what is left. */
async function abortUpload(s3: S3Context, full: string, uploadId: string): Promise<void> {
  await s3.client
    .send(new AbortMultipartUploadCommand({ Bucket: s3.config.bucket, Key: full, UploadId: uploadId }), { abortSignal: AbortSignal.timeout(ABORT_GRACE_MS) })
    .catch((e) => {
      s3.logger.debug({ adapter: s3.id, key: full, err: errName(e) }, "could not abort the multipart upload");
    });
}

/** The part ranges of the staged file, after checking that it holds the declared size. */
async function partRanges(src: BlobSource & { localPath: string }, uploadPartSize: number, ctx: PutCtx): Promise<Range[]> {
  let fileSize: number;
  try {
    fileSize = (await fsStat(src.localPath)).size;
  } catch (err) {
    throw sourceProblem(err, ctx);
  }
  if (fileSize !== src.size) {
    throw new PermanentError(`the source file holds ${fileSize} bytes, expected ${src.size}`, ctx);
  }
  const ranges: Range[] = [];
  for (let start = 0; start < src.size; start += uploadPartSize) ranges.push({ start, end: Math.min(start + uploadPartSize, src.size) });
  return ranges;
}

/** One upload attempt, as its parts see it. */
interface PartUpload extends Attempt {
  uploadId: string;
  run: Run;
}

/**
 * Sends part `i` from its range of the file, retried inside the upload; the
 * bytes sent must hash as that range did in the sequential pass.
 */
async function sendPart(upload: PartUpload, i: number): Promise<CompletedPart> {
  const { s3, run, ctx } = upload;
  if (run.stop.signal.aborted) run.failed("store")(new TransientError("upload stopped", ctx));
  const expected = await upload.partHashes[i].catch(run.failed("source"));
  const sent = await retryRequest(s3, `UploadPart ${i + 1}`, run.stop.signal, () => sendPartOnce(upload, i, expected)).catch(run.failed("store"));
  if ("changed" in sent) return run.failed("source")(sent.changed);
  if ("readError" in sent) return run.failed("source")(sent.readError);
  return sent.part;
}

type PartOutcome = { part: CompletedPart } | { changed: ChecksumMismatchError } | { readError: unknown };

/** One try of part `i`. Store failures throw (mapped, for retryRequest); source trouble is returned, never retried. */
async function sendPartOnce(upload: PartUpload, i: number, expected: Buffer): Promise<PartOutcome> {
  const { s3, run, ctx } = upload;
  const { start, end } = upload.ranges[i];
  const tap = new HashingCounter();
  let readError: unknown;
  // fs ranges are inclusive at both ends.
  const file = createReadStream(upload.path, { start, end: end - 1 });
  upload.sent.start(i);
  file.on("data", (chunk: string | Buffer) => upload.sent.add(i, chunk.length)); // a second listener: the flow is pipeline's
  pipeline(file, tap).catch((err) => {
    readError ??= err;
  });
  // Watched at the file: it is read only as fast as the request takes the body (tap's buffer is small),
  // and listening there does not change how the body flows.
  const watch = stallWatch(file, run.stop.signal, s3.tuning.socketIdleMs ?? 120_000);
  let out;
  try {
    const sending = s3.client.send(
      new UploadPartCommand({
        Bucket: s3.config.bucket,
        Key: upload.target.full,
        UploadId: upload.uploadId,
        PartNumber: i + 1,
        Body: tap,
        ContentLength: end - start,
        ...(s3.sendChecksums ? { ChecksumAlgorithm: "SHA256", ChecksumSHA256: expected.toString("base64") } : {}),
      }),
      { abortSignal: watch.signal },
    );
    // The SDK settles an aborted request only once it stops waiting for "100 Continue" (6 s): do not wait for it.
    out = await Promise.race([sending, watch.ended]);
  } catch (err) {
    tap.destroy();
    if (readError) return { readError };
    if (watch.stalled) {
      const secs = Math.round(watch.ms / 1000);
      throw new TransientError(`part ${i + 1} stalled: no progress for ${secs}s (stallSeconds)`, { ...ctx, cause: err });
    }
    throw fail(s3, "put", ctx.key, err);
  } finally {
    watch.done();
  }
  const sent = tap.digest();
  if (tap.bytes !== end - start || sent !== expected.toString("hex")) {
    return {
      changed: new ChecksumMismatchError(`part ${i + 1} changed on disk during the upload (${tap.bytes} bytes hashing to ${sent})`, {
        ...ctx, expected: expected.toString("hex"), actual: sent,
      }),
    };
  }
  return { part: { PartNumber: i + 1, ETag: out.ETag, ...(s3.sendChecksums ? { ChecksumSHA256: out.ChecksumSHA256 ?? expected.toString("base64") } : {}) } };
}
