/** verify/: every copy checked against its manifest; --deep restore-tests copies, recording each proof beside the copy. */
import { rm } from "node:fs/promises";
import { stagingDir, type Config } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { databasesWithoutCompleteCopy, inventoryDestination, type CopyState } from "../catalog/inventory.js";
import { allSettledOrThrow, deepCheckCopies, deepCheckOrder, makeScratch, requireIdentities, type DeepBudget } from "./deepCheck.js";
import type { AgeKeys } from "../encryption/age.js";
import type { DeepCheck, ProofLevel } from "./proofs.js";
import type { DestinationMarker } from "../catalog/destinationMarker.js";

export interface VerifiedCopy {
  db: string;
  snapshotId: string;
  state: CopyState;
  detail?: string;
  /** The strongest proof the copy has had, and when (after this run's checks). */
  proof?: { level: ProofLevel; at?: string };
  /** Present with --deep, for the copies this run restore-tested. */
  deep?: DeepCheck;
}

export interface VerifyReport {
  command: "verify";
  deep: boolean;
  exitCode: ExitCode;
  /** Copies that failed a check: the "0" of 3-2-1-1-0. Orphans are leftovers, not copies, and do not count. */
  errors: number;
  /** Configured databases with no complete copy on any reachable destination. */
  unprotected: string[];
  /**
   * With --deep: databases whose every deep-checked copy failed, so the newest copies
   * cannot be restored anywhere and a restore would fall back to an older snapshot.
   */
  failedDeep: string[];
  destinations: { destination: string; reachable: boolean; error?: string; marker?: DestinationMarker; copies: VerifiedCopy[] }[];
}

/**
 * Checks every copy against its manifest (size, and the store's own checksum
 * where it keeps one) and reports the strongest proof each has had. --deep
 * restore-tests copies in a temp folder (hashes, decompression,
 * integrity_check, row counts), least recently proven first, within the
 * budget, and records each result beside the copy.
 */
export async function runVerify(cfg: Config, opts: { db?: string[]; deep: boolean; budget?: DeepBudget; signal?: AbortSignal; identity?: AgeKeys }, deps: RunDeps): Promise<VerifyReport> {
  const open = await openDestinations(cfg.destinations, deps, { dryRun: false });
  const scratch = opts.deep ? await makeScratch(stagingDir(cfg), "verify-") : undefined;
  const report: VerifyReport = { command: "verify", deep: opts.deep, exitCode: EXIT.ok, errors: 0, unprotected: [], failedDeep: [], destinations: [] };
  try {
    const listed = await allSettledOrThrow(
      [...open.values()].map(async (o) => ({ ...o, inv: o.adapter ? await inventoryDestination(o.adapter, o.cfg.name, opts.db?.length ? opts.db : undefined) : undefined })),
    );
    // Every destination's keys are checked before any deep check records a proof anywhere.
    if (opts.deep) requireIdentities(listed.map((l) => (l.inv?.reachable ? deepCheckOrder(l.inv.copies, opts.budget) : [])), opts.identity);
    report.destinations = await allSettledOrThrow(
      listed.map(async ({ cfg: d, adapter, marker, error, inv }) => {
        if (!adapter || !inv) return { destination: d.name, reachable: false, error, copies: [] };
        if (!inv.reachable) return { destination: d.name, reachable: false, error: inv.error, copies: [] };
        const checks = opts.deep
          ? await deepCheckCopies(adapter, d.name, inv.copies, { scratch: scratch!, author: deps, budget: opts.budget, signal: opts.signal, identity: opts.identity })
          : new Map<string, DeepCheck>();
        const copies: VerifiedCopy[] = inv.copies.map((c) => ({
          db: c.db, snapshotId: c.snapshotId, state: c.state, detail: c.state === "complete" ? undefined : c.detail,
          ...(c.proof ? { proof: { level: c.proof.level, at: c.proof.at } } : {}),
          deep: checks.get(`${c.db}/${c.snapshotId}`),
        }));
        return { destination: d.name, reachable: true, marker, copies };
      }),
    );
  } finally {
    await closeAll(open);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  // A configured database that no reachable destination holds a complete copy of is a problem,
  // not "0 errors": a wiped folder must not verify as healthy.
  report.unprotected = databasesWithoutCompleteCopy(opts.db?.length ? opts.db : cfg.databases.map((d) => d.name), report.destinations);
  const deepChecked = report.destinations.flatMap((d) => d.copies).filter((c) => c.deep);
  const passedDeep = new Set(deepChecked.filter((c) => c.deep!.ok).map((c) => c.db));
  report.failedDeep = [...new Set(deepChecked.map((c) => c.db))].filter((db) => !passedDeep.has(db)).sort();
  report.errors = report.unprotected.length + report.destinations.reduce(
    (n, d) => n + d.copies.filter((c) => c.state !== "complete" && c.state !== "orphan").length,
    0,
  );
  const reachable = report.destinations.filter((d) => d.reachable);
  report.exitCode = reachable.length === 0 ? EXIT.failed : report.errors > 0 || reachable.length < report.destinations.length ? EXIT.degraded : EXIT.ok;
  return report;
}
