/** The audit's run-history section as Markdown (markdown.ts appends it). */
import type { RunHistorySummary } from "../history/summarize.js";
import { formatBytes } from "../runtime/format.js";
import { mdCell, mdText } from "./markdown.js";
import { freeText, jumpText, lastBackupText, msText, rateText, rtoText } from "./historyWords.js";

export function historyMarkdown(h: RunHistorySummary | undefined): string[] {
  if (!h) return [];
  const out = [`## Run history (last ${h.windowDays} days)`, ""];
  out.push(`Read from the run records on the destinations (\`history/\`): ${h.records} run(s) since ${h.from.slice(0, 10)}; ${mdText(lastBackupText(h))}.`, "");
  out.push(`- Backup success rate, 30 days: ${rateText(h.backups.last30d)}`);
  out.push(`- Backup success rate, 90 days: ${rateText(h.backups.last90d)}`);
  out.push(`- Verify runs, 90 days: ${rateText(h.verifies.last90d)}`, "");
  const jumps = h.trend.flatMap((t) => t.jumps.map((j) => jumpText(t.db, j)));
  if (jumps.length) out.push("**Stands out:**", "", ...jumps.map((j) => `- ${mdText(j)}`), "");
  for (const t of h.trend) {
    const pts = t.points.filter((p) => p.rawBytes !== undefined);
    if (!pts.length) continue;
    const first = pts[0];
    const last = pts.at(-1)!;
    out.push(`- \`${t.db}\`: ${pts.length} backup(s); size ${formatBytes(first.rawBytes!)} → ${formatBytes(last.rawBytes!)}, duration ${msText(first.durationMs)} → ${msText(last.durationMs)}`);
  }
  out.push("");
  out.push("| Destination | Free space | Run records | Restore tests (RTO) | Real restores (RTO) |", "|---|---|---|---|---|");
  for (const d of h.destinations) {
    const test = h.restoreTests.find((r) => r.destination === d.destination);
    const real = h.restores.find((r) => r.destination === d.destination);
    out.push(
      `| ${mdCell(d.destination)} | ${mdCell(freeText(d))} | ${d.records ?? `unknown: ${mdCell(d.error)}`} | ${test ? mdCell(rtoText(test)) : "none"} | ${real ? mdCell(rtoText(real)) : "none"} |`,
    );
  }
  out.push("");
  for (const n of h.notes) out.push(`- ${mdText(n)}`);
  return [...out, ""];
}
