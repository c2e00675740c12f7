/**
 * Why a destination's retention deletes nothing this run. Each guard answers
 * one bad night: a source that lost its data (shrink), a host clock that
 * disagrees with the store's (clock-skew), a copy dated after "now"
 * (future-copy), a plan that would delete most of the history at once
 * (deletion-budget). A hold keeps every copy and is reported with what to
 * check; it never deletes anything by itself.
 */
import type { CopyRecord } from "../catalog/inventory.js";
import type { Duration } from "../runtime/duration.js";
import { durationMs, formatAge } from "../runtime/duration.js";

export type HoldGuard = "shrink" | "clock-skew" | "future-copy" | "deletion-budget";

export interface RetentionHold {
  guard: HoldGuard;
  message: string;
  /** The copy it is about, for future-copy. */
  snapshotId?: string;
}

/**
 * Complete copies dated more than `tolerance` after now. Such a copy stays
 * "newest" whatever is written next, so keepWithin and the period rules would
 * measure from a date that has not come yet.
 */
export function futureCopyHolds(complete: CopyRecord[], now: Date, tolerance: Duration): RetentionHold[] {
  const limit = now.getTime() + durationMs(tolerance);
  return complete
    .filter((c) => c.createdAt.getTime() > limit)
    .map((c) => ({
      guard: "future-copy" as const,
      snapshotId: c.snapshotId,
      message:
        `snapshot ${c.snapshotId} is dated ${c.createdAt.toISOString()}, ${formatAge(c.createdAt.getTime() - now.getTime())} after this host's clock ` +
        `(${now.toISOString()}): check this host's clock and the clock of ${c.manifest?.source.host ?? "the host that wrote it"}; ` +
        `nothing here is deleted while it is in the future (if its date is wrong, move its two files away by hand once a newer good copy exists)`,
    }));
}

/**
 * The deletion budget: one run deletes at most `maxDelete` of the good
 * snapshots a destination holds of a database (one is always allowed). A
 * jumped clock or a mistyped policy shows up as a plan that wants most of the
 * history gone; that needs a person (`prune --force`), not a cron job.
 */
export function budgetHold(good: number, wouldDelete: number, maxDelete: number): RetentionHold | undefined {
  if (wouldDelete <= 1 || wouldDelete <= good * maxDelete) return undefined;
  return {
    guard: "deletion-budget",
    message:
      `the plan would delete ${wouldDelete} of the ${good} good snapshots here, more than guard.maxDelete (${Math.round(maxDelete * 100)}%) allows in one run: ` +
      `check the retention policy and this host's clock, then run "triplicate prune --force" to apply it`,
  };
}
