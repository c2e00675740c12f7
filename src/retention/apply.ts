import { describeError } from "../../adapters/errors.js";
import type { StorageAdapter } from "../../adapters/types.js";
import type { RetentionPolicy } from "../config/schema.js";
import type { Duration } from "../runtime/duration.js";
import { subtractDuration } from "../runtime/duration.js";
import type { CopyRecord } from "../catalog/inventory.js";
import { hasRules, planRetention } from "./plan.js";
import { budgetHold, futureCopyHolds, type RetentionHold } from "../guard/holds.js";

export interface RetentionOutcome {
  destination: string;
  db: string;
  dryRun: boolean;
  kept: { snapshotId: string; reasons: string[] }[];
  deleted: { snapshotId: string; keys: string[] }[];
  /** Damaged copies are left for a human to look at; they never count as kept. */
  leftDamaged: { snapshotId: string; state: string; detail?: string }[];
  orphansDeleted: string[];
  orphansWaiting: string[];
  temporarySwept: string[];
  /** Why nothing was deleted this run (src/guard/): the plan's deletions are then listed as kept, "held". */
  held: RetentionHold[];
  errors: string[];
}

export interface RetentionContext {
  now: Date;
  dryRun: boolean;
  leftoverGrace: Duration;
  /** The snapshot this run just wrote and verified: kept whatever its date says. */
  justWritten?: string;
  /** A copy dated more than maxClockSkew after now holds retention; maxDelete is the deletion budget. */
  guard: { maxClockSkew: Duration; maxDelete: number };
  /** Holds the caller found (a shrunk source, a skewed store clock). */
  holds?: RetentionHold[];
  /** `prune --force`: lift the deletion budget (and only that). */
  force?: boolean;
}

/**
 * Applies one destination's retention to one database's copies there.
 * Only complete copies take part; the newest is always kept, and so is any
 * copy still under Object Lock. A deletion removes the manifest first (the
 * copy stops counting at once), then the artifact it names, never anything
 * else. Artifacts without a manifest and interrupted uploads are removed
 * only once older than `leftoverGrace`.
 */
export async function applyRetention(
  adapter: StorageAdapter,
  destination: string,
  db: string,
  copies: CopyRecord[],
  policy: RetentionPolicy | undefined,
  ctx: RetentionContext,
): Promise<RetentionOutcome> {
  const out: RetentionOutcome = {
    destination, db, dryRun: ctx.dryRun, kept: [], deleted: [], leftDamaged: [], orphansDeleted: [], orphansWaiting: [], temporarySwept: [], held: [], errors: [],
  };
  const mine = copies.filter((c) => c.db === db);
  const complete = mine.filter((c) => c.state === "complete");
  const plan = planForCopies(complete, policy, ctx.now, ctx.justWritten);
  out.held = retentionHolds(complete, plan.filter((d) => !d.keep).length, ctx);
  const byId = new Map(complete.map((c) => [c.snapshotId, c]));
  for (const d of plan) {
    if (d.keep || out.held.length) {
      out.kept.push({ snapshotId: d.snapshotId, reasons: d.keep ? d.reasons : [`held: ${[...new Set(out.held.map((h) => h.guard))].join(", ")}`] });
      continue;
    }
    const c = byId.get(d.snapshotId)!;
    // The manifest first: from that moment the copy no longer counts; its proofs go last.
    const keys = [c.manifestKey!, c.artifactKey!, ...(c.proofKeys ?? [])];
    try {
      if (!ctx.dryRun) for (const k of keys) await adapter.delete(k);
      out.deleted.push({ snapshotId: d.snapshotId, keys });
    } catch (err) {
      out.errors.push(`could not delete ${d.snapshotId}: ${describeError(err).message}`);
    }
  }
  for (const c of mine) {
    if (c.state === "complete" || c.state === "orphan") continue;
    out.leftDamaged.push({ snapshotId: c.snapshotId, state: c.state, detail: c.detail });
  }

  // Leftovers carry the store's real write time, so age them against the real clock.
  const cutoff = subtractDuration(new Date(), ctx.leftoverGrace);
  for (const c of mine.filter((m) => m.state === "orphan")) {
    const leftovers = [...(c.artifactKey ? [c.artifactKey] : []), ...(c.proofKeys ?? [])];
    // On a held night nothing at all is deleted, not even our own leftovers.
    if (c.modifiedAt && c.modifiedAt < cutoff && !out.held.length) {
      for (const key of leftovers) {
        try {
          if (!ctx.dryRun) await adapter.delete(key);
          out.orphansDeleted.push(key);
        } catch (err) {
          out.errors.push(`could not delete leftover ${key}: ${describeError(err).message}`);
        }
      }
    } else {
      out.orphansWaiting.push(...leftovers);
    }
  }
  try {
    // Temp files carry the real write time, so this compares with the wall clock, not an injected one.
    if (!ctx.dryRun && !out.held.length) out.temporarySwept = await adapter.sweepTemporary(`${db}/`, subtractDuration(new Date(), ctx.leftoverGrace));
  } catch (err) {
    out.errors.push(`could not sweep temporary files: ${describeError(err).message}`);
  }
  return out;
}

/**
 * Every reason this destination's retention deletes nothing this run: the
 * caller's holds, copies dated in the future, and the deletion budget
 * (unless forced). A budget is only worth naming when the plan deletes.
 */
function retentionHolds(complete: CopyRecord[], wouldDelete: number, ctx: RetentionContext): RetentionHold[] {
  const holds = [...(ctx.holds ?? []), ...futureCopyHolds(complete, ctx.now, ctx.guard.maxClockSkew)];
  const budget = ctx.force ? undefined : budgetHold(complete.length, wouldDelete, ctx.guard.maxDelete);
  return budget ? [...holds, budget] : holds;
}

/**
 * The retention plan for a destination's complete copies. A copy still under
 * Object Lock (the store would refuse the delete anyway) or written by this
 * very run is kept whatever the rules say; prune and the audit share this,
 * so the audit's "overdue" is exactly what prune would delete.
 */
export function planForCopies(complete: CopyRecord[], policy: RetentionPolicy | undefined, now: Date, justWritten?: string): ReturnType<typeof planRetention> {
  return planRetention(
    complete.map((c) => ({
      snapshotId: c.snapshotId,
      createdAt: c.createdAt,
      protectedBecause:
        c.snapshotId === justWritten
          ? "written by this run"
          : c.lockedUntil && c.lockedUntil > now
            ? `under Object Lock until ${c.lockedUntil.toISOString()}`
            : undefined,
    })),
    policy,
  );
}

export function describePolicy(policy: RetentionPolicy | undefined): string {
  if (!hasRules(policy)) return "keep everything (no retention policy)";
  return Object.entries(policy)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "object" ? (v as Duration).text : v}`)
    .join(", ");
}
