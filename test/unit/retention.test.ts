import { describe, expect, it } from "vitest";
import { planRetention, isoWeek, type RetentionItem } from "../../src/retention/plan.js";
import { parseDuration } from "../../src/runtime/duration.js";
import type { RetentionPolicy } from "../../src/config/schema.js";

// Ten snapshots, newest first. Nov 23 has none; three of them share ISO week 47.
const S: Record<string, string> = {
  A: "2026-11-25T02:00:00Z", // Wed, week 48
  B: "2026-11-24T14:00:00Z", // Tue, week 48
  C: "2026-11-24T02:00:00Z", // Tue, week 48 (same day as B)
  D: "2026-11-22T02:00:00Z", // Sun, week 47
  E: "2026-11-20T02:00:00Z", // Fri, week 47
  F: "2026-11-16T02:00:00Z", // Mon, week 47
  G: "2026-11-09T02:00:00Z", // Mon, week 46
  H: "2026-10-31T02:00:00Z", // October
  I: "2026-09-15T02:00:00Z", // September
  J: "2025-12-31T23:00:00Z", // last year
};
const items = (ids = Object.keys(S)): RetentionItem[] => ids.map((id) => ({ snapshotId: id, createdAt: new Date(S[id]) }));
const kept = (policy: RetentionPolicy | undefined, list = items()) =>
  planRetention(list, policy)
    .filter((d) => d.keep)
    .map((d) => d.snapshotId);

describe("planRetention (restic semantics, UTC)", () => {
  it.each<[string, RetentionPolicy, string[]]>([
    ["keepLast 2", { keepLast: 2 }, ["A", "B"]],
    // Days without snapshots (Nov 23) do not use up a slot; B wins Nov 24 over C.
    ["keepDaily 3", { keepDaily: 3 }, ["A", "B", "D"]],
    ["keepWeekly 2", { keepWeekly: 2 }, ["A", "D"]],
    ["keepMonthly 2", { keepMonthly: 2 }, ["A", "H"]],
    ["keepYearly 5 (only two years have snapshots)", { keepYearly: 5 }, ["A", "J"]],
    ["keepHourly 2", { keepHourly: 2 }, ["A", "B"]],
    ["keepWithin 3d is measured from the newest snapshot, inclusive", { keepWithin: parseDuration("3d") }, ["A", "B", "C", "D"]],
    ["keepWithin 1y2mo", { keepWithin: parseDuration("1y") }, ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]],
    // One snapshot can satisfy several rules at once (A is last, daily, weekly and monthly).
    ["combined", { keepLast: 1, keepDaily: 3, keepWeekly: 2, keepMonthly: 3 }, ["A", "B", "D", "H", "I"]],
    ["keepDaily 0 still keeps the newest", { keepDaily: 0 }, ["A"]],
  ])("%s", (_name, policy, expected) => {
    expect(kept(policy)).toEqual(expected);
  });

  it("gives restic-style reasons, several per snapshot", () => {
    const plan = planRetention(items(), { keepLast: 1, keepDaily: 3, keepWeekly: 2, keepMonthly: 3 });
    expect(plan.find((d) => d.snapshotId === "A")!.reasons).toEqual(["newest snapshot", "last snapshot", "daily snapshot", "weekly snapshot", "monthly snapshot"]);
    expect(plan.find((d) => d.snapshotId === "D")!.reasons).toEqual(["daily snapshot", "weekly snapshot"]);
    expect(plan.find((d) => d.snapshotId === "C")!.reasons).toEqual([]);
  });

  it("keeps everything without a policy", () => {
    expect(kept(undefined)).toEqual(Object.keys(S));
    expect(kept({})).toEqual(Object.keys(S));
  });

  it("never removes a protected snapshot (e.g. under Object Lock)", () => {
    const list = items().map((i) => (i.snapshotId === "G" ? { ...i, protectedBecause: "under Object Lock until 2027-01-01" } : i));
    expect(kept({ keepLast: 1 }, list)).toEqual(["A", "G"]);
  });

  it("does not depend on input order", () => {
    expect(kept({ keepDaily: 3 }, items().reverse())).toEqual(["A", "B", "D"]);
  });

  it("handles an empty list", () => {
    expect(planRetention([], { keepLast: 3 })).toEqual([]);
  });

  it("computes ISO weeks across the year boundary", () => {
    expect(isoWeek(new Date("2026-01-01T00:00:00Z"))).toBe("2026-W01");
    expect(isoWeek(new Date("2027-01-01T00:00:00Z"))).toBe("2026-W53");
    expect(isoWeek(new Date("2025-12-29T12:00:00Z"))).toBe("2026-W01");
  });
});
