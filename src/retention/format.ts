import type { RetentionOutcome } from "./apply.js";
import type { PruneReport } from "./run.js";

/** One destination's retention outcome as lines: what is kept and why, what goes, what is left for a person. */
export function formatRetention(o: RetentionOutcome): string[] {
  const lines: string[] = [];
  const verb = o.dryRun ? "would delete" : "deleted";
  lines.push(`retention: kept ${o.kept.length}, ${verb} ${o.deleted.length}${o.held.length ? "  HELD: nothing is deleted this run" : ""}`);
  for (const h of o.held) lines.push(`  HELD   (${h.guard}) ${h.message}`);
  for (const k of o.kept) lines.push(`  keep   ${k.snapshotId}  (${k.reasons.join(", ")})`);
  for (const d of o.deleted) lines.push(`  ${o.dryRun ? "would delete" : "delete"} ${d.snapshotId}`);
  for (const d of o.leftDamaged) lines.push(`  left   ${d.snapshotId}  ${d.state}: ${d.detail ?? ""} (not counted; inspect and delete by hand)`);
  for (const k of o.orphansDeleted) lines.push(`  ${o.dryRun ? "would remove" : "removed"} leftover ${k}`);
  for (const k of o.orphansWaiting) lines.push(`  leftover ${k} (no manifest; removed once older than the grace period)`);
  for (const k of o.temporarySwept) lines.push(`  removed interrupted upload ${k}`);
  for (const e of o.errors) lines.push(`  ERROR  ${e}`);
  return lines;
}

/** `prune`'s text report: per destination its policy, then each database's outcome. */
export function formatPruneReport(r: PruneReport): string {
  const lines: string[] = [`triplicate prune${r.dryRun ? " --dry-run (nothing is deleted)" : ""}${r.force ? " --force (no deletion budget)" : ""}`];
  for (const d of r.destinations) {
    lines.push("", `${d.destination}: ${d.policy}${d.reachable ? "" : `  UNREACHABLE: ${d.error}`}`);
    for (const db of d.databases) lines.push(`  database ${db.db}`, ...formatRetention(db).map((l) => `    ${l}`));
    if (d.notManaged.length) lines.push(`  not in this config, left alone: ${d.notManaged.join(", ")}`);
  }
  return lines.join("\n");
}
