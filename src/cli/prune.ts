import type { ExitCode } from "../runtime/exitCodes.js";
import { runPrune } from "../retention/run.js";
import { fromPrune } from "../history/fromReports.js";
import { recordRun } from "../history/runRecord.js";
import { formatPruneReport } from "../retention/format.js";
import { checkDbFlag, printJson, setup, type CliIO, type GlobalOptions } from "./common.js";

export interface PruneFlags extends GlobalOptions {
  dryRun?: boolean;
  force?: boolean;
  db: string[];
}

/** Retention alone, per destination, printing what is kept and why. */
export async function pruneCommand(flags: PruneFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps, pool } = await setup(flags, io);
  // Never widened to names with copies only (a vanished tenant): prune deletes, and only what the config names.
  checkDbFlag(cfg, flags.db, " (prune deletes copies only of databases the config names; copies under any other name are never touched)");
  const startedAt = deps.clock();
  let report;
  try {
    report = await runPrune(cfg, { dryRun: !!flags.dryRun, force: !!flags.force, db: flags.db }, deps);
    await recordRun(fromPrune(report), startedAt, pool, deps);
  } finally {
    await pool.closeAll();
  }
  if (flags.json) printJson(io, report);
  else io.stdout.write(formatPruneReport(report) + "\n");
  return report.exitCode;
}
