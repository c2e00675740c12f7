import { runBackup } from "../backup/run.js";
import { formatBackupReport } from "../backup/report.js";
import { printJson, setup, type CliIO, type GlobalOptions } from "./common.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { fromBackup } from "../history/fromReports.js";
import { recordRun } from "../history/runRecord.js";

export interface BackupFlags extends GlobalOptions {
  db?: string;
  tag: string[];
  dryRun?: boolean;
  acceptShrink?: boolean;
  init?: boolean;
}

export async function backupCommand(flags: BackupFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps, pool, progress } = await setup(flags, io, { progress: true });
  const startedAt = deps.clock();
  let report;
  try {
    report = await runBackup(cfg, { db: flags.db, tags: flags.tag.length ? flags.tag : ["manual"], dryRun: !!flags.dryRun, acceptShrink: !!flags.acceptShrink, init: !!flags.init }, deps);
    await recordRun(fromBackup(report), startedAt, pool, deps);
  } finally {
    progress.stop();
    await pool.closeAll();
  }
  if (flags.json) printJson(io, report);
  else io.stdout.write(formatBackupReport(report) + "\n");
  return report.exitCode;
}
