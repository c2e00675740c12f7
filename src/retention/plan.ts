import type { RetentionPolicy } from "../config/schema.js";
import { subtractDuration } from "../runtime/duration.js";

/** One snapshot a destination holds, as retention sees it. */
export interface RetentionItem {
  snapshotId: string;
  createdAt: Date;
  /** Set when the snapshot must stay whatever the policy says (e.g. "under Object Lock until …"). */
  protectedBecause?: string;
}

export interface RetentionDecision {
  snapshotId: string;
  createdAt: Date;
  keep: boolean;
  /** Why it is kept, restic-style: "daily snapshot", "last snapshot", "within 7d"… Empty when removed. */
  reasons: string[];
}

type BucketRule = { field: keyof RetentionPolicy; label: string; bucket: (t: Date) => string };

/** Buckets are computed in UTC, so a plan never depends on the host's time zone. */
const BUCKET_RULES: BucketRule[] = [
  { field: "keepHourly", label: "hourly", bucket: (t) => t.toISOString().slice(0, 13) },
  { field: "keepDaily", label: "daily", bucket: (t) => t.toISOString().slice(0, 10) },
  { field: "keepWeekly", label: "weekly", bucket: isoWeek },
  { field: "keepMonthly", label: "monthly", bucket: (t) => t.toISOString().slice(0, 7) },
  { field: "keepYearly", label: "yearly", bucket: (t) => t.toISOString().slice(0, 4) },
];

/** prune's reason for restic's "not enough snapshots for every slot" rule. */
export const OLDEST_REASON = "oldest snapshot, kept while slots remain";

export function hasRules(policy: RetentionPolicy | undefined): policy is RetentionPolicy {
  return !!policy && Object.values(policy).some((v) => v !== undefined);
}

/**
 * restic's `forget` semantics on one destination's snapshots. Newest first:
 * keepLast keeps the N newest; each keep<Period> keeps the newest snapshot of
 * each of the N most recent periods that have one (periods without snapshots
 * do not use up a slot); keepWithin keeps everything within that duration of
 * the newest snapshot (not of "now", so a paused backup never empties a
 * destination). When a period rule has slots left after every snapshot was
 * seen (fewer periods hold a snapshot than it keeps), the oldest snapshot is
 * kept as well (restic 0.17). The newest snapshot is always kept; protected
 * ones too. With no rules at all, everything is kept.
 */
export function planRetention(items: RetentionItem[], policy: RetentionPolicy | undefined): RetentionDecision[] {
  const sorted = [...items].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.snapshotId.localeCompare(a.snapshotId));
  if (sorted.length === 0) return [];
  if (!hasRules(policy)) {
    return sorted.map((s) => ({ snapshotId: s.snapshotId, createdAt: s.createdAt, keep: true, reasons: ["no retention policy"] }));
  }

  const remaining = new Map<string, number>();
  const lastBucket = new Map<string, string>();
  for (const rule of BUCKET_RULES) remaining.set(rule.field, (policy[rule.field] as number | undefined) ?? 0);
  let lastLeft = policy.keepLast ?? 0;
  const withinFrom = policy.keepWithin ? subtractDuration(sorted[0].createdAt, policy.keepWithin) : null;

  return sorted.map((s, index) => {
    const reasons: string[] = [];
    if (index === 0) reasons.push("newest snapshot");
    if (s.protectedBecause) reasons.push(s.protectedBecause);
    if (lastLeft > 0) {
      reasons.push("last snapshot");
      lastLeft--;
    }
    let oldestKept = false;
    for (const rule of BUCKET_RULES) {
      const left = remaining.get(rule.field)!;
      if (left <= 0) continue;
      const bucket = rule.bucket(s.createdAt);
      if (bucket !== lastBucket.get(rule.field)) {
        reasons.push(`${rule.label} snapshot`);
        lastBucket.set(rule.field, bucket);
        remaining.set(rule.field, left - 1);
      } else if (index === sorted.length - 1) {
        // restic 0.17: a period rule that still has slots when history runs out
        // keeps the oldest snapshot too, so a young destination keeps its first
        // backup instead of only the newest of that first period.
        oldestKept = true;
      }
    }
    if (oldestKept) reasons.push(OLDEST_REASON);
    if (withinFrom && s.createdAt >= withinFrom) reasons.push(`within ${policy.keepWithin!.text}`);
    return { snapshotId: s.snapshotId, createdAt: s.createdAt, keep: reasons.length > 0, reasons };
  });
}

/** ISO 8601 week, e.g. "2026-W48" (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(t: Date): string {
  const d = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}
