/**
 * The glue the CLI calls: after a command, its record to the destinations it
 * reached (over the pool's still-open adapters); for an audit, the history
 * section read from every reachable destination.
 */
import type { Config } from "../config/schema.js";
import type { RunDeps } from "../runtime/context.js";
import type { AuditReport } from "../audit/build.js";
import type { AdapterPool } from "./pool.js";
import type { RunOutcome } from "./fromReports.js";
import { buildRecord, writeHistory, type HistoryWrite } from "./write.js";
import { readHistory } from "./read.js";
import { freeSpaceOf } from "./freeSpace.js";
import { HISTORY_WINDOW_DAYS, summarizeHistory, type RunHistorySummary } from "./summarize.js";

/** Writes the run's record; never throws (a record that cannot be written is logged). */
export async function recordRun(outcome: RunOutcome | null, startedAt: Date, pool: AdapterPool, deps: RunDeps): Promise<HistoryWrite | undefined> {
  if (!outcome) return undefined;
  try {
    const targets = outcome.reached.flatMap((destination) => {
      const adapter = pool.get(destination);
      return adapter ? [{ destination, adapter }] : [];
    });
    if (targets.length === 0) return undefined;
    return await writeHistory(buildRecord(outcome, startedAt, deps), targets, deps);
  } catch (err) {
    deps.logger.warn({ err: { message: (err as Error).message } }, `the run's history record was not written: ${(err as Error).message}`);
    return undefined;
  }
}

/** The audit's history section, from the destinations the audit reached. */
export async function historyForAudit(report: AuditReport, cfg: Config, pool: AdapterPool, deps: RunDeps): Promise<RunHistorySummary> {
  const now = deps.clock();
  const targets = report.destinations.flatMap((d) => {
    const adapter = d.reachable ? pool.get(d.name) : undefined;
    return adapter ? [{ destination: d.name, adapter }] : [];
  });
  const read = await readHistory(targets, new Date(now.getTime() - HISTORY_WINDOW_DAYS * 86_400_000));
  const free = await Promise.all(
    cfg.destinations.flatMap((d) => targets.filter((t) => t.destination === d.name).map((t) => freeSpaceOf(d, t.adapter))),
  );
  return summarizeHistory(read, free, now);
}
