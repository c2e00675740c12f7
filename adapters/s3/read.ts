import { Readable } from "node:stream";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type HeadObjectCommandOutput } from "@aws-sdk/client-s3";
import type { ObjectInfo } from "../types.js";
import { PermanentError } from "../errors.js";
import { fail, fullKey, opts, relKey, type S3Context } from "./client.js";
import { httpStatus } from "./errors.js";

export const toInfo = (key: string, head: HeadObjectCommandOutput): ObjectInfo => {
  const sha = head.Metadata?.sha256;
  return {
    key,
    size: head.ContentLength ?? 0,
    modifiedAt: head.LastModified ?? new Date(0),
    ...(sha && /^[0-9a-f]{64}$/.test(sha) ? { sha256: sha } : {}),
    ...(head.ObjectLockRetainUntilDate ? { lockedUntil: head.ObjectLockRetainUntilDate } : {}),
    ...storeChecksum(head),
  };
};

/**
 * The store's own SHA-256 of the whole object, when it has one: a single-part
 * upload sent with ChecksumSHA256. A multipart object's checksum is a
 * checksum of its parts' checksums (COMPOSITE), which no manifest hash can
 * be compared with, so it is left out rather than half-trusted. Not every
 * store says which kind it returns (moto 5 gives neither a "-N" suffix nor
 * a ChecksumType), so a multipart ETag ("…-N") rules it out too.
 */
function storeChecksum(head: HeadObjectCommandOutput): { storeSha256?: string } {
  const b64 = head.ChecksumSHA256;
  const multipart = /-\d+"?$/.test(head.ETag ?? "");
  if (!b64 || multipart || b64.includes("-") || (head.ChecksumType && head.ChecksumType !== "FULL_OBJECT")) return {};
  const hex = Buffer.from(b64, "base64").toString("hex");
  return hex.length === 64 ? { storeSha256: hex } : {};
}

export async function getObject(s3: S3Context, key: string, signal?: AbortSignal, from = 0): Promise<Readable> {
  const full = fullKey(s3, key, "get");
  try {
    const range = from > 0 ? `bytes=${from}-` : undefined;
    const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.config.bucket, Key: full, Range: range }), opts(signal)).catch((err) => {
      // Asked for the bytes after the last one (a download that broke off right at its end).
      if (range && httpStatus(err) === 416) return { Body: Readable.from([]) };
      throw err;
    });
    if (!out.Body) throw new PermanentError("the store returned no body", { adapter: s3.id, op: "get", key });
    return out.Body as Readable;
  } catch (err) {
    throw fail(s3, "get", key, err);
  }
}

export async function statObject(s3: S3Context, key: string, signal?: AbortSignal): Promise<ObjectInfo> {
  const full = fullKey(s3, key, "stat");
  try {
    return toInfo(key, await s3.client.send(new HeadObjectCommand({ Bucket: s3.config.bucket, Key: full, ChecksumMode: "ENABLED" }), opts(signal)));
  } catch (err) {
    throw fail(s3, "stat", key, err);
  }
}

export async function* listObjects(s3: S3Context, prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
  let token: string | undefined;
  do {
    let page;
    try {
      page = await s3.client.send(
        new ListObjectsV2Command({ Bucket: s3.config.bucket, Prefix: s3.root + prefix, ContinuationToken: token, MaxKeys: s3.tuning.listPageSize }),
        opts(signal),
      );
    } catch (err) {
      throw fail(s3, "list", prefix, err);
    }
    for (const o of page.Contents ?? []) {
      // Zero-byte "folder" markers made by consoles are not objects of ours.
      if (!o.Key || o.Key.endsWith("/")) continue;
      yield { key: relKey(s3, o.Key), size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
