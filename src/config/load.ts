import { readFile } from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../runtime/errors.js";
import { configSchema, defaultStaging, isGlob, type Config } from "./schema.js";
import { expandGlobs } from "./fleet.js";
import { samePlaceProblems } from "./samePlace.js";

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
  // Globs are expanded at every load, so a tenant added since the last run is backed up.
  return expandGlobs(parseConfig(text, file, env));
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
  const resolved: Config = {
    ...cfg,
    databases: cfg.databases.filter((d) => !isGlob(d.path)).map((d) => ({ name: d.name!, path: abs(d.path) })),
    databaseGlobs: cfg.databases.filter((d) => isGlob(d.path)).map((d) => ({ pattern: abs(d.path) })),
    // Local paths and key files resolve from the config's folder; a remote `path` stays as written.
    destinations: cfg.destinations.map((d) =>
      d.type === "local"
        ? { ...d, path: abs(d.path) }
        : d.type === "sftp"
          ? { ...d, privateKeyPath: d.privateKeyPath && abs(d.privateKeyPath), knownHostsPath: d.knownHostsPath && abs(d.knownHostsPath) }
          : d,
    ),
    staging: cfg.staging ? abs(cfg.staging) : defaultStaging(env, process.getuid?.()),
    metrics: cfg.metrics && { textfile: abs(cfg.metrics.textfile) },
    configPath: path.resolve(file),
  };
  const same = samePlaceProblems(resolved.destinations);
  if (same.length) throw new ConfigError(`${file} has ${same.length} problem(s)`, same);
  return resolved;
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
    const expected = EXPECTED_WORDS[issue.expected] ?? issue.expected;
    if (isSecret(issue.path, given)) return `${label}: must be ${expected} (value hidden)`;
    return `${label}: must be ${expected}, not ${JSON.stringify(given)}`;
  }
  return `${label}: ${issue.message}`;
}

/** Settings whose value is a secret by name: passwords, passphrases, keys, tokens, credentials. */
const SECRET_KEY = /pass(word|phrase)?|secret|token|credential|accesskey|apikey|privatekey(?!path)|auth/i;
/** A URL with a user:password@ part, or a query or fragment, which is where webhook tokens travel. */
const URL_WITH_CREDENTIALS = /:\/\/[^/\s]*@|:\/\/\S*[?#]/;

/**
 * Config errors are printed, logged and pasted into tickets: a secret set to
 * the wrong type (an unquoted numeric password) must not be echoed there.
 */
function isSecret(at: readonly PropertyKey[], value: unknown): boolean {
  if (at.some((k) => typeof k === "string" && SECRET_KEY.test(k))) return true;
  const strings: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === "string") strings.push(v);
    else if (v && typeof v === "object") Object.values(v).forEach(collect);
  };
  collect(value);
  return strings.some((s) => URL_WITH_CREDENTIALS.test(s));
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
