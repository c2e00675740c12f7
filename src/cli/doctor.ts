import { existsSync } from "node:fs";
import path from "node:path";
import { openAdapter } from "../../adapters/index.js";
import { loadConfig } from "../config/load.js";
import { stagingDir, type Config } from "../config/schema.js";
import { defaultDeps } from "../runtime/context.js";
import { UsageError } from "../runtime/errors.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { runDoctor } from "../doctor/run.js";
import { formatDoctorReport } from "../doctor/report.js";
import type { SalvageMethod } from "../doctor/salvage.js";
import { clockFrom, makeLogger, printJson, toolVersion, type CliIO, type GlobalOptions } from "./common.js";

export interface DoctorFlags extends GlobalOptions {
  full?: boolean;
  salvage?: string;
  method: string;
  backupEmergency?: boolean;
}

/**
 * DB is a configured name or a path. A path needs no config: without one
 * there are no snapshots to compare with, and the diagnosis works all the same.
 */
export async function doctorCommand(arg: string, flags: DoctorFlags, io: CliIO): Promise<ExitCode> {
  const logger = makeLogger(flags, io);
  if (!["auto", "recover", "rows"].includes(flags.method)) throw new UsageError(`--method ${flags.method}: use auto, recover or rows`);
  if (flags.backupEmergency && !flags.salvage) throw new UsageError("--backup-emergency backs up the salvaged file: add --salvage OUT");
  const cfg: Config | null = existsSync(flags.config) || !existsSync(arg) ? await loadConfig(flags.config, io.env) : null;
  const byName = cfg?.databases.find((d) => d.name === arg);
  const file = byName ? byName.path : path.resolve(arg);
  if (!existsSync(file)) {
    throw new UsageError(`doctor ${arg}: ${byName ? `${file} (databases[].path of ${arg}) does not exist` : `no configured database of that name and no such file${cfg ? `; configured: ${cfg.databases.map((d) => d.name).join(", ")}` : ""}`}`);
  }
  const db = byName ?? cfg?.databases.find((d) => path.resolve(d.path) === file);
  if (flags.backupEmergency && !db) throw new UsageError(`--backup-emergency needs ${arg} to be a database in the config (its name picks the destinations' folder)`);
  const deps = defaultDeps({
    logger, toolVersion: toolVersion(), clock: clockFrom(io.env),
    openDestination: (d, o) => openAdapter(d, { logger, dryRun: o.dryRun, createRoot: o.createRoot }),
  });
  const salvage = flags.salvage ? path.resolve(flags.salvage) : undefined;
  const report = await runDoctor(
    { name: db?.name ?? null, path: file, arg, db },
    cfg,
    { full: !!flags.full, salvage, method: flags.method as SalvageMethod, backupEmergency: !!flags.backupEmergency, scratch: cfg ? stagingDir(cfg) : undefined },
    deps,
  );
  if (flags.json) printJson(io, report);
  else io.stdout.write(formatDoctorReport(report) + "\n");
  return report.exitCode;
}
