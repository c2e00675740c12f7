import { runBackup } from "../backup/run.js";
import { formatBackupReport } from "../backup/report.js";
import { printJson, recordOutcome, setup, type CliIO, type GlobalOptions } from "./common.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { formatNotifications, notified } from "../notify/run.js";
import { summarizeBackup } from "../notify/summary.js";
import { fromBackup } from "../history/fromReports.js";
import { recordRun } from "../history/runRecord.js";

export interface BackupFlags extends GlobalOptions {
  db: string[];
  tag: string[];
  dryRun?: boolean;
  acceptShrink?: boolean;
  init?: boolean;
}

export async function backupCommand(flags: BackupFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps, pool, progress } = await setup(flags, io, { progress: true });
  const startedAt = deps.clock();
  let outcome;
  try {
    outcome = await notified(
      { cfg, deps, command: "backup" },
      async () => {
        const r = await runBackup(cfg, { db: flags.db, tags: flags.tag.length ? flags.tag : ["manual"], dryRun: !!flags.dryRun, acceptShrink: !!flags.acceptShrink, init: !!flags.init }, deps);
        await recordRun(fromBackup(r), startedAt, pool, deps);
        return r;
      },
      (r, common) => ({ summary: summarizeBackup(r, common), text: formatBackupReport(r) }),
    );
  } finally {
    progress.stop();
    await pool.closeAll();
  }
  const { report, text, notifications } = outcome;
  recordOutcome(io, { command: "backup", report }, notifications);
  if (flags.json) printJson(io, { ...report, notifications });
  else io.stdout.write([text, ...formatNotifications(notifications)].join("\n") + "\n");
  return report.exitCode;
}
