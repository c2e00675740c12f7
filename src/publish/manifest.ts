import { z } from "zod";
import type { BlobSource } from "../../adapters/types.js";
import { bytesSource } from "../../adapters/streams.js";
import type { Artifact } from "../artifact/build.js";
import type { SqliteFacts } from "../snapshot/checks.js";
import { SNAPSHOT_ID } from "./ids.js";

export const MANIFEST_FORMAT = 1;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * The commit marker of one copy, written last. Also what a restore reads:
 * it needs nothing but the destination and this file. Validated when read,
 * because a store can hand back anything.
 */
export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  tool: z.object({ name: z.literal("triplicate"), version: z.string() }),
  db: z.string(),
  snapshotId: z.string().regex(SNAPSHOT_ID),
  createdAt: z.iso.datetime(),
  source: z.object({ host: z.string(), path: z.string() }),
  sqlite: z.object({
    pageSize: z.number().int(),
    pageCount: z.number().int(),
    journalMode: z.string(),
    userVersion: z.number().int(),
    schemaSha256: hex64,
    rowCounts: z.record(z.string(), z.number().int()),
    /** Rows breaking a foreign key in the source (shipped under checks.foreignKeys: warn); absent when not checked. */
    foreignKeyViolations: z.number().int().min(0).optional(),
  }),
  raw: z.object({ size: z.number().int().min(0), sha256: hex64 }),
  artifact: z.object({ key: z.string(), size: z.number().int().min(0), sha256: hex64 }),
  compression: z.object({ algorithm: z.enum(["zstd", "gzip", "none"]), level: z.number().int().nullable() }),
  encryption: z.object({ recipients: z.array(z.string()) }).nullable(),
  tags: z.array(z.string()),
  /** Object Lock retain-until the destination applied, if any (set per destination). */
  lockedUntil: z.iso.datetime().optional(),
  /**
   * Set when the source had shrunk far below the last good snapshot (src/guard/shrink.ts):
   * a true copy, but while it is the newest and not accepted, retention deletes nothing.
   */
  anomaly: z
    .object({
      baseline: z.string(),
      findings: z.array(z.object({ kind: z.string(), table: z.string().optional(), before: z.number(), after: z.number(), message: z.string() })),
      accepted: z.boolean(),
    })
    .optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export interface ManifestInput {
  toolVersion: string;
  db: string;
  snapshotId: string;
  createdAt: Date;
  host: string;
  sourcePath: string;
  facts: SqliteFacts;
  artifact: Artifact;
  artifactKey: string;
  tags: string[];
  anomaly?: Manifest["anomaly"];
}

export function buildManifest(i: ManifestInput): Manifest {
  return {
    format: MANIFEST_FORMAT,
    tool: { name: "triplicate", version: i.toolVersion },
    db: i.db,
    snapshotId: i.snapshotId,
    createdAt: i.createdAt.toISOString(),
    source: { host: i.host, path: i.sourcePath },
    sqlite: i.facts,
    raw: { size: i.artifact.rawSize, sha256: i.artifact.rawSha256 },
    artifact: { key: i.artifactKey, size: i.artifact.size, sha256: i.artifact.sha256 },
    compression: { algorithm: i.artifact.compression, level: i.artifact.compressionLevel },
    encryption: i.artifact.recipients ? { recipients: i.artifact.recipients } : null,
    tags: i.tags,
    ...(i.anomaly ? { anomaly: i.anomaly } : {}),
  };
}

export function manifestSource(m: Manifest): BlobSource {
  return bytesSource(Buffer.from(JSON.stringify(m, null, 2) + "\n"));
}

export class InvalidManifestError extends Error {}

export function parseManifest(bytes: Buffer, key: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new InvalidManifestError(`${key} is not JSON`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new InvalidManifestError(`${key} is not a valid manifest: ${first.path.join(".")}: ${first.message}`);
  }
  return parsed.data;
}
