import { readFile } from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { parseDocument } from "yaml";
import { z } from "zod";
import { ConfigError } from "./errors.js";
import { parseDuration, type Duration } from "./duration.js";
import { s3OptionsSchema, checkS3Options } from "../adapters/s3Options.js";
import { sftpOptionsSchema, checkSftpOptions } from "../adapters/sftp/options.js";

/**
 * Names end up as folder names on every destination, so they are held to a
 * small safe alphabet: no slashes, no dots at the start, nothing that could
 * escape a destination root.
 */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const safeName = (what: string) =>
  z.string({ error: `${what} must be a string` }).regex(SAFE_NAME, {
    error: `${what} may only use letters, digits, '-' and '_' (1-63 characters, starting with a letter or digit)`,
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

const policySchema = z.strictObject({
  copies: count("copies").default(3),
  media: count("media").default(2),
  offsite: count("offsite").default(1),
  immutable: count("immutable").optional(),
  maxErrors: count("maxErrors").optional(),
  maxAge: duration.optional(),
});

const compressionSchema = z.strictObject({
  // Left out: zstd when zstd-napi is installed, else gzip.
  algorithm: z.enum(["zstd", "gzip", "none"], { error: "algorithm must be zstd, gzip or none" }).optional(),
  level: z.number().int().min(1).max(19).optional(),
});

const configSchema = z
  .strictObject({
    databases: z.array(databaseSchema).min(1, { error: "list at least one database" }),
    destinations: z.array(destinationSchema).min(1, { error: "list at least one destination" }),
    policy: policySchema.default({ copies: 3, media: 2, offsite: 1 }),
    compression: compressionSchema.default({}),
    staging: z.string().min(1).optional(),
    /** Unfinished uploads and artifacts without a manifest older than this are removed. */
    leftoverGrace: duration.default(parseDuration("24h")),
  })
  .superRefine((cfg, ctx) => {
    unique(cfg.databases.map((d) => d.name), "databases", ctx);
    unique(cfg.destinations.map((d) => d.name), "destinations", ctx);
    // Two destinations on the same store would count one copy twice for 3-2-1, and the
    // stricter retention would delete what the other keeps.
    const seen = new Map<string, string>();
    cfg.destinations.forEach((d, i) => {
      const where =
        d.type === "local" ? `local:${d.path}` : d.type === "sftp" ? `sftp:${d.host}:${d.port}:${d.path}` : `s3:${d.endpoint ?? "aws"}:${d.bucket}/${d.prefix}`;
      const other = seen.get(where);
      if (other) ctx.addIssue({ code: "custom", path: ["destinations", i], message: `points at the same place as destination "${other}"; each destination must be a different store or folder` });
      seen.set(where, d.name);
    });
  });

function unique(names: string[], field: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) ctx.addIssue({ code: "custom", path: [field, i, "name"], message: `"${n}" is used twice; names must be unique` });
    seen.add(n);
  });
}

export type Config = z.infer<typeof configSchema> & { configPath: string };
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

export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === "ENOENT"
        ? `config file ${file} does not exist; create one with "triplicate init --config ${file}" or pass --config PATH`
        : `cannot read config file ${file}: ${(err as Error).message}`,
      [],
      { cause: err },
    );
  }
  return parseConfig(text, file, env);
}

/** Parse, interpolate `${ENV}` and validate. Relative paths resolve from the config file's folder. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${file} is not valid YAML`, doc.errors.map((e) => e.message.split("\n")[0]));
  }
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== "object") {
    throw new ConfigError(`${file} is empty or not a mapping; start from "triplicate init"`);
  }
  const problems: string[] = [];
  const interpolated = interpolate(raw, env, [], problems);
  if (problems.length) throw new ConfigError(`${file} refers to environment variables that are not set`, problems);

  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) {
    throw new ConfigError(`${file} has ${parsed.error.issues.length} problem(s)`, parsed.error.issues.map((i) => formatIssue(i, interpolated)));
  }
  const base = path.dirname(path.resolve(file));
  const cfg = parsed.data;
  const abs = (p: string) => path.resolve(base, expandHome(p));
  return {
    ...cfg,
    databases: cfg.databases.map((d) => ({ ...d, path: abs(d.path) })),
    // Local paths and key files resolve from the config's folder; a remote `path` stays as written.
    destinations: cfg.destinations.map((d) =>
      d.type === "local"
        ? { ...d, path: abs(d.path) }
        : d.type === "sftp"
          ? { ...d, privateKeyPath: d.privateKeyPath && abs(d.privateKeyPath), knownHostsPath: d.knownHostsPath && abs(d.knownHostsPath) }
          : d,
    ),
    staging: cfg.staging ? abs(cfg.staging) : undefined,
    configPath: path.resolve(file),
  };
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/** Replace `${NAME}` in every string; `$${...}` stays literal. Unset names are collected as problems. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, at: (string | number)[], problems: string[]): unknown {
  if (typeof value === "string") {
    return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
      if (whole.startsWith("$$")) return whole.slice(1);
      const v = env[name];
      if (v === undefined) {
        problems.push(`${formatPath(at)}: environment variable ${name} is not set; export it before running triplicate`);
        return "";
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...at, i], problems));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...at, k], problems)]));
  }
  return value;
}

function formatPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((s, k) => (typeof k === "number" ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), "") || "(top level)";
}

/** One line per problem: where, what is wrong, and (where we know it) how to fix it. */
function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = formatPath(issue.path);
  // Name the entry by its `name` when there is one: "destinations[1] (nas)".
  const named = issue.path.length >= 2 ? lookupName(input, issue.path.slice(0, 2)) : undefined;
  const label = named ? `${where} (in ${String(issue.path[0])} "${named}")` : where;
  if (issue.code === "unrecognized_keys") {
    return `${label}: unknown setting(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against "triplicate init" (this version does not support them)`;
  }
  if (issue.code === "invalid_type") {
    // zod leaves issue.input out unless asked to, so look at what the file really says.
    const given = valueAt(input, issue.path);
    if (given === undefined) return `${label}: missing; add it`;
    return `${label}: must be ${EXPECTED_WORDS[issue.expected] ?? issue.expected}, not ${JSON.stringify(given)}`;
  }
  return `${label}: ${issue.message}`;
}

const EXPECTED_WORDS: Record<string, string> = {
  number: "a number", int: "a whole number", string: "text", boolean: "true or false", array: "a list", object: "a mapping (key: value)",
};

function valueAt(input: unknown, p: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const k of p) cur = (cur as Record<PropertyKey, unknown> | undefined)?.[k];
  return cur;
}

function lookupName(input: unknown, p: readonly PropertyKey[]): string | undefined {
  const n = (valueAt(input, p) as { name?: unknown } | undefined)?.name;
  return typeof n === "string" ? n : undefined;
}

/** Where snapshots are staged, run locks and local records live. */
export function stagingDir(cfg: Pick<Config, "staging">): string {
  return cfg.staging ?? path.join(os.tmpdir(), "triplicate");
}
