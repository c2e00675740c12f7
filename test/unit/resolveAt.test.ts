import { describe, expect, it } from "vitest";
import { resolveAt } from "../../src/restore/run.js";
import { UsageError } from "../../src/runtime/errors.js";

const now = new Date("2026-11-25T12:00:00Z");

describe("restore --at", () => {
  it("takes ISO times (UTC when no zone is given) and ages counted back from now", () => {
    expect(resolveAt(undefined, now)).toEqual(now);
    expect(resolveAt("2026-11-22T03:00:00Z", now).toISOString()).toBe("2026-11-22T03:00:00.000Z");
    expect(resolveAt("2026-11-22T03:00", now).toISOString()).toBe("2026-11-22T03:00:00.000Z");
    expect(resolveAt("2026-11-30T23:00:00-05:00", now).toISOString()).toBe("2026-12-01T04:00:00.000Z");
    expect(resolveAt("2026-02-28", now).toISOString()).toBe("2026-02-28T00:00:00.000Z");
    expect(resolveAt("2028-02-29", now).toISOString()).toBe("2028-02-29T00:00:00.000Z");
    expect(resolveAt("2d", now).toISOString()).toBe("2026-11-23T12:00:00.000Z");
  });

  it("refuses dates that are not on the calendar instead of rolling them over", () => {
    expect(() => resolveAt("2026-11-31T00:00:00Z", now)).toThrow(new UsageError("--at 2026-11-31T00:00:00Z: 2026-11-31 is not a date on the calendar (that month has 30 days)"));
    expect(() => resolveAt("2026-02-29", now)).toThrow(/2026-02-29 is not a date on the calendar \(that month has 28 days\)/);
    expect(() => resolveAt("2026-13-01", now)).toThrow(UsageError);
    expect(() => resolveAt("2026-11-23T25:00:00Z", now)).toThrow(/neither an ISO time/);
    expect(() => resolveAt("yesterday", now)).toThrow(/neither an ISO time/);
    expect(() => resolveAt("", now)).toThrow(/--at is empty/);
  });
});
