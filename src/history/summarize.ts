/**
 * The figures a compliance review asks for, from the run records: backup
 * success rate over 30 and 90 days, duration and size per database over
 * time (a jump or a drop is called out), restore-test RTO per destination,
 * free space. Pure: unit-tested with records built in memory.
 */
import type { HistoryRecord, RunVerdict } from "./record.js";
import type { FreeSpace } from "./freeSpace.js";
import type { HistoryRead } from "./read.js";

const DAY = 86_400_000;
/** How far back the audit reads history. */
export const HISTORY_WINDOW_DAYS = 90;
/** A size this much above or below the previous backup's stands out. */
const SIZE_JUMP = 0.3;
/** A duration twice (or half) the previous one stands out, once it differs by a second or more. */
const DURATION_FACTOR = 2;
const DURATION_MIN_DIFF_MS = 1000;

export interface Rate {
  runs: number;
  ok: number;
  degraded: number;
  failed: number;
  /** ok / runs (exit 0 only: a degraded run is not a success); null without runs. */
  successRate: number | null;
}

export interface TrendPoint {
  at: string;
  verdict: RunVerdict;
  /** This database's snapshot and checks plus its slowest destination. */
  durationMs?: number;
  rawBytes?: number;
  artifactBytes?: number;
}

export interface Jump {
  at: string;
  what: "size" | "duration";
  from: number;
  to: number;
  /** (to - from) / from: +1.0 is twice as large. */
  change: number;
}

export interface RtoSummary {
  destination: string;
  tests: number;
  passed: number;
  successRate: number | null;
  lastAt?: string;
  lastRtoMs?: number;
  medianRtoMs?: number;
  maxRtoMs?: number;
}

export interface RunHistorySummary {
  windowDays: number;
  from: string;
  records: number;
  backups: { last30d: Rate; last90d: Rate; lastRun?: { at: string; verdict: RunVerdict; ageMs: number }; lastSuccess?: { at: string; ageMs: number } };
  verifies: { last90d: Rate };
  trend: { db: string; points: TrendPoint[]; jumps: Jump[] }[];
  /** Restore tests (verify --deep, audit --deep), per destination. */
  restoreTests: RtoSummary[];
  /** Real restores, per destination the copy came from. */
  restores: RtoSummary[];
  destinations: (FreeSpace & { records: number | null; error?: string })[];
  notes: string[];
}

export function summarizeHistory(read: HistoryRead, free: FreeSpace[], now: Date): RunHistorySummary {
  const records = [...read.records].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const since = (days: number) => now.getTime() - days * DAY;
  const within = (days: number) => records.filter((r) => Date.parse(r.startedAt) >= since(days));
  const backups = records.filter((r) => r.kind === "backup");
  const lastRun = backups.at(-1);
  const lastOk = backups.filter((r) => r.verdict === "ok").at(-1);
  const notes = read.unreadable.map((u) => `${u.destination}: ${u.key} could not be read (${u.error}); left alone`);
  if (records.length === 0) notes.push("no run records in the window: history starts with the first backup, verify or prune run by this version");
  return {
    windowDays: HISTORY_WINDOW_DAYS,
    from: new Date(since(HISTORY_WINDOW_DAYS)).toISOString(),
    records: records.length,
    backups: {
      last30d: rateOf(within(30).filter((r) => r.kind === "backup")),
      last90d: rateOf(within(90).filter((r) => r.kind === "backup")),
      ...(lastRun ? { lastRun: { at: lastRun.startedAt, verdict: lastRun.verdict, ageMs: now.getTime() - Date.parse(lastRun.startedAt) } } : {}),
      ...(lastOk ? { lastSuccess: { at: lastOk.startedAt, ageMs: now.getTime() - Date.parse(lastOk.startedAt) } } : {}),
    },
    verifies: { last90d: rateOf(within(90).filter((r) => r.kind === "verify" || r.kind === "verify-deep")) },
    trend: trendOf(backups),
    restoreTests: rtoOf(records.filter((r) => r.kind === "verify-deep" || r.kind === "audit-deep")),
    restores: rtoOf(records.filter((r) => r.kind === "restore")),
    destinations: read.destinations.map((d) => {
      const f = free.find((x) => x.destination === d.destination) ?? { destination: d.destination, freeBytes: null, totalBytes: null };
      return { ...f, records: d.records, ...(d.error ? { error: d.error } : {}) };
    }),
    notes,
  };
}

