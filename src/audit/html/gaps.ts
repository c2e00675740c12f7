const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface TimelineGap {
  from: string;
  to: string;
  /** True for the stretch from a lane's last good copy to the report time. */
  open: boolean;
  ms: number;
}

/** Spacing retention deliberately leaves between snapshots kept for a coarse period. */
const PERIOD_MS: Record<string, number> = { hourly: HOUR, daily: DAY, weekly: 7 * DAY, monthly: 31 * DAY, yearly: 366 * DAY };
/** Reasons that mean "every snapshot here is kept": a gap before such a snapshot is a missed backup. */
const DENSE_REASON = /^(newest snapshot|last snapshot|within |no retention policy)/;

/**
 * Periods without a good (complete) copy in one lane, longer than `baseMs`
 * (policy.maxAge, or 1.5× the median interval when there is none). A stretch
 * that retention thinned on purpose (the older end kept only as a weekly,
 * monthly or yearly snapshot) is allowed twice that period, so pruned history
 * does not show as missing backups.
 */
export function laneGaps(
  snapshots: { snapshotId: string; createdAt: string; state: string }[],
  kept: { snapshotId: string; reasons: string[] }[] | undefined,
  opts: { maxAgeMs?: number; now: string },
): TimelineGap[] {
  const good = snapshots
    .filter((s) => s.state === "complete" && !Number.isNaN(Date.parse(s.createdAt)))
    .map((s) => ({ id: s.snapshotId, t: Date.parse(s.createdAt), iso: s.createdAt }))
    .sort((a, b) => a.t - b.t);
  const reasons = new Map((kept ?? []).map((k) => [k.snapshotId, k.reasons]));
  /** The coarse retention period the older end of an interval is kept for, or undefined when it is "dense". */
  const coarse = (id: string): number | undefined => {
    const rs = reasons.get(id);
    if (!rs || rs.some((r) => DENSE_REASON.test(r))) return undefined;
    const periods = rs.map((r) => PERIOD_MS[r.replace(/ snapshot$/, "")]).filter((p): p is number => p !== undefined);
    return periods.length ? Math.min(...periods) : undefined;
  };
  const intervals = good.slice(1).map((b, i) => ({ a: good[i], b, ms: b.t - good[i].t, coarse: coarse(good[i].id) }));
  let base = opts.maxAgeMs;
  if (base === undefined) {
    const dense = intervals.filter((x) => x.coarse === undefined).map((x) => x.ms).sort((p, q) => p - q);
    if (dense.length === 0) return [];
    const mid = Math.floor(dense.length / 2);
    base = 1.5 * (dense.length % 2 ? dense[mid] : (dense[mid - 1] + dense[mid]) / 2);
  }
  const gaps: TimelineGap[] = intervals
    .filter((x) => x.ms > (x.coarse === undefined ? base! : Math.max(base!, 2 * x.coarse)))
    .map((x) => ({ from: x.a.iso, to: x.b.iso, open: false, ms: x.ms }));
  const last = good.at(-1);
  const now = Date.parse(opts.now);
  if (last && now - last.t > base) gaps.push({ from: last.iso, to: opts.now, open: true, ms: now - last.t });
  return gaps;
}
