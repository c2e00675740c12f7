import { describe, expect, it } from "vitest";
import { planRetention, type RetentionItem } from "../../src/retention/plan.js";
import { parseDuration } from "../../src/runtime/duration.js";
import type { RetentionPolicy } from "../../src/config/schema.js";
import { seededRandom } from "../helpers/random.js";

/*
 * An independent reading of restic 0.17's documented `forget` rules, written
 * the plain way (group, sort, take), to cross-check the planner's single pass:
 *  - keepLast N: the N newest;
 *  - keep<Period> N: the newest snapshot of each of the N most recent periods
 *    that hold one; when fewer than N periods hold one (slots remain), the
 *    oldest snapshot is kept additionally;
 *  - keepWithin D: everything at or after newest - D (inclusive: a decision of
 *    this project, restic says "newer than");
 *  - the newest is always kept; with no rules everything is kept.
 */
const DAY = 86_400_000;
const periodOf: Record<string, (t: Date) => string> = {
  keepHourly: (t) => `${t.getUTCFullYear()}-${t.getUTCMonth()}-${t.getUTCDate()}-${t.getUTCHours()}`,
  keepDaily: (t) => `${t.getUTCFullYear()}-${t.getUTCMonth()}-${t.getUTCDate()}`,
  keepWeekly: oracleIsoWeek,
  keepMonthly: (t) => `${t.getUTCFullYear()}-${t.getUTCMonth()}`,
  keepYearly: (t) => `${t.getUTCFullYear()}`,
};

/** ISO week the long way: the week's Thursday decides the year; count Thursdays of that year up to it. */
function oracleIsoWeek(t: Date): string {
  const midnight = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
  const mondayBased = (new Date(midnight).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(midnight + (3 - mondayBased) * DAY);
  const jan1 = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - jan1) / DAY / 7) + 1;
  return `${thursday.getUTCFullYear()}/${week}`;
}

function oracleKept(items: RetentionItem[], policy: RetentionPolicy): Set<string> {
  const newestFirst = [...items].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.snapshotId.localeCompare(a.snapshotId));
  const keep = new Set<string>([newestFirst[0].snapshotId]);
  newestFirst.slice(0, policy.keepLast ?? 0).forEach((s) => keep.add(s.snapshotId));
  for (const [field, period] of Object.entries(periodOf)) {
    const n = (policy[field as keyof RetentionPolicy] as number | undefined) ?? 0;
    if (n <= 0) continue;
    const newestOfPeriod = new Map<string, RetentionItem>();
    for (const s of newestFirst) if (!newestOfPeriod.has(period(s.createdAt))) newestOfPeriod.set(period(s.createdAt), s);
    [...newestOfPeriod.values()].slice(0, n).forEach((s) => keep.add(s.snapshotId));
    if (newestOfPeriod.size < n) keep.add(newestFirst[newestFirst.length - 1].snapshotId);
  }
  if (policy.keepWithin) {
    const d = policy.keepWithin;
    const from = new Date(newestFirst[0].createdAt);
    from.setUTCFullYear(from.getUTCFullYear() - d.years, from.getUTCMonth() - d.months);
    const cutoff = from.getTime() - d.ms;
    newestFirst.filter((s) => s.createdAt.getTime() >= cutoff).forEach((s) => keep.add(s.snapshotId));
  }
  return keep;
}


/** A history with the gaps real ones have: nightly runs, runs several times a day, paused weeks, a lost month. */
function history(seed: number): RetentionItem[] {
  const r = seededRandom(seed);
  const count = 1 + Math.floor(r() * 120);
  let t = Date.UTC(2024 + Math.floor(r() * 3), Math.floor(r() * 12), 1 + Math.floor(r() * 28), Math.floor(r() * 24));
  const out: RetentionItem[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ snapshotId: new Date(t).toISOString(), createdAt: new Date(t) });
    const kind = r();
    const step = kind < 0.5 ? DAY : kind < 0.7 ? r() * 6 * 3_600_000 : kind < 0.9 ? r() * 10 * DAY : r() * 120 * DAY;
    t += Math.max(60_000, Math.floor(step / 60_000) * 60_000);
  }
  return out;
}

