import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * A full garbage collection between pipeline phases. Streaming a GiB leaves
 * tens of MB of spent Buffers that V8 would only collect later; collecting
 * them when a phase ends keeps peak memory flat (measured in bench/network.ts).
 * Uses V8's gc() without requiring --expose-gc on the command line.
 */
let collect: (() => void) | undefined;
export function collectGarbage(): void {
  if (!collect) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  collect();
}

/**
 * Below this many raw bytes a snapshot leaves too little garbage to be worth
 * a full collection: V8's own young-generation sweeps take it. A forced full
 * collection costs tens of ms whatever the snapshot's size, which in a fleet
 * of 1 MB databases was most of the run's GC time (README, Benchmarks).
 */
export const FULL_GC_MIN_BYTES = 64 << 20;

/** A full collection after a snapshot that streamed enough bytes to leave a pile of spent Buffers. */
export function collectAfterSnapshot(rawBytes: number, collect: () => void = collectGarbage): void {
  if (rawBytes >= FULL_GC_MIN_BYTES) collect();
}
