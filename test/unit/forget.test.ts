import { describe, expect, it } from "vitest";
import { ForgetRefusedError, refuseUnsafe } from "../../src/retention/forget.js";
import type { CopyRecord } from "../../src/catalog/inventory.js";

/** forget's refusals on their own: a copy under Object Lock, and the last good copy (the CLI test covers the second end to end). */
const now = new Date("2026-12-01T00:00:00Z");
const copy = (over: Partial<CopyRecord>): CopyRecord => ({ destination: "s3", db: "app", snapshotId: "s1", createdAt: now, state: "complete", ...over });

describe("forget refusals", () => {
  it("a copy locked until later is refused without --force, allowed with it", () => {
    const locked = [copy({ lockedUntil: new Date("2026-12-20T00:00:00Z") })];
    expect(() => refuseUnsafe("app", "s1", locked, 5, now, false)).toThrow(ForgetRefusedError);
    expect(() => refuseUnsafe("app", "s1", locked, 5, now, false)).toThrow(/under Object Lock on s3 \(until 2026-12-20/);
    expect(() => refuseUnsafe("app", "s1", locked, 5, now, true)).not.toThrow();
  });

  it("an expired lock is no lock; the last good copy is refused; a damaged last copy may go", () => {
    expect(() => refuseUnsafe("app", "s1", [copy({ lockedUntil: new Date("2026-11-01T00:00:00Z") })], 1, now, false)).not.toThrow();
    expect(() => refuseUnsafe("app", "s1", [copy({})], 0, now, false)).toThrow(/only good copy of app/);
    expect(() => refuseUnsafe("app", "s1", [copy({ state: "checksum-mismatch" })], 0, now, false)).not.toThrow();
  });
});
