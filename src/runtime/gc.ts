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
 * A full collection once the snapshots streamed since the last one add up to
 * this many raw bytes. A forced collection costs tens of ms whatever the
 * size, which after every 1 MB database of a fleet was most of the run's GC
 * time (README, Benchmarks); never collecting let the spent Buffers of a
 * fleet pile up (peak RSS 132 -> 169 MB for 100 databases). Counting bytes
 * keeps both: a 1 GiB snapshot still collects right after, a fleet every 16 MiB.
 */
export const FULL_GC_EVERY_BYTES = 16 << 20;

let streamedSinceGc = 0;

/** After a snapshot of `rawBytes`: a full collection when enough bytes streamed since the last one. */
export function collectAfterSnapshot(rawBytes: number, collect: () => void = collectGarbage): void {
  streamedSinceGc += rawBytes;
  if (streamedSinceGc < FULL_GC_EVERY_BYTES) return;
  streamedSinceGc = 0;
  collect();
}
