/**
 * config/: the shape of triplicate.yml (this file: schemas, types, the 3-2-1
 * label defaults) and loading it (load.ts: YAML, ${ENV}, paths, messages).
 */
import path from "node:path";
import { z } from "zod";
import { parseDuration, type Duration } from "../runtime/duration.js";
import { s3OptionsSchema, checkS3Options } from "../../adapters/s3/options.js";
import { sftpOptionsSchema, checkSftpOptions } from "../../adapters/sftp/options.js";
import { notifySchema } from "../notify/schema.js";
import { metricsSchema } from "../metrics/schema.js";

import { encryptionSchema } from "./encryption.js";

/**
 * Names end up as folder names on every destination, so they are held to a
 * small safe alphabet: no slashes, no dots at the start, nothing that could
 * escape a destination root.
 */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/**
 * Windows device names, in any case: an SMB share (most NAS destinations)
 * cannot hold a folder called NUL or COM1, and the failure would come at the
 * first upload, on the NAS only. COM0/LPT0 are on Microsoft's list too.
 */
const RESERVED_NAME = /^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])$/i;
const safeName = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .regex(SAFE_NAME, {
      error: `${what} may only use letters, digits, '-' and '_' (1-63 characters, starting with a letter or digit)`,
    })
    .refine((n) => !RESERVED_NAME.test(n), {
      error: (issue) => `${what} "${String(issue.input)}" is a reserved device name on Windows (CON, PRN, AUX, NUL, COM0-9, LPT0-9), so an SMB share cannot hold its folder; choose another name`,
    });

const count = (what: string) =>
  z.number({ error: `${what} must be a whole number` }).int({ error: `${what} must be a whole number` }).min(0, { error: `${what} must be 0 or more` });

