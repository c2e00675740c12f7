import type { AuditDatabase, AuditReport } from "./build.js";
import { durationMs, parseDuration } from "../runtime/duration.js";
import type { DeepCheck } from "../verify/proofs.js";

/*
 * The words both renderers use for the same facts (verdict, times, policy,
 * freshness, deep checks, locks), kept in one place so the Markdown and the
 * HTML report say the same thing in the same words.
 */

const VERDICT_WORDS: Record<AuditReport["verdict"], string> = {
  compliant: "COMPLIANT",
  "not-compliant": "NOT COMPLIANT",
  "could-not-audit": "COULD NOT AUDIT",
};

/** "COMPLIANT", "NOT COMPLIANT", "COULD NOT AUDIT". */
export function verdictWords(verdict: AuditReport["verdict"]): string {
  return VERDICT_WORDS[verdict] ?? String(verdict).toUpperCase();
}

/** `2026-11-25 02:00:00 UTC` from an ISO string; the input unchanged when it is not a date. */
export function formatUtc(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** The report's maxAge in milliseconds, or undefined when none is set (or it does not parse). */
export function maxAgeMsOf(report: AuditReport): number | undefined {
  if (!report.policy.maxAge) return undefined;
  try {
    return durationMs(parseDuration(report.policy.maxAge));
  } catch {
    return undefined;
  }
}

/** The policy thresholds in one line: `copies ≥ 3 · media ≥ 2 · offsite ≥ 1 · maxAge ≤ 26h`. */
export function policySummary(report: AuditReport): string {
  const p = report.policy;
  const parts = [`copies ≥ ${p.copies}`, `media ≥ ${p.media}`, `offsite ≥ ${p.offsite}`];
  if (p.immutable !== undefined) parts.push(`immutable ≥ ${p.immutable}`);
  if (p.maxErrors !== undefined) parts.push(`errors ≤ ${p.maxErrors}`);
  if (p.maxAge) parts.push(`maxAge ≤ ${p.maxAge}`);
  // Reports recorded before proof levels existed have none.
  if (p.verifiedLevel) parts.push(`counted at ${p.verifiedLevel} or stronger`);
  if (p.proveWithin) parts.push(`restore-tested within ${p.proveWithin}`);
  return parts.join(" · ");
}

export interface Freshness {
  /** undefined when there is no maxAge to judge against. */
  ok: boolean | undefined;
  text: string;
}

/** The latest snapshot's age against policy.maxAge, in words. */
export function freshnessOf(report: AuditReport, db: AuditDatabase): Freshness {
  const maxAge = report.policy.maxAge;
  if (!db.latest) return { ok: maxAge ? false : undefined, text: "no snapshot on any reachable destination" };
  const rule = db.policy.rules.find((r) => r.rule === "maxAge");
  if (!maxAge) return { ok: undefined, text: `${db.latest.age} old (no maxAge set)` };
  const limit = maxAgeMsOf(report);
  const ok = rule ? rule.pass : limit === undefined ? undefined : db.latest.ageMs <= limit;
  return { ok, text: `${db.latest.age} old, ${ok === false ? "older than" : "within"} maxAge ${maxAge}` };
}

/** `ok 2026-11-24 03:00:00 UTC (12.3 s)`, `FAILED … : reason`, or `never`. */
export function deepCheckText(dc: DeepCheck | undefined): string {
  if (!dc) return "never";
  const took = dc.durationMs !== undefined ? ` (${(dc.durationMs / 1000).toFixed(1)} s)` : "";
  return dc.ok ? `ok ${formatUtc(dc.checkedAt)}${took}` : `FAILED ${formatUtc(dc.checkedAt)}${took}: ${dc.reason ?? "no reason given"}`;
}

/** `read-back 2026-11-24 03:00:00 UTC`: the strongest proof a copy has had, and when; `-` for no copy. */
export function proofText(p: { level: string; at?: string } | undefined): string {
  if (!p) return "-";
  return p.at ? `${p.level} ${formatUtc(p.at)}` : p.level;
}

/** `2026-12-25 00:00:00 UTC`, with "(expired)" when the lock has run out at generation time. */
export function lockText(lockedUntil: string | undefined, generatedAt: string): string {
  if (!lockedUntil) return "";
  const expired = new Date(lockedUntil).getTime() <= new Date(generatedAt).getTime();
  return `${formatUtc(lockedUntil)}${expired ? " (expired)" : ""}`;
}

/** Display group of a copy state: the timeline colours and the legend use these. */
export type SnapshotGroup = "complete" | "locked" | "damaged" | "orphan";

export function snapshotGroup(state: string, lockedUntil: string | undefined, generatedAt: string): SnapshotGroup {
  if (state === "orphan") return "orphan";
  if (state !== "complete") return "damaged";
  if (lockedUntil && new Date(lockedUntil).getTime() > new Date(generatedAt).getTime()) return "locked";
  return "complete";
}

