/**
 * metrics/: the Prometheus textfile, written after every command that loaded
 * a config with `metrics:`. main.ts opens a session per command; setup()
 * gives it the config, the command its report; finish() writes the file.
 * Writing it never changes the exit code: a failure is a warning.
 */
import path from "node:path";
import type { Logger } from "pino";
import { stagingDir, type Config } from "../config/schema.js";
import type { NotifyOutcome } from "../notify/types.js";
import type { BackupReport } from "../backup/run.js";
import type { VerifyReport } from "../verify/run.js";
import type { AuditReport } from "../audit/build.js";
import { auditSamples, backupSamples, runSamples, verifySamples } from "./collect.js";
import { freeSpaceSamples } from "./freeSpace.js";
import type { FreeSpace } from "../history/freeSpace.js";
import { updateTextfile } from "./textfile.js";
import { makePrivateDir } from "../runtime/privateFiles.js";

export type CommandReport = { command: "backup"; report: BackupReport } | { command: "verify"; report: VerifyReport } | { command: "audit"; report: AuditReport };

export interface CommandSession {
  command: string;
  startedAtMs: number;
  cfg?: Config;
  logger?: Logger;
  outcome?: CommandReport;
  notifications?: NotifyOutcome[];
  /** Free space the command measured over its open adapters (metrics/freeSpace.ts measureFreeSpace). */
  freeSpace?: FreeSpace[];
}

export function openSession(command: string, now: () => number = Date.now): CommandSession {
  return { command, startedAtMs: now() };
}

export async function finishSession(s: CommandSession | undefined, exitCode: number, now: () => number = Date.now): Promise<void> {
  const cfg = s?.cfg;
  if (!s || !cfg?.metrics) return;
  const finishedAtMs = now();
  try {
    const o = s.outcome;
    const fresh = [
      ...runSamples(s.command, { startedAtMs: s.startedAtMs, finishedAtMs, exitCode, notifyFailures: (s.notifications ?? []).filter((n) => !n.ok).length }),
      ...(o?.command === "backup" ? backupSamples(o.report) : o?.command === "verify" ? verifySamples(o.report) : o?.command === "audit" ? auditSamples(o.report, finishedAtMs) : []),
      ...(await freeSpaceSamples(cfg.destinations, s.freeSpace)),
    ];
    const keep = { dbs: new Set(cfg.databases.map((d) => d.name)), destinations: new Set(cfg.destinations.map((d) => d.name)) };
    await makePrivateDir(stagingDir(cfg));
    await updateTextfile(cfg.metrics.textfile, path.join(stagingDir(cfg), "metrics-state.json"), fresh, keep);
  } catch (err) {
    s.logger?.warn({ err: { message: (err as Error).message }, textfile: cfg.metrics.textfile }, `metrics textfile ${cfg.metrics.textfile} not written: ${(err as Error).message}; the run's outcome is unchanged`);
  }
}
