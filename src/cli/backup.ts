import { runBackup } from "../backup/run.js";
import { formatBackupReport } from "../backup/report.js";
import { printJson, recordOutcome, setup, type CliIO, type GlobalOptions } from "./common.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { formatNotifications, notified } from "../notify/run.js";
import { summarizeBackup } from "../notify/summary.js";

export interface BackupFlags extends GlobalOptions {
  db: string[];
  tag: string[];
  dryRun?: boolean;
  acceptShrink?: boolean;
  init?: boolean;
}

export async function backupCommand(flags: BackupFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps } = await setup(flags, io);
  const { report, text, notifications } = await notified(
    { cfg, deps, command: "backup" },
    () => runBackup(cfg, { db: flags.db, tags: flags.tag.length ? flags.tag : ["manual"], dryRun: !!flags.dryRun, acceptShrink: !!flags.acceptShrink, init: !!flags.init }, deps),
    (r, common) => ({ summary: summarizeBackup(r, common), text: formatBackupReport(r) }),
  );
  recordOutcome(io, { command: "backup", report }, notifications);
  if (flags.json) printJson(io, { ...report, notifications });
  else io.stdout.write([text, ...formatNotifications(notifications)].join("\n") + "\n");
  return report.exitCode;
}
