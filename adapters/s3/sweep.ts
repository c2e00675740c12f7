import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { NotFoundError } from "../errors.js";
import { fail, markerPages, opts, relKey, type S3Context } from "./client.js";
import { errName, httpStatus } from "./errors.js";

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
