import { runBackup } from "../backup/run.js";
import { formatBackupReport } from "../backup/report.js";
import { loadConfig } from "../config/load.js";
import { ConfigError, UsageError } from "../runtime/errors.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { startSchedule, parseCron, type RunResult, type ScheduleEvent } from "../schedule/loop.js";
import { checkDbFlag, makeLogger, setup, type CliIO, type GlobalOptions } from "./common.js";

export interface ScheduleFlags extends GlobalOptions {
  cron?: string;
  timezone?: string;
  db: string[];
  tag: string[];
}

/**
 * `triplicate schedule --cron EXPR`: stays in the foreground and runs a backup
 * on every tick, for containers and hosts without cron. The config is read
 * again for every run, so an edit applies from the next run on; a config that
 * is broken at start is a usage error (exit 2) rather than a schedule that
 * fails every night. The first SIGTERM or SIGINT stops the schedule and lets
 * the run under way finish (exit 0); a second one quits at once (exit 1), which
 * is safe too: a copy counts only once its manifest is written, and the next
 * run sweeps what the cut-off one left.
 */
export async function scheduleCommand(flags: ScheduleFlags, io: CliIO): Promise<ExitCode> {
  if (!flags.cron) throw new UsageError(`schedule needs --cron EXPR, e.g. --cron "0 2 * * *" (02:00 every night)`);
  parseCron(flags.cron, flags.timezone).stop();
  const logger = makeLogger(flags, io);
  const cfg = await loadConfig(flags.config, io.env);
  checkDbFlag(cfg, flags.db);
  const emit = (e: ScheduleEvent) => io.stdout.write(flags.json ? JSON.stringify(e) + "\n" : describe(e) + "\n");
  const runOnce = async (): Promise<RunResult> => {
    try {
      const { cfg, deps, pool } = await setup(flags, io);
      // Each run closes what it opened; a schedule that runs for months must not pile up SFTP sessions.
      const report = await runBackup(cfg, { db: flags.db, tags: flags.tag.length ? flags.tag : ["scheduled"], dryRun: false }, deps).finally(() => pool.closeAll());
      if (!flags.json) io.stdout.write(formatBackupReport(report) + "\n");
      return { exitCode: report.exitCode, report: flags.json ? report : undefined };
    } catch (err) {
      const usage = err instanceof ConfigError || err instanceof UsageError;
      logger.error({ err: { message: (err as Error).message } }, "scheduled run failed");
      return { exitCode: usage ? EXIT.usage : EXIT.failed, error: (err as Error).message };
    }
  };
  const handle = startSchedule(flags.cron, { timezone: flags.timezone }, runOnce, { logger, clock: () => new Date(), emit });
  const onSignal = (name: NodeJS.Signals) => {
    if (stopRequested) {
      io.stderr.write(`triplicate: ${name} again: quitting now; the next run sweeps what this one left\n`);
      process.exit(EXIT.failed);
    }
    stopRequested = true;
    io.stderr.write(`triplicate: ${name}: no new runs; waiting for the run under way to finish (send it again to quit at once)\n`);
    void handle.stop(name);
  };
  let stopRequested = false;
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await handle.done;
  } finally {
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("SIGINT", onSignal);
  }
  return EXIT.ok;
}

function describe(e: ScheduleEvent): string {
  switch (e.event) {
    case "scheduled":
      return `schedule: backup on "${e.cron}"${e.timezone ? ` (${e.timezone})` : ""}; next run ${e.nextRun ?? "never"}`;
    case "run-started":
      return `schedule: run ${e.run} started ${e.startedAt}`;
    case "run-finished":
      return `schedule: run ${e.run} finished ${e.finishedAt}, exit ${e.exitCode}${e.error ? `: ${e.error}` : ""}`;
    case "skipped":
      return `schedule: tick at ${e.at} skipped: ${e.reason}`;
    case "stopping":
      return `schedule: ${e.signal}: stopping${e.waitingForRun ? `, waiting for run ${e.waitingForRun} to finish` : ""}`;
    case "stopped":
      return `schedule: stopped after ${e.runs} run(s)`;
  }
}
