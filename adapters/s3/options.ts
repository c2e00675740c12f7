import { z } from "zod";

/**
 * The s3 destination's config, apart from the adapter so that loading a
 * config never loads the AWS SDK (a few hundred ms of start-up).
 */

const prefixField = z
  .string({ error: "prefix must be a string" })
  .refine((p) => !p.startsWith("/"), { error: "prefix must not start with '/' (it is relative to the bucket)" })
  .refine((p) => !p.split("/").some((part) => part === ".." || part === "."), { error: "prefix must not contain '.' or '..' parts" })
  .refine((p) => !p.replace(/\/$/, "").includes("//"), { error: "prefix must not contain empty parts ('//')" })
  .transform((p) => (p === "" || p.endsWith("/") ? p : `${p}/`))
  .default("");

/**
 * The s3 destination's own fields, as a plain shape: the config loader spreads
 * it into `z.strictObject({...destinationCommon, type: z.literal("s3"), ...s3OptionsSchema})`
 * and adds `.superRefine(checkS3Options)` for the rules that span fields.
 */
export const s3OptionsSchema = {
  bucket: z
    .string({ error: "bucket must be a string" })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/, { error: "bucket must be a bucket name (3+ letters, digits, '.', '-', '_'); put folders in prefix" }),
  /** Folder inside the bucket; normalised to "" or "something/". */
  prefix: prefixField,
  region: z.string().min(1).default("us-east-1"),
  /** S3-compatible stores (MinIO, R2, B2, Wasabi...). Absent means AWS. */
  endpoint: z.url({ protocol: /^https?$/, error: "endpoint must be an http:// or https:// URL" }).optional(),
  forcePathStyle: z.boolean().default(false),
  /** Both or neither; without them the SDK's default credential chain is used (env, profile, IMDS...). */
  accessKeyId: z.string().min(1).optional(),
  secretAccessKey: z.string().min(1).optional(),
  sessionToken: z.string().min(1).optional(),
  /** Lock every object written for `days` (the bucket must have Object Lock enabled). */
  objectLock: z
    .strictObject({
      mode: z.enum(["GOVERNANCE", "COMPLIANCE"], { error: "objectLock.mode must be GOVERNANCE or COMPLIANCE" }),
      days: z.number().int({ error: "objectLock.days must be a whole number" }).min(1, { error: "objectLock.days must be 1 or more" }).max(36_500),
    })
    .optional(),
  /** Multipart part size; memory per upload is about partSizeMB × queueSize. */
  partSizeMB: z.number().int().min(5, { error: "partSizeMB must be at least 5 (the S3 minimum part size)" }).max(5_120).default(8),
  /** Parts uploaded at once per object (Cloudflare R2 prefers about 2). */
  queueSize: z.number().int().min(1).max(32).default(2),
  /**
   * Flexible checksums of the AWS SDK. Default: when_required for a custom
   * endpoint (most S3-compatible stores reject or mangle the new checksum
   * headers), when_supported on AWS.
   */
  checksumMode: z.enum(["when_required", "when_supported"], { error: "checksumMode must be when_required or when_supported" }).optional(),
  /**
   * Bounds opening the destination: the TCP connect and the open-time checks
   * (the bucket exists, its Object Lock setting). A server that accepts the
   * connection but never answers must not hold every command forever.
   */
  connectTimeoutSeconds: z.number().positive().max(600).default(20),
};

const s3OptionsObject = z.object(s3OptionsSchema);
export type S3Config = z.output<typeof s3OptionsObject>;

/** Rules that span fields; use as `.superRefine(checkS3Options)`. */
export function checkS3Options(
  cfg: { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string },
  ctx: z.RefinementCtx,
): void {
  for (const problem of credentialProblems(cfg)) ctx.addIssue({ code: "custom", path: [problem.field], message: problem.message });
}

export function credentialProblems(cfg: { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string }): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  if (cfg.accessKeyId && !cfg.secretAccessKey) out.push({ field: "secretAccessKey", message: "accessKeyId is set, so secretAccessKey is needed too" });
  if (cfg.secretAccessKey && !cfg.accessKeyId) out.push({ field: "accessKeyId", message: "secretAccessKey is set, so accessKeyId is needed too" });
  if (cfg.sessionToken && !cfg.accessKeyId) out.push({ field: "sessionToken", message: "sessionToken needs accessKeyId and secretAccessKey" });
  return out;
}

/** Validates and fills defaults (for tools and tests; the config loader uses the shape). */
export function parseS3Config(input: unknown): S3Config {
  return z.strictObject(s3OptionsSchema).superRefine(checkS3Options).parse(input);
}

/** What openAdapter derives from the destination's wrapper settings (and tests set directly); not S3 options. */
export interface S3Tuning {
  /** MaxKeys per ListObjectsV2 page (server default 1000). */
  listPageSize?: number;
  /**
   * A request whose socket carries no byte for this long fails (TransientError):
   * the destination's stallSeconds. Default 120 s.
   */
  socketIdleMs?: number;
  /**
   * Retries of each request of a multipart upload, inside that upload (the
   * destination's `retry`, from openAdapter). Unset: one try each.
   */
  retry?: { retries: number; minTimeoutMs: number; maxTimeoutMs: number };
}

