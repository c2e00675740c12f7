import type { ExitCode } from "../runtime/exitCodes.js";
import { runPrune } from "../retention/run.js";
import { formatPruneReport } from "../retention/format.js";
import { checkDbFlag, printJson, setup, type CliIO, type GlobalOptions } from "./common.js";

export interface PruneFlags extends GlobalOptions {
  dryRun?: boolean;
  force?: boolean;
  db: string[];
}

/** Retention alone, per destination, printing what is kept and why. */
export async function pruneCommand(flags: PruneFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps } = await setup(flags, io);
  checkDbFlag(cfg, flags.db);
  const report = await runPrune(cfg, { dryRun: !!flags.dryRun, force: !!flags.force, db: flags.db }, deps);
  if (flags.json) printJson(io, report);
  else io.stdout.write(formatPruneReport(report) + "\n");
  return report.exitCode;
}