export function rateOf(runs: HistoryRecord[]): Rate {
  const count = (v: RunVerdict) => runs.filter((r) => r.verdict === v).length;
  const ok = count("ok");
  return { runs: runs.length, ok, degraded: count("degraded"), failed: count("failed"), successRate: runs.length ? ok / runs.length : null };
}

function trendOf(backups: HistoryRecord[]): RunHistorySummary["trend"] {
  const dbs = [...new Set(backups.flatMap((r) => r.databases.map((d) => d.db)))].sort();
  return dbs.map((db) => {
    const points: TrendPoint[] = backups.flatMap((r) => {
      const d = r.databases.find((x) => x.db === db);
      if (!d) return [];
      const slowest = Math.max(0, ...d.destinations.map((x) => x.durationMs ?? 0));
      return [{ at: r.startedAt, verdict: r.verdict, ...(d.snapshotId ? { durationMs: (d.snapshotMs ?? 0) + slowest, rawBytes: d.rawBytes, artifactBytes: d.artifactBytes } : {}) }];
    });
    return { db, points, jumps: jumpsOf(points) };
  });
}

/** Each point against the previous one that has the figure. */
export function jumpsOf(points: TrendPoint[]): Jump[] {
  const jumps: Jump[] = [];
  let prevSize: number | undefined;
  let prevMs: number | undefined;
  for (const p of points) {
    if (p.rawBytes !== undefined) {
      if (prevSize && Math.abs(p.rawBytes - prevSize) / prevSize >= SIZE_JUMP) jumps.push({ at: p.at, what: "size", from: prevSize, to: p.rawBytes, change: (p.rawBytes - prevSize) / prevSize });
      prevSize = p.rawBytes;
    }
    if (p.durationMs !== undefined) {
      const ms = p.durationMs;
      if (prevMs && Math.abs(ms - prevMs) >= DURATION_MIN_DIFF_MS && (ms >= prevMs * DURATION_FACTOR || ms * DURATION_FACTOR <= prevMs)) {
        jumps.push({ at: p.at, what: "duration", from: prevMs, to: ms, change: (ms - prevMs) / prevMs });
      }
      prevMs = ms;
    }
  }
  return jumps;
}

/** Per destination: how many tests, how many passed, and the measured RTO (passed tests only). */
function rtoOf(runs: HistoryRecord[]): RtoSummary[] {
  const tests = runs.flatMap((r) => (r.restoreTests ?? []).map((t) => ({ ...t, at: r.startedAt })));
  const byDest = new Map<string, typeof tests>();
  for (const t of tests) byDest.set(t.destination, [...(byDest.get(t.destination) ?? []), t]);
  return [...byDest].sort(([a], [b]) => a.localeCompare(b)).map(([destination, ts]) => {
    const passed = ts.filter((t) => t.ok);
    const ms = passed.map((t) => t.durationMs).filter((x): x is number => typeof x === "number");
    const sorted = [...ms].sort((a, b) => a - b);
    const last = passed.filter((t) => typeof t.durationMs === "number").at(-1);
    return {
      destination,
      tests: ts.length,
      passed: passed.length,
      successRate: ts.length ? passed.length / ts.length : null,
      ...(ts.length ? { lastAt: ts.at(-1)!.at } : {}),
      ...(last ? { lastRtoMs: last.durationMs } : {}),
      ...(sorted.length ? { medianRtoMs: sorted[Math.floor((sorted.length - 1) / 2)], maxRtoMs: sorted.at(-1) } : {}),
    };
  });
}
