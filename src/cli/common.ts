import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import type { Logger } from "pino";
import { openAdapter } from "../../adapters/index.js";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { defaultDeps, type RunDeps } from "../runtime/context.js";
import { UsageError } from "../runtime/errors.js";
import type { CommandReport, CommandSession } from "../metrics/session.js";
import { measureFreeSpace } from "../metrics/freeSpace.js";
import type { NotifyOutcome } from "../notify/types.js";
import { LOG_LEVELS, createLogger, type LogLevel } from "../runtime/logger.js";
import { createAdapterPool, type AdapterPool } from "../history/pool.js";
import { createProgress, type Progress } from "../progress/terminal.js";
import { stageFromLog, withProgress } from "../progress/observe.js";
import { Writable } from "node:stream";

export interface GlobalOptions {
  config: string;
  json?: boolean;
  /** `--quiet`: main.ts holds all output back unless the exit code is not 0 (cli/quiet.ts). */
  quiet?: boolean;
  logLevel: LogLevel;
}

/** What a command needs from its process; tests pass their own. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** This command's metrics session (metrics/session.ts), opened by main.ts. */
  session?: CommandSession;
}

export const DEFAULT_CONFIG = "triplicate.yml";

export function addGlobalOptions(cmd: Command, env: NodeJS.ProcessEnv): Command {
  return cmd
    .option("-c, --config <file>", "config file", env.TRIPLICATE_CONFIG ?? DEFAULT_CONFIG)
    .option("--json", "print one JSON report on stdout")
    .option("--log-level <level>", `log level on stderr (${LOG_LEVELS.join(", ")})`, "info")
    .option("-q, --quiet", "print nothing when all is well (exit 0); the report and the logs when not (for cron)");
}

export function toolVersion(): string {
  // dist/bin, dist/src/cli or src/cli: walk up to the package.json that names us.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
      if (pkg.name === "triplicate") return pkg.version;
    } catch {
      /* keep walking */
    }
    dir = path.dirname(dir);
  }
  return "0.0.0";
}

/**
 * The clock. TRIPLICATE_NOW (an ISO time) pins it, for tests and for
 * rehearsing a retention plan at a future date; normally it is the wall clock.
 */
export function clockFrom(env: NodeJS.ProcessEnv): () => Date {
  const fixed = env.TRIPLICATE_NOW;
  if (!fixed) return () => new Date();
  const t = new Date(fixed);
  if (Number.isNaN(t.getTime())) throw new UsageError(`TRIPLICATE_NOW="${fixed}" is not an ISO time such as 2026-11-25T02:00:00Z; unset it to use the real clock`);
  return () => new Date(t);
}

function checkLogLevel(opts: GlobalOptions): void {
  if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel)) {
    throw new UsageError(`--log-level ${opts.logLevel} is not one of ${LOG_LEVELS.join(", ")}`);
  }
}

export function makeLogger(opts: GlobalOptions, io: CliIO, progress?: Progress): Logger {
  checkLogLevel(opts);
  if (!progress?.enabled) return createLogger(opts.logLevel, io.stderr);
  // While live lines are drawn, log lines are printed above them instead of through them.
  const above = Object.assign(new Writable({ write: (chunk, _enc, done) => (progress.log(String(chunk)), done()) }), { isTTY: true });
  return createLogger(opts.logLevel, above, (msg, b) => stageFromLog(progress, msg, typeof b.db === "string" ? b.db : undefined));
}

/**
 * `pool` keeps the run's adapters open after the command's core is done, for
 * its history record (src/history/); the command closes it in a finally.
 */
export async function setup(
  opts: GlobalOptions,
  io: CliIO,
  want: { progress?: boolean } = {},
): Promise<{ cfg: Config; deps: RunDeps; logger: Logger; pool: AdapterPool; progress: Progress }> {
  // Live lines only for backup and restore, only on a terminal, never with --json or --quiet.
  // (--quiet is added by another change; until its flag exists this reads undefined.)
  const quiet = (opts as GlobalOptions & { quiet?: boolean }).quiet;
  checkLogLevel(opts);
  const cfg = await loadConfig(opts.config, io.env);
  const progress = createProgress({ stderr: io.stderr, json: opts.json, quiet: quiet || !want.progress });
  const logger = makeLogger(opts, io, progress);
  const session = io.session;
  const pool = createAdapterPool(async (d, o) => withProgress(await openAdapter(d, { logger, dryRun: o.dryRun, createRoot: o.createRoot }), d.name, progress), {
    beforeClose: session && cfg.metrics ? (opened) => measureFreeSpace(cfg, opened, session) : undefined,
  });
  const deps = defaultDeps({
    logger,
    toolVersion: toolVersion(),
    clock: clockFrom(io.env),
    openDestination: pool.openDestination,
  });
  if (io.session) Object.assign(io.session, { cfg, logger });
  return { cfg, deps, logger, pool, progress };
}

/** What the metrics textfile learns from a command's report. */
export function recordOutcome(io: CliIO, outcome: CommandReport, notifications: NotifyOutcome[]): void {
  if (io.session) Object.assign(io.session, { outcome, notifications });
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** `--db NAME` must name a configured database: a typo must not report "all healthy". */
export function checkDbFlag(cfg: Config, dbs: string[] | undefined, why = ""): void {
  const db = (dbs ?? []).find((n) => !cfg.databases.some((d) => d.name === n));
  if (db) {
    throw new UsageError(`no database named "${db}" in ${cfg.configPath}${why}; configured: ${cfg.databases.map((d) => d.name).join(", ")}`);
  }
}
