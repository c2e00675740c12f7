/**
 * A history record's content, from the report a command already built: the
 * record says no more than the report does (so it holds no secret the report
 * would not), and no command's core learns that history exists.
 */
import type { BackupReport } from "../backup/run.js";
import type { VerifyReport } from "../verify/run.js";
import type { PruneReport } from "../retention/run.js";
import type { RestoreReport } from "../restore/run.js";
import type { AuditReport } from "../audit/build.js";
import { shortError, type DatabaseOutcome, type DestinationOutcome, type RestoreMeasure, type RunKind } from "./record.js";

/** What goes into a record, and which destinations answered during the run (only they get it). */
export interface RunOutcome {
  kind: RunKind;
  exitCode: number;
  databases: DatabaseOutcome[];
  destinations: DestinationOutcome[];
  restoreTests?: RestoreMeasure[];
  /** Destinations that answered during the run: the record is written to these. */
  reached: string[];
}

export function fromBackup(r: BackupReport): RunOutcome | null {
  if (r.dryRun) return null; // changes nothing, proves nothing
  const databases: DatabaseOutcome[] = r.databases.map((d) => ({
    db: d.db,
    ok: d.exitCode !== 1,
    snapshotId: d.artifact ? d.snapshotId : undefined,
    rawBytes: d.artifact?.rawSize,
    artifactBytes: d.artifact?.size,
    snapshotMs: d.snapshot?.durationMs,
    error: shortError(d.error),
    destinations: d.destinations.map((x) => ({
      destination: x.destination,
      result: x.status === "verified" ? "ok" : x.error?.startsWith("unreachable") ? "unreachable" : "failed",
      bytes: x.bytes, durationMs: x.durationMs, mbPerSec: x.mbPerSec, error: shortError(x.error),
    })),
  }));
  const destinations = r.destinations.map((s): DestinationOutcome => {
    if (!s.reachable) return { destination: s.destination, result: "unreachable", error: shortError(s.error) };
    const mine = databases.flatMap((d) => d.destinations.filter((x) => x.destination === s.destination));
    const failed = mine.find((x) => x.result !== "ok");
    return {
      destination: s.destination,
      result: failed || mine.length === 0 ? "failed" : "ok",
      bytes: sum(mine.map((x) => x.bytes)),
      durationMs: sum(mine.map((x) => x.durationMs)),
      error: failed?.error,
    };
  });
  return { kind: "backup", exitCode: r.exitCode, databases, destinations, reached: r.destinations.filter((d) => d.reachable).map((d) => d.destination) };
}

export function fromVerify(r: VerifyReport): RunOutcome {
  const restoreTests: RestoreMeasure[] = r.destinations.flatMap((d) =>
    d.copies.filter((c) => c.deep).map((c) => ({ destination: d.destination, db: c.db, snapshotId: c.snapshotId, ok: c.deep!.ok, durationMs: c.deep!.durationMs })),
  );
  return {
    kind: r.deep ? "verify-deep" : "verify",
    exitCode: r.exitCode,
    databases: [],
    destinations: r.destinations.map((d) => {
      const bad = d.copies.filter((c) => c.state !== "complete" && c.state !== "orphan").length;
      return { destination: d.destination, result: !d.reachable ? "unreachable" : bad ? "failed" : "ok", count: bad, error: shortError(d.error) };
    }),
    ...(r.deep ? { restoreTests } : {}),
    reached: r.destinations.filter((d) => d.reachable).map((d) => d.destination),
  };
}

export function fromPrune(r: PruneReport): RunOutcome | null {
  if (r.dryRun) return null;
  return {
    kind: "prune",
    exitCode: r.exitCode,
    databases: [],
    destinations: r.destinations.map((d) => {
      const errors = d.databases.flatMap((x) => x.errors);
      return {
        destination: d.destination,
        result: !d.reachable ? "unreachable" : errors.length ? "failed" : "ok",
        count: sum(d.databases.map((x) => x.deleted.length)),
        error: shortError(d.error ?? errors[0]),
      };
    }),
    reached: r.destinations.filter((d) => d.reachable).map((d) => d.destination),
  };
}

/** A real restore is the truest RTO there is: recorded with every attempt it made. */
export function fromRestore(r: RestoreReport, tried: string[]): RunOutcome {
  const unreachable = new Set(r.unreachable.map((u) => u.destination));
  const restoreTests: RestoreMeasure[] = r.attempts.map((a) => ({ destination: a.destination, db: r.db, snapshotId: a.snapshotId, ok: a.ok, durationMs: a.durationMs, bytes: a.bytes }));
  return {
    kind: "restore",
    exitCode: r.exitCode,
    databases: [{ db: r.db, ok: !!r.restored, snapshotId: r.restored?.snapshotId, rawBytes: r.restored?.rawBytes, artifactBytes: r.restored?.bytes, destinations: [], error: shortError(r.error) }],
    destinations: tried.map((d) => {
      const mine = r.attempts.filter((a) => a.destination === d);
      return { destination: d, result: unreachable.has(d) ? "unreachable" : mine.some((a) => !a.ok) ? "failed" : "ok" };
    }),
    restoreTests,
    reached: tried.filter((d) => !unreachable.has(d)),
  };
}

/** Only a deep audit proves something (it restore-tests); a plain audit only reads. */
export function fromAudit(r: AuditReport): RunOutcome | null {
  if (!r.deep) return null;
  const restoreTests: RestoreMeasure[] = r.databases.flatMap((db) =>
    db.latestCopies
      .filter((c) => c.lastDeepCheck && db.latest)
      .map((c) => ({ destination: c.destination, db: db.db, snapshotId: db.latest!.snapshotId, ok: c.lastDeepCheck!.ok, durationMs: c.lastDeepCheck!.durationMs })),
  );
  return {
    kind: "audit-deep",
    exitCode: r.exitCode,
    databases: [],
    destinations: r.destinations.map((d) => ({ destination: d.name, result: d.reachable ? "ok" : "unreachable", error: shortError(d.error) })),
    restoreTests,
    reached: r.destinations.filter((d) => d.reachable).map((d) => d.name),
  };
}

function sum(xs: (number | undefined)[]): number {
  return xs.reduce<number>((n, x) => n + (x ?? 0), 0);
}
