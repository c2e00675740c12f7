/**
 * Writing a run's record to every destination that answered, and keeping
 * the history bounded. A record that cannot be written is logged and never
 * changes the run's outcome or exit code: history is about the backups, it
 * must never cost one.
 */
import type { Logger } from "pino";
import type { StorageAdapter } from "../../adapters/types.js";
import { bytesSource } from "../../adapters/streams.js";
import { describeError } from "../../adapters/errors.js";
import { HISTORY_FORMAT, HISTORY_PREFIX, parseRecordKey, recordId, recordKey, verdictOf, type HistoryRecord } from "./record.js";
import type { RunOutcome } from "./fromReports.js";

/**
 * Records kept per destination. Bounded by count, not age: a clock that
 * jumps years ahead cannot make every older record look expired, and in
 * steady state each new record removes at most the one oldest. 5000 records
 * of ~1 KiB are ~5 MiB: over a decade of nightly backups and verifies, or
 * more than 90 days of hourly ones.
 */
export const HISTORY_KEEP = 5000;
/** At most this many old records go per run, so one run's clean-up stays small. */
const MAX_DELETE_PER_RUN = 100;

export interface WriteDeps {
  clock: () => Date;
  hostname: string;
  toolVersion: string;
  randomHex: (bytes: number) => string;
  logger: Logger;
}

export interface HistoryWrite {
  id: string;
  written: string[];
  failed: { destination: string; error: string }[];
}

export function buildRecord(outcome: RunOutcome, startedAt: Date, deps: WriteDeps): HistoryRecord {
  const finishedAt = deps.clock();
  return {
    format: HISTORY_FORMAT,
    id: recordId(startedAt, outcome.kind, deps.hostname, deps.randomHex(4)),
    kind: outcome.kind,
    host: deps.hostname,
    toolVersion: deps.toolVersion,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.max(0, finishedAt.getTime() - startedAt.getTime()),
    exitCode: outcome.exitCode,
    verdict: verdictOf(outcome.exitCode),
    databases: outcome.databases,
    destinations: outcome.destinations,
    ...(outcome.restoreTests ? { restoreTests: outcome.restoreTests } : {}),
  };
}

/** One record, to every destination that answered during the run, in parallel. */
export async function writeHistory(
  record: HistoryRecord,
  targets: { destination: string; adapter: StorageAdapter }[],
  deps: Pick<WriteDeps, "logger">,
  keep = HISTORY_KEEP,
): Promise<HistoryWrite> {
  const body = Buffer.from(JSON.stringify(record) + "\n");
  const out: HistoryWrite = { id: record.id, written: [], failed: [] };
  await Promise.all(
    targets.map(async ({ destination, adapter }) => {
      try {
        await adapter.put(recordKey(record.id), bytesSource(body));
        out.written.push(destination);
      } catch (err) {
        const error = describeError(err).message;
        out.failed.push({ destination, error });
        deps.logger.warn({ destination, err: describeError(err) }, `the run's history record could not be written to ${destination} (${error}); the run's outcome is unchanged`);
        return;
      }
      await boundHistory(adapter, destination, keep, deps.logger);
    }),
  );
  out.written.sort();
  return out;
}

/**
 * Removes the oldest records beyond `keep`. Only keys named exactly like our
 * records are counted or deleted; anything else under `history/` is left.
 */
export async function boundHistory(adapter: StorageAdapter, destination: string, keep: number, logger: Logger): Promise<string[]> {
  try {
    const mine: string[] = [];
    for await (const o of adapter.list(HISTORY_PREFIX)) if (parseRecordKey(o.key)) mine.push(o.key);
    if (mine.length <= keep) return [];
    mine.sort();
    const gone = mine.slice(0, Math.min(mine.length - keep, MAX_DELETE_PER_RUN));
    for (const key of gone) await adapter.delete(key);
    logger.info({ destination, removed: gone.length, keep }, `history on ${destination}: ${gone.length} oldest record(s) removed, ${keep} kept`);
    return gone;
  } catch (err) {
    logger.warn({ destination, err: describeError(err) }, `could not bound the history on ${destination}; it will be tried again next run`);
    return [];
  }
}
