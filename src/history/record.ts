/**
 * history/: the numbers an audit needs that no listing of copies can give
 * (how often backups succeeded, how long they took, how large they were, how
 * long a restore takes). Each command that changes or proves something writes
 * one small record per run to every destination it reached, beside the data,
 * so an audit from any host reads the same history. This file: the record and
 * its name on storage.
 */
import { compactUtc } from "../publish/ids.js";

/** At the destination root, beside the `<db>/` folders and the marker. */
export const HISTORY_PREFIX = "history/";
export const HISTORY_FORMAT = "triplicate.history/v1";

/** What kind of run a record is of. `verify-deep` and `audit-deep` are restore tests. */
export const RUN_KINDS = ["backup", "verify", "verify-deep", "audit-deep", "prune", "restore"] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export type RunVerdict = "ok" | "degraded" | "failed";

/** One destination's part in a run: the copy shipped, the copies checked, the deletions. */
export interface DestinationOutcome {
  destination: string;
  /** ok, failed (it answered but its part failed), unreachable. */
  result: "ok" | "failed" | "unreachable";
  bytes?: number;
  durationMs?: number;
  mbPerSec?: number | null;
  /** verify: copies whose check failed; prune: snapshots deleted. */
  count?: number;
  error?: string;
}

export interface DatabaseOutcome {
  db: string;
  ok: boolean;
  snapshotId?: string;
  rawBytes?: number;
  artifactBytes?: number;
  /** Snapshot plus source checks. */
  snapshotMs?: number;
  destinations: DestinationOutcome[];
  error?: string;
}

/** A restore test (verify --deep, audit --deep) or a real restore: the measured RTO of one copy. */
export interface RestoreMeasure {
  destination: string;
  db: string;
  snapshotId: string;
  ok: boolean;
  durationMs?: number;
  bytes?: number;
}

export interface HistoryRecord {
  format: typeof HISTORY_FORMAT;
  /** `<stamp>-<kind>-<host>-<rand>`: the same on every destination, so a run is counted once. */
  id: string;
  kind: RunKind;
  host: string;
  toolVersion: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  exitCode: number;
  verdict: RunVerdict;
  databases: DatabaseOutcome[];
  /** Per destination, the run as a whole (for a backup: every database's copy on it). */
  destinations: DestinationOutcome[];
  restoreTests?: RestoreMeasure[];
}

// Longest kinds first: "verify" must not take the "verify" of "verify-deep" and leave "deep-" to the host.
const KINDS = [...RUN_KINDS].sort((a, b) => b.length - a.length).join("|");
const NAME = new RegExp(`^${HISTORY_PREFIX}(\\d{8}T\\d{6}Z)-(${KINDS})-([A-Za-z0-9-]{1,40})-([0-9a-f]{8})\\.json$`);

/** Host names may hold dots and more; a record name keeps letters, digits and dashes. */
export function hostLabel(host: string): string {
  return host.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "host";
}

export function recordId(startedAt: Date, kind: RunKind, host: string, rand8: string): string {
  return `${compactUtc(startedAt)}-${kind}-${hostLabel(host)}-${rand8}`;
}

export function recordKey(id: string): string {
  return `${HISTORY_PREFIX}${id}.json`;
}

/** The parts of a record's name, or null for anything else under `history/` (never read, never deleted). */
export function parseRecordKey(key: string): { id: string; stamp: string; at: Date; kind: RunKind } | null {
  const m = NAME.exec(key);
  if (!m) return null;
  const s = m[1];
  const at = new Date(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`);
  if (Number.isNaN(at.getTime()) || compactUtc(at) !== s) return null;
  return { id: key.slice(HISTORY_PREFIX.length, -".json".length), stamp: s, at, kind: m[2] as RunKind };
}

export function verdictOf(exitCode: number): RunVerdict {
  return exitCode === 0 ? "ok" : exitCode === 3 ? "degraded" : "failed";
}

/** Error texts come from reports (already free of secrets); kept short, a record is small. */
export function shortError(e: string | undefined): string | undefined {
  return e === undefined ? undefined : e.length > 300 ? `${e.slice(0, 297)}...` : e;
}
