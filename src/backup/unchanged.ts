/**
 * Unchanged databases (issue 15): most tenant databases do not change
 * between two nights. When the new snapshot's raw SHA-256 equals that of the
 * latest complete snapshot, and every reachable destination holds that
 * snapshot complete and proven, nothing is uploaded: each destination gets a
 * small record beside the existing copy (publish/unchangedRecord.ts) and the
 * run is judged on those copies, as of now. Anything less (a destination
 * without the copy, a damaged one, an unreadable listing, an anomaly as the
 * latest snapshot) ships a full new snapshot as before.
 */
import type { Logger } from "pino";
import type { StorageAdapter } from "../../adapters/types.js";
import { describeError } from "../../adapters/errors.js";
import type { DestinationConfig } from "../config/schema.js";
import type { CopyRecord } from "../catalog/inventory.js";
import type { Listings } from "./listing.js";
import { isGoodBaseline, newestComplete } from "../guard/shrink.js";
import type { RetentionOutcome } from "../retention/apply.js";
import type { OpenDestination, RunDeps } from "../runtime/context.js";
import { atLeast, type RecordedLevel } from "../verify/proofs.js";
import { recordUnchanged } from "../publish/unchangedRecord.js";
import type { DestinationRun } from "./run.js";

/** The snapshot the source still equals, and each destination's proven copy of it. */
export interface UnchangedBase {
  snapshotId: string;
  createdAt: Date;
  rawSha256: string;
  copies: Map<string, CopyRecord>;
}

/**
 * The latest complete snapshot of `db` on any reachable destination, when the
 * source still equals it byte for byte and every reachable destination holds
 * it complete with a recorded proof; otherwise undefined (ship in full).
 */
export async function findUnchanged(db: string, rawSha256: string, listings: Listings): Promise<UnchangedBase | undefined> {
  if (listings.size === 0) return undefined;
  const invs = [...listings].map(([name, inv]) => ({ name, inv }));
  // A listing that failed says nothing about what that destination holds: ship in full.
  if (invs.some((i) => !i.inv.reachable)) return undefined;
  const latest = newestComplete(invs.flatMap((i) => i.inv.copies), db);
  if (!latest?.manifest || latest.manifest.raw.sha256 !== rawSha256 || !isGoodBaseline(latest.manifest)) return undefined;
  const copies = new Map<string, CopyRecord>();
  for (const { name, inv } of invs) {
    const c = inv.copies.find((x) => x.snapshotId === latest.snapshotId && x.state === "complete");
    // `present` (nobody proved it) is not enough to stand in for a copy this run would have read back.
    if (!c?.proof || !atLeast(c.proof.level, "store-checksum")) return undefined;
    copies.set(name, c);
  }
  return { snapshotId: latest.snapshotId, createdAt: latest.createdAt, rawSha256, copies };
}

export interface UnchangedContext {
  db: string;
  tags: string[];
  deps: RunDeps;
  log: Logger;
  /** The destination's retention, with the base snapshot as "just written" (always kept). */
  retention: (adapter: StorageAdapter, dest: DestinationConfig, justWritten: string) => Promise<RetentionOutcome>;
}

/** One record per destination beside its copy of the base snapshot, then that destination's retention. */
export async function recordUnchangedEverywhere(base: UnchangedBase, open: Iterable<OpenDestination>, ctx: UnchangedContext): Promise<DestinationRun[]> {
  const at = ctx.deps.clock();
  return Promise.all(
    [...open].map(async ({ cfg: dest, adapter, error }): Promise<DestinationRun> => {
      const failed = (why: string): DestinationRun => ({ destination: dest.name, type: dest.type, status: "failed", bytes: 0, durationMs: 0, mbPerSec: null, error: why });
      if (!adapter) return failed(`unreachable: ${error}`);
      const copy = base.copies.get(dest.name)!;
      const started = performance.now();
      let recordKey: string;
      try {
        recordKey = await recordUnchanged(
          adapter,
          { db: ctx.db, snapshotId: base.snapshotId, at: at.toISOString(), rawSha256: base.rawSha256, host: ctx.deps.hostname, toolVersion: ctx.deps.toolVersion, tags: ctx.tags },
          ctx.deps.randomHex(4),
        );
      } catch (err) {
        ctx.log.error({ destination: dest.name, err: describeError(err) }, `could not record the unchanged night on ${dest.name}; its retention is skipped`);
        return failed(`could not record the unchanged night: ${describeError(err).message}`);
      }
      ctx.log.info({ destination: dest.name, snapshotId: base.snapshotId }, `unchanged since ${base.snapshotId}: recorded on ${dest.name}, nothing uploaded`);
      const dr: DestinationRun = {
        destination: dest.name, type: dest.type, status: "unchanged", bytes: 0, durationMs: Math.round(performance.now() - started), mbPerSec: null,
        lockedUntil: copy.lockedUntil, proof: { level: copy.proof!.level as RecordedLevel, at: copy.proof!.at! }, unchanged: { snapshotId: base.snapshotId, recordKey },
      };
      dr.retention = await ctx.retention(adapter, dest, base.snapshotId);
      return dr;
    }),
  );
}
