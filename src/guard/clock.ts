/**
 * A host clock that is off: the store's own clock (its time stamp on the
 * copy just written) against this host's around that write. A snapshot is
 * dated by this host, so a clock months ahead would make retention measure
 * from a date that has not come: that destination keeps everything this run.
 */
import type { Duration } from "../runtime/duration.js";
import { durationMs, formatAge } from "../runtime/duration.js";
import type { RetentionHold } from "./holds.js";

export interface ClockReading {
  /** This host's clock when the write ended. */
  host: string;
  /** The store's time stamp on the write. */
  store: string;
  /** Store minus host, outside the time the write took; positive: the store is ahead. */
  skewSeconds: number;
}

/**
 * The skew, counting only what lies outside [before, after], the host's clock
 * around the write: a slow upload is not a skewed clock. Stores stamp whole
 * seconds, so one second of slack is allowed for the truncation.
 */
export function readClocks(before: Date, after: Date, store: Date): ClockReading {
  const s = store.getTime();
  const skew = s < before.getTime() - 1000 ? s - before.getTime() : s > after.getTime() ? s - after.getTime() : 0;
  return { host: after.toISOString(), store: store.toISOString(), skewSeconds: Math.round(skew / 1000) };
}

export function skewHold(destination: string, reading: ClockReading, maxClockSkew: Duration): RetentionHold | undefined {
  const skewMs = reading.skewSeconds * 1000;
  if (Math.abs(skewMs) <= durationMs(maxClockSkew)) return undefined;
  const who = skewMs > 0 ? `this host's clock is ${formatAge(skewMs)} behind ${destination}'s` : `this host's clock is ${formatAge(-skewMs)} ahead of ${destination}'s`;
  return {
    guard: "clock-skew",
    message:
      `${who} (host ${reading.host}, ${destination} ${reading.store}), more than guard.maxClockSkew (${maxClockSkew.text}): ` +
      `check both clocks (NTP); nothing here is deleted until they agree`,
  };
}
