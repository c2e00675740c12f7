/**
 * The run-history section's figures in words, shared by the Markdown and the
 * HTML renderers so both say the same thing (as words.ts does for the rest).
 */
import type { Jump, Rate, RtoSummary, RunHistorySummary } from "../history/summarize.js";
import { formatBytes } from "../runtime/format.js";
import { formatAge } from "../runtime/duration.js";

export function percent(rate: number | null): string {
  return rate === null ? "no runs" : `${Math.round(rate * 100)}%`;
}

/** "67% (2 of 3 ok, 0 degraded, 1 failed)". */
export function rateText(r: Rate): string {
  if (r.runs === 0) return "no runs";
  return `${percent(r.successRate)} (${r.ok} of ${r.runs} ok, ${r.degraded} degraded, ${r.failed} failed)`;
}

export function msText(ms: number | undefined): string {
  if (ms === undefined) return "—";
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : formatAge(ms);
}

export function rtoText(r: RtoSummary): string {
  return `${r.passed} of ${r.tests} passed; RTO last ${msText(r.lastRtoMs)}, median ${msText(r.medianRtoMs)}, worst ${msText(r.maxRtoMs)}`;
}

export function jumpText(db: string, j: Jump): string {
  const pct = `${j.change > 0 ? "+" : ""}${Math.round(j.change * 100)}%`;
  const fmt = (n: number) => (j.what === "size" ? formatBytes(n) : msText(n));
  return `${db}: ${j.what} ${j.change > 0 ? "jumped" : "dropped"} ${pct} at ${j.at.slice(0, 16).replace("T", " ")} UTC (${fmt(j.from)} → ${fmt(j.to)})`;
}

export function freeText(d: RunHistorySummary["destinations"][number]): string {
  if (d.freeBytes === null) return `unknown${d.note ? ` (${d.note})` : ""}`;
  const share = d.totalBytes ? ` of ${formatBytes(d.totalBytes)} (${Math.round((d.freeBytes / d.totalBytes) * 100)}% free)` : "";
  return `${formatBytes(d.freeBytes)}${share}`;
}

export function lastBackupText(h: RunHistorySummary): string {
  const b = h.backups;
  if (!b.lastRun) return "no backup recorded";
  const last = `last backup ${formatAge(b.lastRun.ageMs)} ago (${b.lastRun.verdict})`;
  return b.lastSuccess ? `${last}; last successful ${formatAge(b.lastSuccess.ageMs)} ago` : `${last}; none successful in the window`;
}
