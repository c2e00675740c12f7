/** What each command's report tells Prometheus. Names: triplicate_ prefix, base units (_seconds, _bytes). */
import type { BackupReport } from "../backup/run.js";
import type { AuditReport } from "../audit/build.js";
import type { VerifyReport } from "../verify/run.js";
import type { PolicyVerdict } from "../policy/judge.js";
import type { Sample } from "./series.js";

const g = (name: string, help: string, labels: Record<string, string>, value: number): Sample => ({ name, help, type: "gauge", labels, value });

/** Every command, whatever it did. */
export function runSamples(command: string, o: { startedAtMs: number; finishedAtMs: number; exitCode: number; notifyFailures: number }): Sample[] {
  const l = { command };
  const out = [
    g("triplicate_last_run_timestamp_seconds", "When the command last finished (Unix time).", l, o.finishedAtMs / 1000),
    g("triplicate_last_run_duration_seconds", "How long the command's last run took.", l, (o.finishedAtMs - o.startedAtMs) / 1000),
    g("triplicate_last_run_exit_code", "Exit code of the command's last run: 0 ok, 1 failed, 2 usage/config, 3 degraded.", l, o.exitCode),
    g("triplicate_last_run_notification_failures", "Notifications the command's last run could not send.", l, o.notifyFailures),
  ];
  if (o.exitCode === 0) out.push(g("triplicate_last_success_timestamp_seconds", "When the command last finished with exit 0 (Unix time).", l, o.finishedAtMs / 1000));
  return out;
}

function policySamples(db: string, p: PolicyVerdict): Sample[] {
  const l = { db };
  return [
    g("triplicate_latest_snapshot_copies", "Copies of the latest snapshot (the live database counts as one), verified copies only.", l, p.copies),
    g("triplicate_latest_snapshot_media", "Distinct media holding a verified copy of the latest snapshot.", l, p.media.length),
    g("triplicate_latest_snapshot_offsite", "Offsite destinations holding a verified copy of the latest snapshot.", l, p.offsite.length),
    g("triplicate_latest_snapshot_immutable", "Destinations holding a locked (Object Lock) copy of the latest snapshot.", l, p.immutable.length),
    g("triplicate_policy_met", "1 when every 3-2-1 rule passes for the latest snapshot.", l, p.pass ? 1 : 0),
  ];
}

export function backupSamples(r: BackupReport): Sample[] {
  if (r.dryRun) return [];
  return r.databases.flatMap((d) => [
    ...(d.artifact
      ? [
          g("triplicate_backup_raw_bytes", "Size of the database in the last backup's snapshot.", { db: d.db }, d.artifact.rawSize),
          g("triplicate_backup_artifact_bytes", "Size of the last backup's artifact (compressed).", { db: d.db }, d.artifact.size),
        ]
      : []),
    ...d.destinations.flatMap((x) => {
      const l = { db: d.db, destination: x.destination };
      const verified = x.status === "verified";
      // An unchanged night uploads nothing; its copy stands on the proof it already has, so it is not an alert.
      const standing = verified || (x.status === "unchanged" && !!x.proof);
      return [
        g("triplicate_backup_destination_verified", "1 when the last backup's copy on this destination was verified (or, on an unchanged night, already proven).", l, standing ? 1 : 0),
        ...(verified
          ? [
              g("triplicate_backup_upload_seconds", "Upload plus read-back time of the last backup's copy.", l, x.durationMs / 1000),
              g("triplicate_backup_upload_bytes_per_second", "Artifact bytes per second of the last upload plus read-back.", l, x.durationMs > 0 ? x.bytes / (x.durationMs / 1000) : 0),
            ]
          : []),
      ];
    }),
    ...(d.policy ? policySamples(d.db, d.policy) : []),
  ]);
}

export function verifySamples(r: VerifyReport): Sample[] {
  return [g("triplicate_verify_errors", "Copies the last verify found wrong.", {}, r.errors)];
}

/** snapshotId = 20261125T020000Z-<hex>: its time. */
function snapshotTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

export function auditSamples(r: AuditReport, nowMs: number): Sample[] {
  return [
    g("triplicate_audit_compliant", "1 when the last audit's verdict was compliant.", {}, r.verdict === "compliant" ? 1 : 0),
    g("triplicate_audit_findings", "Findings of the last audit.", {}, r.findings.length),
    ...r.databases.flatMap((d) => [
      ...policySamples(d.db, d.policy),
      ...(d.latest ? [g("triplicate_latest_snapshot_age_seconds", "Age of the newest snapshot with a complete copy (the RPO).", { db: d.db }, d.latest.ageMs / 1000)] : []),
      ...(d.unproven ?? []).map((u) => {
        const oldest = Math.min(...u.snapshotIds.map(snapshotTime).filter(Number.isFinite));
        const age = Number.isFinite(oldest) ? (nowMs - oldest) / 1000 : 0;
        return g("triplicate_oldest_unproven_copy_age_seconds", "Age of the oldest copy not restore-tested within policy.proveWithin (0: none).", { db: d.db, destination: u.destination }, age);
      }),
    ]),
  ];
}
