import { pipeline } from "node:stream/promises";
import { createReadStream } from "node:fs";
import { stat as fsStat } from "node:fs/promises";
import { createHash } from "node:crypto";
import pLimit from "p-limit";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import type { BlobSource } from "../types.js";
import { AdapterError, ChecksumMismatchError, NotFoundError, PermanentError, TransientError } from "../errors.js";
import { HashingCounter } from "../streams.js";
import { fail, markerPages, opts, relKey, type S3Context, type Target } from "./client.js";
import { errName, httpStatus, sourceProblem } from "./errors.js";
import { lockParams } from "./objectLock.js";

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
export async function putFileMultipart(
  s3: S3Context,
  target: Target,
  src: BlobSource & { localPath: string },
  uploadPartSize: number,
  lockUntil: Date | undefined,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const { config, client } = s3;
  const { key, full } = target;
  const ctx: PutCtx = { adapter: s3.id, op: "put", key };
  const ranges = await partRanges(src, uploadPartSize, ctx);

  // `stop` ends everything still running after the first failure; part
  // requests also end on the caller's signal.
  const run = new Run();
  const onAbort = () => run.stop.abort();
  signal?.addEventListener("abort", onAbort, { once: true });

  let uploadId: string | undefined;
  try {
    const scan = hashFileParts(src.localPath, ranges, run.stop.signal);
    const whole = scan.whole
      .then((sha) => {
        if (sha !== src.sha256) {
          throw new ChecksumMismatchError(`source bytes hash to ${sha}, expected ${src.sha256}`, { ...ctx, expected: src.sha256, actual: sha });
        }
      })
      .catch(run.failed("source"));
    whole.catch(() => undefined); // observed below; no unhandled rejection meanwhile

    const created = await client
      .send(
        new CreateMultipartUploadCommand({
          Bucket: config.bucket,
          Key: full,
          ContentType: "application/octet-stream",
          Metadata: { sha256: src.sha256 },
          ...(s3.sendChecksums ? { ChecksumAlgorithm: "SHA256" } : {}),
          ...lockParams(config, lockUntil),
        }),
        { abortSignal: run.stop.signal },
      )
      .catch(run.failed("store"));
    uploadId = created.UploadId;
    if (!uploadId) throw run.failed("store")(new PermanentError("the store returned no UploadId", ctx));

    const upload: PartUpload = { s3, full, path: src.localPath, uploadId, ranges, partHashes: scan.parts, run, ctx };
    const limit = pLimit(config.queueSize);
    const settled = await Promise.allSettled(ranges.map((_, i) => limit(() => sendPart(upload, i))));
    await whole.catch(() => undefined);
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (run.failure || rejected) throw run.failure?.err ?? rejected?.reason;
    const parts = settled.map((r) => (r as PromiseFulfilledResult<CompletedPart>).value);
    await whole; // the whole file hashed to src.sha256 before anything commits

    const done = await client
      .send(
        new CompleteMultipartUploadCommand({ Bucket: config.bucket, Key: full, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        { abortSignal: run.stop.signal },
      )
      .catch(run.failed("store"));
    return realVersion(done.VersionId);
  } catch (err) {
    run.stop.abort();
    if (uploadId) {
      // Best effort: s3rver answers 405; sweepTemporary catches what is left.
      await client.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: full, UploadId: uploadId })).catch((e) => {
        s3.logger.debug({ adapter: s3.id, key: full, err: errName(e) }, "could not abort the multipart upload");
      });
    }
    const first = run.failure ?? { err, from: "store" as const };
    if (first.err instanceof AdapterError && !(first.err instanceof TransientError && signal?.aborted)) throw first.err;
    if (signal?.aborted) throw new TransientError("upload aborted", { ...ctx, cause: signal.reason ?? first.err });
    if (first.from === "source") throw sourceProblem(first.err, ctx);
    throw fail(s3, "put", key, first.err);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
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

/** What every part of one putFileMultipart shares. */
interface PartUpload {
  s3: S3Context;
  full: string;
  path: string;
  uploadId: string;
  ranges: readonly Range[];
  /** Each range's SHA-256, from the sequential pass of hashFileParts. */
  partHashes: Promise<Buffer>[];
  run: Run;
  ctx: PutCtx;
}

/** Sends part `i` from its range of the file; the bytes sent must hash as that range did in the sequential pass. */
async function sendPart(upload: PartUpload, i: number): Promise<CompletedPart> {
  const { s3, run, ctx } = upload;
  if (run.stop.signal.aborted) run.failed("store")(new TransientError("upload stopped", ctx));
  const { start, end } = upload.ranges[i];
  const expected = await upload.partHashes[i].catch(run.failed("source"));
  const tap = new HashingCounter();
  let readError: unknown;
  // fs ranges are inclusive at both ends.
  pipeline(createReadStream(upload.path, { start, end: end - 1 }), tap).catch((err) => {
    readError ??= err;
  });
  let out;
  try {
    out = await s3.client.send(
      new UploadPartCommand({
        Bucket: s3.config.bucket,
        Key: upload.full,
        UploadId: upload.uploadId,
        PartNumber: i + 1,
        Body: tap,
        ContentLength: end - start,
        ...(s3.sendChecksums ? { ChecksumAlgorithm: "SHA256", ChecksumSHA256: expected.toString("base64") } : {}),
      }),
      { abortSignal: run.stop.signal },
    );
  } catch (err) {
    tap.destroy();
    if (readError) run.failed("source")(readError);
    throw run.failed("store")(err);
  }
  const sent = tap.digest();
  if (tap.bytes !== end - start || sent !== expected.toString("hex")) {
    run.failed("source")(
      new ChecksumMismatchError(`part ${i + 1} changed on disk during the upload (${tap.bytes} bytes hashing to ${sent})`, {
        ...ctx, expected: expected.toString("hex"), actual: sent,
      }),
    );
  }
  return { PartNumber: i + 1, ETag: out.ETag, ...(s3.sendChecksums ? { ChecksumSHA256: out.ChecksumSHA256 ?? expected.toString("base64") } : {}) };
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

/** Aborts the unfinished multipart uploads under `prefix` begun before `olderThan`: the only leftovers an interrupted put leaves. */
export async function sweepUploads(s3: S3Context, prefix: string, olderThan: Date, signal?: AbortSignal): Promise<string[]> {
  const swept: string[] = [];
  const pages = markerPages(
    async (keyMarker, uploadIdMarker) => {
      try {
        return await s3.client.send(
          new ListMultipartUploadsCommand({ Bucket: s3.config.bucket, Prefix: s3.root + prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
          opts(signal),
        );
      } catch (err) {
        if (httpStatus(err) === 501 || httpStatus(err) === 405 || errName(err) === "NotImplemented") {
          s3.logger.warn({ adapter: s3.id }, "this S3 server cannot list multipart uploads; nothing to sweep");
          return undefined;
        }
        throw fail(s3, "sweepTemporary", prefix, err);
      }
    },
    (page) => [page.NextKeyMarker, page.NextUploadIdMarker],
  );
  for await (const page of pages) {
    for (const u of page.Uploads ?? []) {
      if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= olderThan) continue;
      try {
        await s3.client.send(new AbortMultipartUploadCommand({ Bucket: s3.config.bucket, Key: u.Key, UploadId: u.UploadId }), opts(signal));
      } catch (err) {
        const mapped = fail(s3, "sweepTemporary", relKey(s3, u.Key), err);
        if (!(mapped instanceof NotFoundError)) throw mapped; // NoSuchUpload: someone else finished it
      }
      swept.push(relKey(s3, u.Key));
    }
  }
  return swept;
}
