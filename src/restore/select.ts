/** Which snapshot to restore (`--at`), and in which order to try its copies. */
import type { StorageAdapter } from "../../adapters/types.js";
import { restorePriorityOf, type DestinationConfig } from "../config/schema.js";
import type { CopyRecord } from "../catalog/inventory.js";
import { parseDuration, subtractDuration } from "../runtime/duration.js";
import { UsageError } from "../runtime/errors.js";

/** `--at`: an ISO time, or an age like `2d` / `36h` counted back from now. */
export function resolveAt(at: string | undefined, now: Date): Date {
  if (at === undefined) return now;
  // An empty --at (an unset shell variable, say) must not quietly mean "now".
  if (!at.trim()) throw new UsageError(`--at is empty; give an ISO time (2026-11-25T02:00:00Z) or an age (2d, 36h), or leave it out for the newest snapshot`);
  if (/^\d+(y|mo|w|d|h|min|s)/.test(at)) {
    try {
      return subtractDuration(now, parseDuration(at));
    } catch (err) {
      throw new UsageError(`--at ${at}: ${(err as Error).message}`);
    }
  }
  // A time without a zone is UTC, like snapshot ids: never the host's local time.
  const zoned = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(at) ? `${at}Z` : at;
  const t = new Date(zoned);
  if (Number.isNaN(t.getTime())) throw new UsageError(`--at ${at} is neither an ISO time (2026-11-25T02:00:00Z) nor an age (2d, 36h)`);
  // JavaScript rolls 2026-11-31 over to December 1st; a mistyped date must not pick a snapshot.
  const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(at);
  if (date) {
    const [year, month, day] = date.slice(1).map(Number);
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth) {
      throw new UsageError(`--at ${at}: ${date[0]} is not a date on the calendar${month >= 1 && month <= 12 ? ` (that month has ${daysInMonth} days)` : ""}`);
    }
  }
  return t;
}

/** What one destination listed for the database being restored. */
export interface Listed {
  dest: DestinationConfig;
  adapter?: StorageAdapter;
  copies: CopyRecord[];
  error?: string;
}

export interface CandidateCopy {
  copy: CopyRecord;
  adapter: StorageAdapter;
  dest: DestinationConfig;
}

/**
 * Every snapshot a reachable destination knows of (with a manifest) at or
 * before `at`, newest first; each with its copies in restore-priority order,
 * ties broken by the order destinations are configured in.
 */
export function candidateSnapshots(listed: Listed[], at: Date, destinations: DestinationConfig[]): { snapshotId: string; copies: CandidateCopy[] }[] {
  const snapshots = new Map<string, CandidateCopy[]>();
  for (const l of listed) {
    for (const c of l.copies) {
      if (c.state === "orphan" || c.createdAt > at) continue;
      const copies = snapshots.get(c.snapshotId) ?? [];
      copies.push({ copy: c, adapter: l.adapter!, dest: l.dest });
      snapshots.set(c.snapshotId, copies);
    }
  }
  return [...snapshots.entries()]
    .sort((a, b) => b[0].localeCompare(a[0]))
    .map(([snapshotId, copies]) => ({
      snapshotId,
      copies: copies.sort((a, b) => restorePriorityOf(a.dest) - restorePriorityOf(b.dest) || destinations.indexOf(a.dest) - destinations.indexOf(b.dest)),
    }));
}
