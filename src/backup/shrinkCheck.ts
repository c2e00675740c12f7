import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { Listings } from "./listing.js";
import { compareWithBaseline, howToAccept, isGoodBaseline, newestComplete, type Anomaly, factsOf } from "../guard/shrink.js";
import type { RetentionHold } from "../guard/holds.js";
import type { Prepared } from "./prepare.js";

/** What the backup report says about a snapshot that shrank. */
export interface AnomalyReport extends Anomaly {
  /** Where the baseline was found. */
  baselineDestination: string;
  /** How to go on, in words. */
  howToAccept: string;
}

/**
 * Holds the new snapshot's facts against the last good snapshot of `db` on
 * any reachable destination. No baseline (a first backup, every destination
 * unreachable or empty) means nothing to compare with and nothing to delete.
 */
export async function checkShrink(
  db: string,
  prepared: Pick<Prepared, "snapshot" | "summary">,
  listings: Listings,
  cfg: Config,
  opts: { accept: boolean; log: Logger },
): Promise<AnomalyReport | undefined> {
  const inventories = [...listings.values()];
  const baseline = newestComplete(inventories.flatMap((i) => (i.reachable ? i.copies : [])), db, isGoodBaseline);
  if (!baseline?.manifest) return undefined;
  const facts = { rowCounts: prepared.snapshot.facts.rowCounts, rawSize: prepared.summary.rawSize };
  const findings = compareWithBaseline(factsOf(baseline.manifest), facts, cfg.guard);
  if (findings.length === 0) return undefined;
  const report: AnomalyReport = {
    baseline: baseline.snapshotId, baselineDestination: baseline.destination, findings, accepted: opts.accept, howToAccept: howToAccept(cfg.guard.maxShrink, findings),
  };
  const what = findings.map((f) => f.message).join("; ");
  if (opts.accept) opts.log.warn({ baseline: baseline.snapshotId, findings }, `the source shrank (${what}); accepted with --accept-shrink: this snapshot is the new baseline`);
  else opts.log.error({ baseline: baseline.snapshotId, findings }, `the source shrank since snapshot ${baseline.snapshotId}: ${what}; shipped, marked as an anomaly, and nothing is deleted anywhere; ${report.howToAccept}`);
  return report;
}

/**
 * Records the anomaly in the manifest every destination receives, and
 * returns the hold that keeps every destination's retention from deleting
 * anything this run (none once accepted).
 */
export function markAnomaly(prepared: Prepared, snapshotId: string, anomaly: AnomalyReport): RetentionHold[] {
  const { baseline, findings, accepted } = anomaly;
  const manifestFor = prepared.manifestFor;
  prepared.manifestFor = (lockedUntil) => ({ ...manifestFor(lockedUntil), anomaly: { baseline, findings, accepted } });
  if (accepted) return [];
  return [{ guard: "shrink", snapshotId, message: `${findings.map((f) => f.message).join("; ")} (compared with ${baseline}); ${anomaly.howToAccept}` }];
}