const WITHIN = ["12h", "3d", "2w", "1mo", "6mo", "1y"];
function policy(seed: number): RetentionPolicy {
  const r = seededRandom(seed * 7919 + 1);
  const maybe = (max: number) => (r() < 0.5 ? Math.floor(r() * max) : undefined);
  const p: RetentionPolicy = { keepLast: maybe(5), keepHourly: maybe(30), keepDaily: maybe(14), keepWeekly: maybe(8), keepMonthly: maybe(24), keepYearly: maybe(5) };
  if (r() < 0.3) p.keepWithin = parseDuration(WITHIN[Math.floor(r() * WITHIN.length)]);
  for (const k of Object.keys(p) as (keyof RetentionPolicy)[]) if (p[k] === undefined) delete p[k];
  if (!Object.values(p).some((v) => (typeof v === "number" ? v > 0 : v !== undefined))) p.keepMonthly = 24;
  return p;
}

describe("planRetention against an independent reading of restic's rules", () => {
  it("agrees on 400 generated histories with gaps, four policies each", () => {
    const fixed: RetentionPolicy[] = [{ keepMonthly: 24, keepYearly: 5 }, { keepDaily: 7, keepWeekly: 4, keepMonthly: 12 }, { keepLast: 3, keepWithin: parseDuration("2w") }];
    let compared = 0;
    let oldestRule = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const items = history(seed);
      for (const p of [...fixed, policy(seed)]) {
        const plan = planRetention(items, p);
        const got = plan.filter((d) => d.keep).map((d) => d.snapshotId).sort();
        const want = [...oracleKept(items, p)].sort();
        expect(got, `seed ${seed}, policy ${JSON.stringify(p)}`).toEqual(want);
        compared++;
        if (plan.some((d) => d.reasons.includes("oldest snapshot, kept while slots remain"))) oldestRule++;
      }
    }
    expect(compared).toBe(1600);
    // The generator must exercise the rule under test, not only the easy cases.
    expect(oldestRule).toBeGreaterThan(200);
    expect(oldestRule).toBeLessThan(1400);
  });

  it("keeps the oldest of 13 months under keepMonthly 24, keepYearly 5, and says why", () => {
    const items: RetentionItem[] = [];
    for (let day = 0; day < 396; day += 3) {
      const t = new Date(Date.UTC(2025, 0, 1, 2) + day * DAY);
      items.push({ snapshotId: t.toISOString(), createdAt: t });
    }
    const plan = planRetention(items, { keepMonthly: 24, keepYearly: 5 });
    const oldest = plan[plan.length - 1];
    expect(oldest.snapshotId).toBe("2025-01-01T02:00:00.000Z");
    expect(oldest.keep).toBe(true);
    expect(oldest.reasons).toEqual(["oldest snapshot, kept while slots remain"]);
    // 13 months hold a snapshot (Jan 2025 … Jan 2026): 13 monthly, plus the oldest.
    expect(plan.filter((d) => d.keep)).toHaveLength(14);
  });

  it("does not keep the oldest once every slot is used", () => {
    const items = [0, 1, 2, 3].map((d) => ({ snapshotId: `s${d}`, createdAt: new Date(Date.UTC(2026, 0, 10 - d, d === 3 ? 1 : 2)) }));
    // Four snapshots on four days but keepDaily 3: the oldest is the fourth day, no slot remains.
    expect(planRetention(items, { keepDaily: 3 }).find((d) => d.snapshotId === "s3")!.keep).toBe(false);
    // Two snapshots on one day with slots left: the older one is the oldest, kept additionally.
    const sameDay = [{ snapshotId: "late", createdAt: new Date("2026-01-10T20:00:00Z") }, { snapshotId: "early", createdAt: new Date("2026-01-10T02:00:00Z") }];
    expect(planRetention(sameDay, { keepDaily: 7 }).find((d) => d.snapshotId === "early")!.reasons).toEqual(["oldest snapshot, kept while slots remain"]);
  });
});
