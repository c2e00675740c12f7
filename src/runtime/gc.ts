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
