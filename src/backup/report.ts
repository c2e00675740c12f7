import type { BackupReport } from "./run.js";
import { describeForeignKeys } from "../snapshot/checks.js";
import { formatRetention } from "../retention/format.js";
import { formatBytes, pad } from "../runtime/format.js";
import { formatVanished } from "./vanished.js";

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
      const ds = db.damagedSource;
      if (ds) {
        lines.push(`  the source is damaged: run ${ds.doctor}`);
        lines.push(`  ${ds.latestGood ? `latest good snapshot: ${ds.latestGood.snapshotId} on ${ds.latestGood.destination}, ${ds.latestGood.age} old` : "no good snapshot on any reachable destination"}`);
      }
      continue;
    }
    if (db.artifact && db.snapshot) {
      const rows = Object.values(db.snapshot.facts.rowCounts).reduce((a, b) => a + b, 0);
      lines.push(
        `  snapshot  ${formatBytes(db.artifact.rawSize)} raw, ${rows} rows in ${Object.keys(db.snapshot.facts.rowCounts).length} tables, integrity ok, ${db.snapshot.durationMs} ms`,
      );
      if (db.anomaly) {
        const a = db.anomaly;
        lines.push(`  ANOMALY   the source shrank since snapshot ${a.baseline} (on ${a.baselineDestination})${a.accepted ? ", accepted with --accept-shrink" : ""}:`);
        for (const f of a.findings) lines.push(`            ${f.message}`);
        if (!a.accepted) lines.push(`            shipped and marked; nothing is deleted on any destination; ${a.howToAccept}`);
      }
      const fk = db.snapshot.foreignKeys;
      if (fk.violations) {
        lines.push(`  WARNING: ${describeForeignKeys(fk)}.`);
        lines.push(`           Not refused: the copy is faithful to the source and its manifest records the count; to refuse such snapshots set checks: { foreignKeys: fail }`);
      }
      if (db.unchanged) lines.push(`  UNCHANGED same raw bytes (sha256 ${db.unchanged.rawSha256}) as snapshot ${db.unchanged.snapshotId} of ${db.unchanged.createdAt}`);
      lines.push(`  artifact  ${db.artifact.key}  ${formatBytes(db.artifact.size)} ${db.artifact.compression}  sha256 ${db.artifact.sha256}`);
    }
    for (const d of db.destinations) {
      const speed = d.mbPerSec ? `, ${d.mbPerSec} MB/s` : "";
      const lock = d.lockedUntil ? `, locked until ${d.lockedUntil.toISOString()}` : "";
      // Read back either way; "not confirmed" means the server never said the bytes reached its disk.
      const durability = d.durability === "not confirmed" ? ", durability: not confirmed" : "";
      const outcome = d.status === "failed" ? d.error : d.status === "unchanged" ? `same bytes as ${d.unchanged?.snapshotId}, nothing uploaded; recorded the night (copy's proof: ${d.proof?.level})` : d.status === "would-ship" ? `${formatBytes(d.bytes)}; nothing written, nothing proven` : `${d.durationMs} ms${speed}${lock}${durability}`;
      lines.push(`  ${pad(d.destination, 14)} ${pad(d.status.toUpperCase().replace("-", " "), 9)} ${outcome}`);
      if (d.clock && d.clock.skewSeconds !== 0) lines.push(`      clocks: host ${d.clock.host}, ${d.destination} ${d.clock.store} (${d.clock.skewSeconds}s apart)`);
      if (d.retention) lines.push(...formatRetention(d.retention).map((l) => `      ${l}`));
    }
    if (db.policyNotJudged) {
      lines.push(`  3-2-1 NOT JUDGED (${db.policyNotJudged.reason})`);
      lines.push(`    a real run would judge: ${db.policyNotJudged.wouldJudge.map((w) => `${w.rule} ${w.required}`).join(", ")}`);
    }
    if (db.policy) {
      lines.push(`  3-2-1 ${db.policy.pass ? "MET" : "NOT MET"}`);
      for (const rule of db.policy.rules) lines.push(`    ${rule.pass ? "pass" : "FAIL"}  ${pad(rule.rule, 9)} ${rule.reason}`);
    }
  }
  lines.push(...formatVanished(r.vanished ?? []));
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
