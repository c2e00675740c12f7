/**
 * What a notifying command (backup, verify, audit) wraps its work in:
 * `start` before it, the outcome after it, and `failure` when it throws
 * (a held run lock, an unreadable staging folder), so a run that died still
 * pings /fail. Notifications never change the report's exit code.
 */
import type { Config } from "../config/schema.js";
import type { RunDeps } from "../runtime/context.js";
import { ConfigError, UsageError } from "../runtime/errors.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { dispatch, makeNotifiers } from "./dispatch.js";
import { notifySecrets, redact } from "./secrets.js";
import { subjectOf } from "./summary.js";
import type { NotifyOutcome, RunSummary } from "./types.js";

export type SummaryCommon = Pick<RunSummary, "host" | "toolVersion" | "configPath" | "startedAt">;

export interface Notified<R> {
  report: R;
  /** The text report, as printed and as mailed. */
  text: string;
  /** Every notification this run sent, start included; failures carry their (scrubbed) reason. */
  notifications: NotifyOutcome[];
}

export async function notified<R extends { exitCode: ExitCode }>(
  ctx: { cfg: Config; deps: RunDeps; command: RunSummary["command"] },
  work: () => Promise<R>,
  describe: (report: R, common: SummaryCommon, finishedAt: string) => { summary: RunSummary; text: string },
): Promise<Notified<R>> {
  const { cfg, deps, command } = ctx;
  const notifiers = makeNotifiers(cfg.notify);
  const secrets = notifySecrets(cfg.notify);
  const send = async (summary: RunSummary, text: string) =>
    notifiers.length === 0 ? [] : dispatch(notifiers, scrub({ summary, subject: subjectOf(summary), text }, secrets), { logger: deps.logger, secrets });
  const common: SummaryCommon = { host: deps.hostname, toolVersion: deps.toolVersion, configPath: cfg.configPath, startedAt: deps.clock().toISOString() };
  const started = await send({ command, event: "start", verdict: "running", ...common, databases: [], findings: [] }, `triplicate ${command} started on ${common.host}`);
  let report: R;
  try {
    report = await work();
  } catch (err) {
    const exitCode: ExitCode = err instanceof ConfigError || err instanceof UsageError ? EXIT.usage : EXIT.failed;
    const error = (err as Error)?.message ?? String(err);
    const summary: RunSummary = { command, event: "failure", verdict: "failed", exitCode, ...common, finishedAt: deps.clock().toISOString(), databases: [], findings: [error], error };
    await send(summary, `triplicate ${command} FAILED before its report: ${error}`);
    throw err;
  }
  const { summary, text } = describe(report, common, deps.clock().toISOString());
  const finished = await send(summary, text);
  return { report, text, notifications: [...started, ...finished] };
}

/** A second line of defence: nothing sent may hold a configured secret, whatever a report happened to say. */
function scrub<T>(message: T, secrets: readonly string[]): T {
  return secrets.length ? (JSON.parse(redact(JSON.stringify(message), secrets)) as T) : message;
}

/** Lines for the text report: failed notifications only (a sent one is not news). */
export function formatNotifications(outcomes: readonly NotifyOutcome[]): string[] {
  return outcomes.filter((o) => !o.ok).map((o) => `NOTIFICATION FAILED: ${o.notifier} (${o.event}): ${o.error}; the run's outcome is unchanged`);
}
