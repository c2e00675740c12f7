import { describe, expect, it } from "vitest";
import { collectAfterSnapshot } from "../../src/runtime/gc.js";

/**
 * Issue 13, fleets: a forced full collection after every snapshot cost a
 * fleet of 1 MB databases ~80 ms each (most of a run's GC time). It is there
 * for the spent stream buffers of large snapshots, so it is paid per 16 MiB streamed,
 * not per database.
 */
describe("the full collection after a snapshot", () => {
  it("is made once enough bytes streamed: right after a large snapshot, every 16 MiB in a fleet of small ones", () => {
    let calls = 0;
    const collect = () => void calls++;
    collectAfterSnapshot(512 << 20, collect);
    expect(calls).toBe(1);
    for (let i = 0; i < 15; i++) collectAfterSnapshot(1 << 20, collect);
    expect(calls).toBe(1);
    collectAfterSnapshot(1 << 20, collect);
    expect(calls).toBe(2);
  });
});
