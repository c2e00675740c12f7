import { describe, expect, it } from "vitest";
import { collectAfterSnapshot } from "../../src/runtime/gc.js";

/**
 * Issue 13, fleets: a forced full collection after every snapshot cost a
 * fleet of 1 MB databases ~80 ms each (most of a run's GC time). It is there
 * for the spent stream buffers of large snapshots, so only they pay it.
 */
describe("the full collection after a snapshot", () => {
  it("is skipped for a small database and made for a large one", () => {
    let calls = 0;
    const collect = () => void calls++;
    collectAfterSnapshot(1 << 20, collect);
    expect(calls).toBe(0);
    collectAfterSnapshot(512 << 20, collect);
    expect(calls).toBe(1);
  });
});
