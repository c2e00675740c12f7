/** The headline of each notifying command's report, for notifiers (types.ts RunSummary). */
import type { BackupReport } from "../backup/run.js";
import type { VerifyReport } from "../verify/run.js";
import type { AuditReport } from "../audit/build.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import type { NotifyEvent } from "./schema.js";
import type { RunSummary } from "./types.js";

type Common = Pick<RunSummary, "host" | "toolVersion" | "configPath" | "startedAt">;

export function eventOf(code: ExitCode): NotifyEvent {
  return code === EXIT.ok ? "success" : code === EXIT.degraded ? "degraded" : "failure";
}

const VERDICT: Record<number, string> = { 0: "ok", 1: "failed", 2: "failed", 3: "degraded" };

export function summarizeBackup(r: BackupReport, common: Common): RunSummary {
  return {
    command: "backup",
    event: eventOf(r.exitCode),
    verdict: VERDICT[r.exitCode],
    exitCode: r.exitCode,
    ...common,
    finishedAt: r.finishedAt,
    durationMs: Date.parse(r.finishedAt) - Date.parse(r.startedAt),
    databases: r.databases.map((d) => ({
      db: d.db,
      outcome: VERDICT[d.exitCode],
      snapshotId: d.snapshotId,
      rawBytes: d.artifact?.rawSize,
      artifactBytes: d.artifact?.size,
      destinations: d.destinations.map((x) => ({ destination: x.destination, outcome: x.status, durationMs: x.durationMs, bytes: x.bytes, error: x.error })),
    })),
    findings: r.databases.flatMap((d) => [
      ...(d.error ? [`${d.db}: ${d.error}`] : []),
      ...d.destinations.filter((x) => x.status === "failed").map((x) => `${d.db}: ${x.destination}: ${x.error}`),
      ...(d.policy?.rules.filter((x) => !x.pass).map((x) => `${d.db}: 3-2-1 rule ${x.rule} ${x.reason}`) ?? []),
      ...(d.anomaly && !d.anomaly.accepted ? [`${d.db}: the source shrank (anomaly): retention held everywhere`] : []),
      ...d.destinations.flatMap((x) => (x.retention?.held ?? []).map((h) => `${d.db}: ${x.destination}: retention held: ${h.message}`)),
    ]).concat(
      // A vanished tenant degrades the run on its own: the alert says which, and that its copies were kept.
      (r.vanished ?? []).map((v) => `${v.db}: vanished: ${v.sourcePath} is gone; copies kept, newest ${v.newest.snapshotId} on ${v.newest.destination}, ${v.newest.age} old`),
    ),
  };
}

export function summarizeVerify(r: VerifyReport, common: Common, finishedAt: string): RunSummary {
  return {
    command: "verify",
    event: eventOf(r.exitCode),
    verdict: VERDICT[r.exitCode],
    exitCode: r.exitCode,
    ...common,
    finishedAt,
    durationMs: Date.parse(finishedAt) - Date.parse(common.startedAt),
    databases: [],
    findings: [
      ...(r.errors ? [`${r.errors} error(s)`] : []),
      ...r.unprotected.map((db) => `no complete copy of ${db} on any reachable destination`),
      ...r.failedDeep.map((db) => `no copy of ${db} passed the deep check`),
      ...r.destinations.filter((d) => !d.reachable).map((d) => `${d.destination} unreachable: ${d.error}`),
    ],
  };
}

export function summarizeAudit(r: AuditReport, common: Common, finishedAt: string): RunSummary {
  return {
    command: "audit",
    event: eventOf(r.exitCode),
    verdict: r.verdict,
    exitCode: r.exitCode,
    ...common,
    finishedAt,
    durationMs: Date.parse(finishedAt) - Date.parse(common.startedAt),
    databases: r.databases.map((d) => ({
      db: d.db,
      outcome: d.policy.pass ? "met" : "not met",
      snapshotId: d.latest?.snapshotId,
      destinations: d.latestCopies.map((c) => ({ destination: c.destination, outcome: c.state })),
    })),
    findings: r.findings,
  };
}

const WORDS: Record<string, string> = { ok: "OK", failed: "FAILED", degraded: "DEGRADED", running: "STARTED" };

/** "triplicate backup DEGRADED on db1 (exit 3)": what a mail subject and a ping's first line say. */
export function subjectOf(s: RunSummary): string {
  const verdict = WORDS[s.verdict] ?? s.verdict.toUpperCase();
  return `triplicate ${s.command} ${verdict} on ${s.host}${s.exitCode === undefined ? "" : ` (exit ${s.exitCode})`}`;
}
