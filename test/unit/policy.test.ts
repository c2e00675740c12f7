import { describe, expect, it } from "vitest";
import { judgePolicy, type CopyEvidence } from "../../src/policy/judge.js";
import { parseDuration } from "../../src/runtime/duration.js";

const now = new Date("2026-11-25T12:00:00Z");
const ev = (destination: string, medium: string, offsite: boolean, extra: Partial<CopyEvidence> = {}): CopyEvidence => ({
  destination, medium, offsite, verified: true, ...extra,
});
const base = { copies: 3, media: 2, offsite: 1 };

describe("judgePolicy", () => {
  it("passes 3-2-1 with a local disk, a NAS and object storage", () => {
    const v = judgePolicy([ev("local", "disk", false), ev("nas", "nas", false), ev("s3", "object-storage", true)], base, { snapshotCreatedAt: now, now });
    expect(v.pass).toBe(true);
    expect(v.copies).toBe(4);
    expect(v.media).toEqual(["disk", "nas", "object-storage"]);
    expect(v.offsite).toEqual(["s3"]);
  });

  it("counts only verified copies, and says which destination is missing and why", () => {
    const v = judgePolicy(
      [ev("local", "disk", false), ev("nas", "nas", false, { verified: false, problem: "connection refused" }), ev("s3", "object-storage", true)],
      { ...base, copies: 4 },
      { snapshotCreatedAt: now, now },
    );
    const copies = v.rules.find((r) => r.rule === "copies")!;
    expect(copies.pass).toBe(false);
    expect(copies.actual).toBe("3");
    expect(copies.reason).toContain("nas (connection refused)");
    expect(v.pass).toBe(false);
  });

  it("two folders on the same medium are one medium", () => {
    const v = judgePolicy([ev("a", "disk", false), ev("b", "disk", false)], { copies: 3, media: 2, offsite: 0 }, { snapshotCreatedAt: now, now });
    expect(v.rules.find((r) => r.rule === "media")).toMatchObject({ pass: false, actual: "1" });
    expect(v.rules.find((r) => r.rule === "copies")).toMatchObject({ pass: true });
  });

  it("fails offsite when the only offsite copy failed", () => {
    const v = judgePolicy([ev("local", "disk", false), ev("s3", "object-storage", true, { verified: false, problem: "timeout" })], base, {
      snapshotCreatedAt: now, now,
    });
    expect(v.rules.find((r) => r.rule === "offsite")).toMatchObject({ pass: false, actual: "0" });
  });

  it("judges 3-2-1-1-0: immutable copies and verification errors", () => {
    const locked = new Date("2026-12-25T00:00:00Z");
    const expired = new Date("2026-11-01T00:00:00Z");
    const p = { ...base, immutable: 1, maxErrors: 0 };
    const good = judgePolicy([ev("local", "disk", false), ev("s3", "object-storage", true, { lockedUntil: locked }), ev("nas", "nas", false)], p, {
      snapshotCreatedAt: now, now,
    });
    expect(good.pass).toBe(true);
    expect(good.immutable).toEqual(["s3"]);
    const bad = judgePolicy(
      [ev("local", "disk", false, { verified: false, verificationFailed: true }), ev("s3", "object-storage", true, { lockedUntil: expired }), ev("nas", "nas", false)],
      p,
      { snapshotCreatedAt: now, now },
    );
    expect(bad.rules.find((r) => r.rule === "immutable")).toMatchObject({ pass: false });
    expect(bad.rules.find((r) => r.rule === "errors")).toMatchObject({ pass: false, actual: "1" });
  });

  it("checks freshness against maxAge", () => {
    const p = { ...base, copies: 1, media: 0, offsite: 0, maxAge: parseDuration("26h") };
    expect(judgePolicy([], p, { snapshotCreatedAt: new Date("2026-11-24T12:00:00Z"), now }).pass).toBe(true);
    const stale = judgePolicy([], p, { snapshotCreatedAt: new Date("2026-11-23T12:00:00Z"), now });
    expect(stale.rules[3]).toMatchObject({ rule: "maxAge", pass: false });
    expect(stale.rules[3].reason).toContain("2.0d old");
    expect(judgePolicy([], p, { snapshotCreatedAt: null, now }).pass).toBe(false);
  });
});
