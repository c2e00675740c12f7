import { HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { AdapterDeps } from "../types.js";
import { AdapterError, AuthError, DestinationConfigError, TransientError, assertSafeKey } from "../errors.js";
import type { S3Config, S3Tuning } from "./options.js";
import { errName, httpStatus, mapS3Error } from "./errors.js";

/**
 * What every piece of the s3 adapter works with, built once by
 * createS3Adapter: the config, the one S3Client, and what the open-time
 * checks found out about the bucket.
 */
export interface S3Context {
  readonly config: S3Config;
  readonly client: S3Client;
  /** "s3:bucket/prefix@host", for errors and logs. */
  readonly id: string;
  /** The prefix, "" or ending in "/": keys are stored as root + key. */
  readonly root: string;
  readonly logger: AdapterDeps["logger"];
  readonly tuning: S3Tuning;
  /** Bounds each open-time request (connectTimeoutSeconds). */
  readonly connectMs: number;
  /** Object Lock is configured here or on for the bucket: deletes must address versions. */
  readonly lockActive: boolean;
  /** Send SHA-256 checksums with PUT and UploadPart (see createS3Adapter). */
  readonly sendChecksums: boolean;
}

/** The context before the open-time checks have decided the Object Lock fields. */
export type S3Connection = Omit<S3Context, "lockActive" | "sendChecksums">;

/** "s3:bucket/prefix", plus "@host:port" for a custom endpoint. Never credentials. */
export function adapterId(config: S3Config): string {
  const root = config.prefix ?? "";
  const host = endpointHost(config);
  return `s3:${config.bucket}${root ? `/${root.replace(/\/$/, "")}` : ""}${host ? `@${host}` : ""}`;
}

function endpointHost(config: S3Config): string | undefined {
  return config.endpoint ? new URL(config.endpoint).host : undefined; // URL.host never carries user:pass
}

export function checksumModeOf(config: S3Config): "when_required" | "when_supported" {
  return config.checksumMode ?? (config.endpoint ? "when_required" : "when_supported");
}

export function connectS3(config: S3Config, deps: AdapterDeps, tuning: S3Tuning): S3Connection {
  const checksumMode = checksumModeOf(config);
  const connectMs = Math.round((config.connectTimeoutSeconds ?? 20) * 1000);
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
  return { config, client, id: adapterId(config), root: config.prefix ?? "", logger: deps.logger, tuning, connectMs };
}

/** Open-time checks: the bucket exists and these credentials may use it. Destroys the client when they fail. */
export async function checkBucket(s3: S3Connection): Promise<void> {
  const { config, id } = s3;
  const host = endpointHost(config);
  const where = host ? ` at ${host}` : "";
  try {
    await s3.client.send(new HeadBucketCommand({ Bucket: config.bucket }), opening(s3));
  } catch (err) {
    s3.client.destroy();
    if (errName(err) === "AbortError" || errName(err) === "TimeoutError") {
      throw new TransientError(`no answer${where} within ${s3.connectMs / 1000}s (connectTimeoutSeconds)`, { adapter: id, op: "open", cause: err });
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
    throw fail(s3, "open", undefined, err);
  }
}

/** Send options for an open-time request. */
export const opening = (s3: S3Connection) => ({ abortSignal: AbortSignal.timeout(s3.connectMs) });

/** Send options for a request that ends with the caller's signal. */
export const opts = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

export const fail = (s3: S3Connection, op: string, key: string | undefined, err: unknown): AdapterError =>
  mapS3Error(err, { adapter: s3.id, op, key }, s3.config.bucket);

export const fullKey = (s3: S3Connection, key: string, op: string): string => {
  assertSafeKey(key, { adapter: s3.id, op });
  return s3.root + key;
};

export const relKey = (s3: S3Connection, k: string): string => (k.startsWith(s3.root) ? k.slice(s3.root.length) : k);

/**
 * The pages of a listing paged by two markers (ListMultipartUploads,
 * ListObjectVersions), until the store says there are no more. `fetch`
 * returning undefined ends the listing early.
 */
export async function* markerPages<P extends { IsTruncated?: boolean }>(
  fetch: (marker: string | undefined, subMarker: string | undefined) => Promise<P | undefined>,
  nextMarkers: (page: P) => [string | undefined, string | undefined],
): AsyncGenerator<P> {
  let marker: string | undefined;
  let subMarker: string | undefined;
  do {
    const page = await fetch(marker, subMarker);
    if (!page) return;
    yield page;
    const [nextMarker, nextSubMarker] = nextMarkers(page);
    const more = page.IsTruncated && (nextMarker || nextSubMarker);
    marker = more ? nextMarker : undefined;
    subMarker = more ? nextSubMarker : undefined;
  } while (marker || subMarker);
}

/** One object of a request: `key` as the caller names it (for errors), `full` as stored (root + key). */
export interface Target {
  readonly key: string;
  readonly full: string;
}
