import {
  DeleteObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectRetentionCommand,
} from "@aws-sdk/client-s3";
import { NotFoundError, PermanentError } from "../errors.js";
import type { S3Config } from "./options.js";
import { fail, fullKey, markerPages, opening, opts, relKey, type S3Connection, type S3Context } from "./client.js";
import { describeS3, errName, httpStatus } from "./errors.js";

/**
 * Is Object Lock on for the bucket? Then deletes must address versions (see
 * deleteKey) and PUTs need an integrity header even without our own lock settings.
 */
export async function probeObjectLock(s3: S3Connection): Promise<"enabled" | "disabled" | "unknown"> {
  try {
    const out = await s3.client.send(new GetObjectLockConfigurationCommand({ Bucket: s3.config.bucket }), opening(s3));
    return out.ObjectLockConfiguration?.ObjectLockEnabled === "Enabled" ? "enabled" : "disabled";
  } catch (err) {
    if (errName(err) === "ObjectLockConfigurationNotFoundError") return "disabled";
    // s3rver says 501 NotImplemented, R2 may refuse, a narrow policy may deny it.
    s3.logger.debug({ adapter: s3.id, err: errName(err) }, "cannot read the bucket's Object Lock configuration; assuming none");
    return "unknown";
  }
}

export const retainUntil = (config: S3Config): Date | undefined =>
  config.objectLock ? new Date(Date.now() + config.objectLock.days * 86_400_000) : undefined;

/** The lock headers of a PutObject or CreateMultipartUpload. */
export const lockParams = (config: S3Config, lockUntil: Date | undefined) =>
  config.objectLock && lockUntil ? { ObjectLockMode: config.objectLock.mode, ObjectLockRetainUntilDate: lockUntil } : {};

/**
 * moto (and possibly other S3-compatible stores) ignore the lock headers of
 * CreateMultipartUpload; AWS applies them. When the committed version shows
 * no retention, set it explicitly on that version.
 */
export async function applyRetention(
  s3: S3Context,
  target: { key: string; full: string; versionId: string | undefined },
  lockUntil: Date,
  signal?: AbortSignal,
): Promise<void> {
  const { config } = s3;
  if (!config.objectLock) return;
  try {
    await s3.client.send(
      new PutObjectRetentionCommand({
        Bucket: config.bucket,
        Key: target.full,
        VersionId: target.versionId,
        Retention: { Mode: config.objectLock.mode, RetainUntilDate: lockUntil },
      }),
      opts(signal),
    );
  } catch (err) {
    throw new PermanentError(`stored, but Object Lock could not be applied: ${describeS3(err)}`, { adapter: s3.id, op: "put", key: target.key, cause: err });
  }
}

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
export async function deleteKey(s3: S3Context, key: string, signal?: AbortSignal): Promise<void> {
  const full = fullKey(s3, key, "delete");
  if (!s3.lockActive) {
    try {
      await s3.client.send(new DeleteObjectCommand({ Bucket: s3.config.bucket, Key: full }), opts(signal));
    } catch (err) {
      const mapped = fail(s3, "delete", key, err);
      if (!(mapped instanceof NotFoundError)) throw mapped;
    }
    return;
  }
  const refused: { versionId: string; until?: Date; mode?: string; err: unknown }[] = [];
  for await (const versionId of versionsOf(s3, full, signal)) {
    try {
      await s3.client.send(new DeleteObjectCommand({ Bucket: s3.config.bucket, Key: full, VersionId: versionId }), opts(signal));
    } catch (err) {
      const mapped = fail(s3, "delete", key, err);
      if (mapped instanceof NotFoundError) continue;
      if (httpStatus(err) !== 403) throw mapped;
      const head = await s3.client
        .send(new HeadObjectCommand({ Bucket: s3.config.bucket, Key: full, VersionId: versionId }), opts(signal))
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
      { adapter: s3.id, op: "delete", key, cause: refused[0].err },
    );
  }
}

/** Version ids (including delete markers) of exactly `full`, newest first. */
async function* versionsOf(s3: S3Context, full: string, signal?: AbortSignal): AsyncIterable<string> {
  const pages = markerPages(
    async (keyMarker, versionIdMarker) => {
      try {
        return await s3.client.send(
          new ListObjectVersionsCommand({ Bucket: s3.config.bucket, Prefix: full, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
          opts(signal),
        );
      } catch (err) {
        throw fail(s3, "delete", relKey(s3, full), err);
      }
    },
    (page) => [page.NextKeyMarker, page.NextVersionIdMarker],
  );
  for await (const page of pages) {
    const entries = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
      .filter((v) => v.Key === full && v.VersionId)
      .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0));
    for (const v of entries) yield v.VersionId!;
  }
}
