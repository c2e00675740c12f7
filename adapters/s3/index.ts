// The s3 destination: an S3 bucket (AWS or S3-compatible) behind the StorageAdapter interface.
import type { AdapterDeps, StorageAdapter } from "../types.js";
import { DestinationConfigError } from "../errors.js";
import { credentialProblems, type S3Config, type S3Tuning } from "./options.js";
import { adapterId, checkBucket, checksumModeOf, connectS3, type S3Context } from "./client.js";
import { deleteKey, probeObjectLock } from "./objectLock.js";
import { putObject } from "./put.js";
import { getObject, listObjects, statObject } from "./read.js";
import { sweepUploads } from "./sweep.js";

export { s3OptionsSchema, checkS3Options, parseS3Config, type S3Config, type S3Tuning } from "./options.js";
export { mapS3Error } from "./errors.js";

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
export async function createS3Adapter(config: S3Config, deps: AdapterDeps, tuning: S3Tuning = {}): Promise<StorageAdapter> {
  const id = adapterId(config);
  const credProblems = credentialProblems(config);
  if (credProblems.length > 0) {
    throw new DestinationConfigError(credProblems.map((p) => p.message).join("; "), { adapter: id, op: "open" });
  }

  const conn = connectS3(config, deps, tuning);
  await checkBucket(conn);
  const bucketLock = await probeObjectLock(conn);
  if (config.objectLock && bucketLock === "disabled") {
    conn.client.destroy();
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
  const sendChecksums = checksumModeOf(config) === "when_supported" || lockActive;
  const s3: S3Context = { ...conn, lockActive, sendChecksums };

  return {
    id,
    capabilities: { maxConnections: 4, statAddsDetails: true },
    // S3 answers a PutObject / CompleteMultipartUpload only once the object is stored durably.
    put: async (key, src, signal) => ({ ...(await putObject(s3, key, src, signal)), durable: true }),
    get: (key, signal, from) => getObject(s3, key, signal, from),
    stat: (key, signal) => statObject(s3, key, signal),
    list: (prefix, signal) => listObjects(s3, prefix, signal),
    delete: (key, signal) => deleteKey(s3, key, signal),
    sweepTemporary: (prefix, olderThan, signal) => sweepUploads(s3, prefix, olderThan, signal),
    async close(): Promise<void> {
      s3.client.destroy();
    },
  } satisfies StorageAdapter;
}