const duration = z.string({ error: "expected a duration such as 26h, 7d, 2w, 6mo" }).transform((text, ctx): Duration => {
  try {
    return parseDuration(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

export const retentionSchema = z
  .strictObject({
  keepLast: count("keepLast").optional(),
  keepHourly: count("keepHourly").optional(),
  keepDaily: count("keepDaily").optional(),
  keepWeekly: count("keepWeekly").optional(),
  keepMonthly: count("keepMonthly").optional(),
  keepYearly: count("keepYearly").optional(),
  keepWithin: duration.optional(),
  })
  .refine((r) => Object.keys(r).length === 0 || Object.values(r).some((v) => (typeof v === "number" ? v > 0 : v !== undefined)), {
    // restic refuses this too: every rule at 0 would delete everything but the newest snapshot.
    error: "every keep rule is 0, which would delete all but the newest snapshot; leave retention out to keep everything, or set a count above 0",
  });
export type RetentionPolicy = z.infer<typeof retentionSchema>;

const retrySchema = z.strictObject({
  retries: count("retry.retries").max(20).default(3),
  minDelayMs: count("retry.minDelayMs").default(500),
  maxDelayMs: count("retry.maxDelayMs").default(10_000),
});

const destinationCommon = {
  name: safeName("destination name"),
  /** Label of the storage medium for the "2 media" rule. */
  medium: z.string().min(1).optional(),
  offsite: z.boolean().optional(),
  retention: retentionSchema.optional(),
  /** Lower is tried first by restore. */
  restorePriority: z.number().int().optional(),
  retry: retrySchema.optional(),
  /** Upper bound for one operation (one put, one get) on this destination. */
  timeoutSeconds: z.number().positive().max(86_400).default(3_600),
  /** A download that delivers no byte for this long fails (and is retried). */
  stallSeconds: z.number().positive().max(3_600).default(120),
};

export const localDestinationSchema = z.strictObject({
  ...destinationCommon,
  type: z.literal("local"),
  path: z.string().min(1, { error: "path must name a folder" }),
});

export const sftpDestinationSchema = z
  .strictObject({ ...destinationCommon, type: z.literal("sftp"), ...sftpOptionsSchema })
  .superRefine((o, ctx) => {
    for (const message of checkSftpOptions(o)) ctx.addIssue({ code: "custom", message });
  });

export const s3DestinationSchema = z
  .strictObject({ ...destinationCommon, type: z.literal("s3"), ...s3OptionsSchema })
  .superRefine(checkS3Options);

export const destinationSchema = z.discriminatedUnion("type", [localDestinationSchema, sftpDestinationSchema, s3DestinationSchema], {
  error: (issue) =>
    issue.code === "invalid_union" ? `type must be one of: local, sftp, s3 (got ${JSON.stringify((issue.input as { type?: unknown })?.type)})` : undefined,
});

const databaseSchema = z.strictObject({
  name: safeName("database name"),
  path: z.string().min(1, { error: "path must name the SQLite file" }),
});

/** `*`, `?` or `[` in a database path make it a glob (config/fleet.ts expands it at every run). */
export const isGlob = (p: string): boolean => /[*?[]/.test(p);

/**
 * One `databases:` entry as written: a named file, or a glob without a
 * name (each matched file is named from its file name, config/fleet.ts).
 */
const databaseEntrySchema = z
  .strictObject({ name: safeName("database name").optional(), path: z.string().min(1, { error: "path must name the SQLite file" }) })
  .superRefine((d, ctx) => {
    if (isGlob(d.path) && d.name !== undefined) {
      ctx.addIssue({ code: "custom", path: ["name"], message: `a glob entry (${d.path}) takes no name: each matched file is named from its file name; remove name, or give the file's path without * ? [` });
    } else if (!isGlob(d.path) && d.name === undefined) {
      ctx.addIssue({ code: "custom", path: ["name"], message: "missing; add it (only a glob entry such as path: /srv/tenants/*.db goes without a name)" });
    }
  });

/** How many databases one run works on at once (issue 15, fleets). */
const concurrencySchema = z.strictObject({
  /** Snapshots (copy, checks, compression) at once: CPU and staging space. */
  snapshots: z.number().int().min(1).max(64).default(2),
  /** Databases shipping (upload, read-back, retention) at once; each destination still caps its own connections. */
  uploads: z.number().int().min(1).max(64).default(4),
});

const policySchema = z.strictObject({
  copies: count("copies").default(3),
  media: count("media").default(2),
  offsite: count("offsite").default(1),
  immutable: count("immutable").optional(),
  maxErrors: count("maxErrors").optional(),
  maxAge: duration.optional(),
  /**
   * The proof a copy needs to count for 3-2-1 (verify/proofs.ts). The
   * default takes the store's own checksum or a full read-back, which every
   * backup makes; restore-tested counts only copies `verify --deep` restored.
   */
  verifiedLevel: z.enum(["store-checksum", "read-back", "restore-tested"], { error: "verifiedLevel must be store-checksum, read-back or restore-tested" }).default("store-checksum"),
  /** The audit flags copies not restore-tested within this window; the "0" of 3-2-1-1-0 counts failures in it. */
  proveWithin: duration.optional(),
  /** The audit makes an offsite copy that is not encrypted (encryption: in the config) a finding. */
  encrypted: z.boolean({ error: "policy.encrypted must be true or false" }).optional(),
});

/**
 * What the source checks refuse. SQLite enforces foreign keys only when the
 * application turns them on, so real databases carry rows that break them:
 * by default such a snapshot ships (it is faithful to the source) with the
 * count in its manifest and a warning in the report. integrity_check is not
 * configurable: a damaged snapshot never ships.
 */
const checksSchema = z.strictObject({
  foreignKeys: z.enum(["fail", "warn", "off"], { error: "must be fail, warn or off" }).default("warn"),
});
export type ChecksConfig = z.infer<typeof checksSchema>;

/**
 * "50%" → 0.5. Only with the % sign: a bare 0.5 could mean half or half a
 * percent, so it is refused with the spelling to use.
 */
const percent = () =>
  z.unknown().transform((text, ctx): number => {
    const m = typeof text === "string" ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text) : null;
    const n = m ? Number(m[1]) : NaN;
    if (!(n >= 0 && n <= 100)) {
      ctx.addIssue({ code: "custom", message: `must be a percentage from 0% to 100% such as 50%, not ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return n / 100;
  });

export const GUARD_DEFAULTS = { maxShrink: 0.5, minTableRows: 1000, maxClockSkew: parseDuration("5min"), maxDelete: 0.5 };

/**
 * What stops retention on a bad night (see src/guard/): a source that lost its
 * data, a clock that jumped, one run deleting most of a destination's history.
 */
const guardSchema = z.strictObject({
  /** A snapshot with this much fewer rows (in all, or in a table of minTableRows or more) or raw bytes than the last good one is an anomaly. */
  maxShrink: percent().default(GUARD_DEFAULTS.maxShrink),
  /** Smaller tables (queues, sessions) come and go; they only count when they disappear. */
  minTableRows: count("guard.minTableRows").default(GUARD_DEFAULTS.minTableRows),
  /** A destination whose clock differs from this host's by more than this keeps all its copies this run. */
  maxClockSkew: duration.default(GUARD_DEFAULTS.maxClockSkew),
  /** One run may delete at most this share of a destination's good snapshots of a database (one is always allowed); `prune --force` lifts it. */
  maxDelete: percent().default(GUARD_DEFAULTS.maxDelete),
});
export type GuardConfig = z.infer<typeof guardSchema>;

const compressionSchema = z.strictObject({
  // Left out: zstd when zstd-napi is installed, else gzip.
  algorithm: z.enum(["zstd", "gzip", "none"], { error: "algorithm must be zstd, gzip or none" }).optional(),
  level: z.number().int().min(1).max(19).optional(),
});

export const configSchema = z
  .strictObject({
    databases: z.array(databaseEntrySchema).min(1, { error: "list at least one database" }),
    destinations: z.array(destinationSchema).min(1, { error: "list at least one destination" }),
    policy: policySchema.default({ copies: 3, media: 2, offsite: 1, verifiedLevel: "store-checksum" }),
    compression: compressionSchema.default({}),
    encryption: encryptionSchema.optional(),
    checks: checksSchema.default({ foreignKeys: "warn" }),
    guard: guardSchema.default(GUARD_DEFAULTS),
    staging: z.string().min(1).optional(),
    /** Unfinished uploads and artifacts without a manifest older than this are removed. */
    leftoverGrace: duration.default(parseDuration("24h")),
    /** Alerts (src/notify/): pings, webhooks, mail; a failing one never changes the exit code. */
    notify: notifySchema.default([]),
    /** Prometheus text file written after every command (src/metrics/). */
    metrics: metricsSchema.optional(),

    concurrency: concurrencySchema.default({ snapshots: 2, uploads: 4 }),
    /** A source equal to its latest complete snapshot: `record` the night beside it (backup/unchanged.ts), or `upload` a new snapshot anyway. */
    unchanged: z.enum(["record", "upload"], { error: "unchanged must be record or upload" }).default("record"),
  })
  .superRefine((cfg, ctx) => {
    unique(cfg.databases.map((d) => d.name ?? ""), "databases", ctx);
    unique(cfg.destinations.map((d) => d.name), "destinations", ctx);
    // Two destinations in the same place are refused in load.ts (samePlace.ts), once paths are resolved.
  });

function unique(names: string[], field: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (n === "") return; // a glob entry: its names are checked when it is expanded
    if (seen.has(n)) ctx.addIssue({ code: "custom", path: [field, i, "name"], message: `"${n}" is used twice; names must be unique` });
    seen.add(n);
  });
}

/**
 * The loaded config: `databases` holds the named entries, and after
 * config/fleet.ts the files every glob matched; `databaseGlobs` the globs as
 * written (resolved) and what each matched this run.
 */
export type Config = Omit<z.infer<typeof configSchema>, "databases"> & {
  databases: DatabaseConfig[];
  databaseGlobs?: { pattern: string; matched?: string[] }[];
  configPath: string;
};
export type DestinationConfig = z.infer<typeof destinationSchema>;
export type LocalDestinationConfig = z.infer<typeof localDestinationSchema>;
export type SftpDestinationConfig = z.infer<typeof sftpDestinationSchema>;
export type S3DestinationConfig = z.infer<typeof s3DestinationSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;
export type CompressionConfig = z.infer<typeof compressionSchema>;

/** Defaults for the 3-2-1 labels, overridable per destination. */
export const DESTINATION_DEFAULTS: Record<DestinationConfig["type"], { medium: string; offsite: boolean; restorePriority: number }> = {
  local: { medium: "disk", offsite: false, restorePriority: 10 },
  sftp: { medium: "nas", offsite: false, restorePriority: 20 },
  s3: { medium: "object-storage", offsite: true, restorePriority: 30 },
};

export function mediumOf(d: DestinationConfig): string {
  return d.medium ?? DESTINATION_DEFAULTS[d.type].medium;
}
export function isOffsite(d: DestinationConfig): boolean {
  return d.offsite ?? DESTINATION_DEFAULTS[d.type].offsite;
}
export function restorePriorityOf(d: DestinationConfig): number {
  return d.restorePriority ?? DESTINATION_DEFAULTS[d.type].restorePriority;
}

/** Where snapshots are staged, run locks and local records live (load.ts fills in the default). */
export function stagingDir(cfg: Pick<Config, "staging">): string {
  return cfg.staging ?? defaultStaging(process.env, process.getuid?.());
}

/**
 * The default staging folder: on disk, not os.tmpdir(), which is RAM where
 * /tmp is tmpfs and is emptied at boot. $XDG_STATE_HOME/triplicate when that
 * is set (absolute, as the XDG spec requires); else /var/tmp, kept across
 * reboots (FHS), one folder per user so two users never share a lock or
 * fight over an owner-only folder.
 */
export function defaultStaging(env: NodeJS.ProcessEnv, uid: number | undefined): string {
  const state = env.XDG_STATE_HOME;
  if (state && path.isAbsolute(state)) return path.join(state, "triplicate");
  return path.join("/var/tmp", uid === undefined ? "triplicate" : `triplicate-${uid}`);
}

/** Why `name` cannot be a database name (the rules of explicit entries), or undefined when it can. */
export function databaseNameProblem(name: string): string | undefined {
  const r = safeName("database name").safeParse(name);
  return r.success ? undefined : r.error.issues[0]?.message;
}
