import type { BackupReport } from "./run.js";
import { formatRetention } from "../retention/format.js";
import { formatBytes, pad } from "../runtime/format.js";

const EXIT_WORDS: Record<number, string> = { 0: "OK", 1: "FAILED", 2: "USAGE ERROR", 3: "DEGRADED" };

/** The run report a person reads in cron mail. `--json` prints the same data as JSON instead. */
export function formatBackupReport(r: BackupReport): string {
  const lines: string[] = [];
  lines.push(`triplicate backup ${r.dryRun ? "(dry run) " : ""}— ${EXIT_WORDS[r.exitCode]} (exit ${r.exitCode})`);
  lines.push(...formatMarkers(r));
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
      // Read back either way; "not confirmed" means the server never said the bytes reached its disk.
      const durability = d.durability === "not confirmed" ? ", durability: not confirmed" : "";
      lines.push(`  ${pad(d.destination, 14)} ${pad(d.status.toUpperCase(), 9)} ${d.status === "failed" ? d.error : `${d.durationMs} ms${speed}${lock}${durability}`}`);
      if (d.retention) lines.push(...formatRetention(d.retention).map((l) => `      ${l}`));
    }
    if (db.policy) {
      lines.push(`  3-2-1 ${db.policy.pass ? "MET" : "NOT MET"}`);
      for (const rule of db.policy.rules) lines.push(`    ${rule.pass ? "pass" : "FAIL"}  ${pad(rule.rule, 9)} ${rule.reason}`);
    }
  }
  return lines.join("\n");
}

const MARKER_WORDS: Record<string, string> = {
  created: "initialised now (--init): marker",
  adopted: "held copies from an older version but no marker: adopted, marker",
  unmarked: "held copies from an older version but no marker, and it could not be marked",
};

/** Destinations this run initialised or adopted; a marker that was simply found is not news. */
function formatMarkers(r: BackupReport): string[] {
  return r.destinations
    .filter((d) => d.marker && d.marker.status !== "found")
    .map((d) => `  ${pad(d.destination, 14)} ${MARKER_WORDS[d.marker!.status]}${d.marker!.id ? ` ${d.marker!.id}` : ""}${r.dryRun ? " (dry run: not written)" : ""}`);
}
