import type { BackupReport } from "./run.js";
import type { DestinationInventory } from "../catalog/inventory.js";
import type { RetentionOutcome } from "../retention/apply.js";
import { formatBytes } from "../runtime/format.js";

const EXIT_WORDS: Record<number, string> = { 0: "OK", 1: "FAILED", 2: "USAGE ERROR", 3: "DEGRADED" };

/** The run report a person reads in cron mail. `--json` prints the same data as JSON instead. */
export function formatBackupReport(r: BackupReport): string {
  const lines: string[] = [];
  lines.push(`triplicate backup ${r.dryRun ? "(dry run) " : ""}— ${EXIT_WORDS[r.exitCode]} (exit ${r.exitCode})`);
  for (const db of r.databases) {
    lines.push("");
    lines.push(`database ${db.db}  snapshot ${db.snapshotId ?? "-"}`);
    if (db.error) {
      lines.push(`  FAILED: ${db.error}`);
      lines.push(`  nothing was shipped and nothing was deleted`);
      continue;
    }
    if (db.artifact && db.snapshot) {
      const rows = Object.values(db.snapshot.facts.rowCounts).reduce((a, b) => a + b, 0);
      lines.push(
        `  snapshot  ${formatBytes(db.artifact.rawSize)} raw, ${rows} rows in ${Object.keys(db.snapshot.facts.rowCounts).length} tables, integrity ok, ${db.snapshot.durationMs} ms`,
      );
      lines.push(`  artifact  ${db.artifact.key}  ${formatBytes(db.artifact.size)} ${db.artifact.compression}  sha256 ${db.artifact.sha256}`);
    }
    for (const d of db.destinations) {
      const speed = d.mbPerSec ? `, ${d.mbPerSec} MB/s` : "";
      const lock = d.lockedUntil ? `, locked until ${d.lockedUntil.toISOString()}` : "";
      lines.push(`  ${pad(d.destination, 14)} ${pad(d.status.toUpperCase(), 9)} ${d.status === "failed" ? d.error : `${d.durationMs} ms${speed}${lock}`}`);
      if (d.retention) lines.push(...formatRetention(d.retention).map((l) => `      ${l}`));
    }
    if (db.policy) {
      lines.push(`  3-2-1 ${db.policy.pass ? "MET" : "NOT MET"}`);
      for (const rule of db.policy.rules) lines.push(`    ${rule.pass ? "pass" : "FAIL"}  ${pad(rule.rule, 9)} ${rule.reason}`);
    }
  }
  return lines.join("\n");
}

export function formatRetention(o: RetentionOutcome): string[] {
  const lines: string[] = [];
  const verb = o.dryRun ? "would delete" : "deleted";
  lines.push(`retention: kept ${o.kept.length}, ${verb} ${o.deleted.length}`);
  for (const k of o.kept) lines.push(`  keep   ${k.snapshotId}  (${k.reasons.join(", ")})`);
  for (const d of o.deleted) lines.push(`  ${o.dryRun ? "would delete" : "delete"} ${d.snapshotId}`);
  for (const d of o.leftDamaged) lines.push(`  left   ${d.snapshotId}  ${d.state}: ${d.detail ?? ""} (not counted; inspect and delete by hand)`);
  for (const k of o.orphansDeleted) lines.push(`  ${o.dryRun ? "would remove" : "removed"} leftover ${k}`);
  for (const k of o.orphansWaiting) lines.push(`  leftover ${k} (no manifest; removed once older than the grace period)`);
  for (const k of o.temporarySwept) lines.push(`  removed interrupted upload ${k}`);
  for (const e of o.errors) lines.push(`  ERROR  ${e}`);
  return lines;
}

export function formatInventory(invs: DestinationInventory[]): string {
  const lines: string[] = [];
  for (const inv of invs) {
    lines.push(`${inv.destination}${inv.adapterId ? ` (${inv.adapterId})` : ""}${inv.reachable ? "" : `  UNREACHABLE: ${inv.error}`}`);
    if (inv.reachable && inv.copies.length === 0) lines.push("  (no snapshots)");
    for (const c of inv.copies) {
      const size = c.manifest ? formatBytes(c.manifest.artifact.size) : c.artifactSize !== undefined ? formatBytes(c.artifactSize) : "";
      const tags = c.manifest?.tags.length ? ` [${c.manifest.tags.join(",")}]` : "";
      const lock = c.lockedUntil ? ` locked until ${c.lockedUntil.toISOString()}` : "";
      lines.push(`  ${pad(c.db, 12)} ${c.snapshotId}  ${pad(c.state, 17)} ${pad(size, 10)}${tags}${lock}${c.detail && c.state !== "complete" ? `  ${c.detail}` : ""}`);
    }
  }
  return lines.join("\n");
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}
