import type { AuditDatabase, AuditReport } from "../build.js";
import {
  deepCheckText,
  formatUtc,
  freshnessOf,
  lockText,
  maxAgeMsOf,
  policySummary,
  snapshotGroup,
  verdictWords,
  type SnapshotGroup,
} from "../words.js";
import { formatAge } from "../../runtime/duration.js";

/*
 * The audit report as ONE self-contained HTML5 file: inline CSS, inline SVG,
 * no script, no external fetch of any kind (a Content-Security-Policy says so
 * too), readable on screen and on paper. Every string that comes from the
 * report is escaped: destination names, error messages and details are data,
 * never markup.
 */

/** Escapes text and attribute values alike. */
export function escapeHtml(s: string | number | boolean | undefined | null): string {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
const esc = escapeHtml;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------- gaps

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

// ---------------------------------------------------------------- timeline

const W = 960;
const LABEL_W = 150;
const PLOT_X0 = LABEL_W + 12;
const PLOT_X1 = W - 28;
const TOP_H = 34;
const LANE_H = 34;
const AXIS_H = 26;
const LEGEND_H = 30;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const GROUP_WORDS: Record<SnapshotGroup, string> = { complete: "complete", locked: "locked (Object Lock)", damaged: "damaged", orphan: "orphan (no manifest)" };

function ticks(t0: number, t1: number): { t: number; label: string }[] {
  const span = t1 - t0;
  type Step = { ms: number; kind: "h" | "d" | "w" | "mo" | "y"; n: number };
  const steps: Step[] = [
    ...[1, 2, 3, 6, 12].map((n): Step => ({ ms: n * HOUR, kind: "h", n })),
    ...[1, 2, 3].map((n): Step => ({ ms: n * DAY, kind: "d", n })),
    ...[1, 2].map((n): Step => ({ ms: n * 7 * DAY, kind: "w", n })),
    ...[1, 2, 3, 6].map((n): Step => ({ ms: n * 30 * DAY, kind: "mo", n })),
    ...[1, 2, 5, 10, 25].map((n): Step => ({ ms: n * 365 * DAY, kind: "y", n })),
  ];
  const step = steps.find((s) => span / s.ms <= 9) ?? steps.at(-1)!;
  const out: { t: number; label: string }[] = [];
  const d = new Date(t0);
  const multiYear = new Date(t0).getUTCFullYear() !== new Date(t1).getUTCFullYear();
  const dayLabel = (x: Date) => `${MONTHS[x.getUTCMonth()]} ${x.getUTCDate()}${multiYear ? ` '${String(x.getUTCFullYear()).slice(2)}` : ""}`;
  if (step.kind === "h" || step.kind === "d" || step.kind === "w") {
    let t = Math.ceil(t0 / step.ms) * step.ms;
    if (step.kind === "w") t = Math.ceil((t0 - 4 * DAY) / step.ms) * step.ms + 4 * DAY; // Mondays (1970-01-05 was one)
    for (; t <= t1; t += step.ms) {
      const x = new Date(t);
      const hm = `${String(x.getUTCHours()).padStart(2, "0")}:${String(x.getUTCMinutes()).padStart(2, "0")}`;
      out.push({ t, label: step.kind === "h" ? `${dayLabel(x)} ${hm}` : dayLabel(x) });
    }
  } else {
    const months = step.kind === "mo" ? step.n : 12 * step.n;
    let y = d.getUTCFullYear();
    let m = d.getUTCMonth();
    for (let i = 0; i < 400; i++) {
      const t = Date.UTC(y, m, 1);
      if (t > t1) break;
      if (t >= t0 && (y * 12 + m) % months === 0) out.push({ t, label: step.kind === "y" ? String(y) : `${MONTHS[m]} ${y}` });
      m++;
      if (m === 12) {
        m = 0;
        y++;
      }
    }
  }
  return out;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** Per-database SVG timeline: one lane per destination, one mark per snapshot, gaps shaded. */
export function renderTimeline(report: AuditReport, db: AuditDatabase, index: number): string {
  const now = Date.parse(report.generatedAt);
  const maxAgeMs = maxAgeMsOf(report);
  const lanes = db.history;
  const times = lanes.flatMap((l) => l.snapshots.map((s) => Date.parse(s.createdAt))).filter((t) => !Number.isNaN(t));
  let t1 = Math.max(now, ...times);
  let t0: number;
  const minSpan = Math.max(DAY, 2 * (maxAgeMs ?? 0));
  if (times.length) t0 = Math.min(Math.min(...times), t1 - minSpan);
  else t0 = t1 - Math.max(7 * DAY, 3 * (maxAgeMs ?? 0));
  const span0 = t1 - t0;
  t0 -= 0.03 * span0;
  t1 += 0.02 * span0;
  const x = (t: number) => PLOT_X0 + ((t - t0) / (t1 - t0)) * (PLOT_X1 - PLOT_X0);
  const f = (n: number) => n.toFixed(1);

  const lanesBottom = TOP_H + lanes.length * LANE_H;
  const H = lanesBottom + AXIS_H + LEGEND_H;
  const hatch = `hatch-${index}`;
  const gapLabel = maxAgeMs !== undefined ? `gap > maxAge ${report.policy.maxAge}` : "gap > 1.5× median interval";

  // Mark size: as large as the densest lane allows.
  let minDx = Infinity;
  for (const l of lanes) {
    const xs = l.snapshots.map((s) => x(Date.parse(s.createdAt))).sort((a, b) => a - b);
    for (let i = 1; i < xs.length; i++) if (xs[i] - xs[i - 1] > 0.01) minDx = Math.min(minDx, xs[i] - xs[i - 1]);
  }
  const r = Math.max(2.5, Math.min(5.5, minDx / 2.3));

  const o: string[] = [];
  o.push(
    `<svg class="timeline" data-db="${esc(db.db)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(`Snapshot timeline of ${db.db}, one lane per destination`)}">`,
  );
  o.push(
    `<defs><pattern id="${hatch}" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
      `<rect width="8" height="8" fill="#edf0f3"/><line x1="0" y1="0" x2="0" y2="8" stroke="#b8c0c9" stroke-width="3"/></pattern></defs>`,
  );

  // Lane backgrounds first, so the grid and the maxAge window show through.
  o.push(`<g class="lane-bgs">`);
  lanes.forEach((_, i) => o.push(`<rect class="lane-bg${i % 2 ? " odd" : ""}" x="0" y="${TOP_H + i * LANE_H}" width="${W}" height="${LANE_H}"/>`));
  o.push(`</g>`);

  // Grid and date ticks.
  o.push(`<g class="axis">`);
  for (const tk of ticks(t0, t1)) {
    const tx = x(tk.t);
    o.push(`<line class="grid" x1="${f(tx)}" y1="${TOP_H}" x2="${f(tx)}" y2="${lanesBottom}"/>`);
    o.push(`<text class="tick" x="${f(tx)}" y="${lanesBottom + 16}" text-anchor="middle">${esc(tk.label)}</text>`);
  }
  o.push(`<text class="tick axis-caption" x="8" y="${lanesBottom + 16}">times in UTC</text>`);
  o.push(`</g>`);

  // The freshness window: a snapshot inside it satisfies maxAge.
  if (maxAgeMs !== undefined) {
    const fx = x(Math.max(t0, now - maxAgeMs));
    o.push(
      `<rect class="fresh-window" x="${f(fx)}" y="${TOP_H}" width="${f(x(now) - fx)}" height="${lanes.length * LANE_H}"><title>${esc(`maxAge window: snapshots newer than ${report.policy.maxAge}`)}</title></rect>`,
    );
  }

  lanes.forEach((lane, i) => {
    const y0 = TOP_H + i * LANE_H;
    const cy = y0 + LANE_H / 2;
    const kept = db.retention.find((rt) => rt.destination === lane.destination)?.kept;
    o.push(`<g class="lane${lane.reachable ? "" : " unreachable"}" data-destination="${esc(lane.destination)}">`);
    const label = truncate(lane.destination, 22);
    o.push(`<text class="lane-label" x="8" y="${f(cy + 4)}">${esc(label)}${label === lane.destination ? "" : `<title>${esc(lane.destination)}</title>`}</text>`);
    if (!lane.reachable) {
      const err = report.destinations.find((d) => d.name === lane.destination)?.error;
      o.push(
        `<rect class="unreachable-band" x="${PLOT_X0}" y="${y0 + 6}" width="${PLOT_X1 - PLOT_X0}" height="${LANE_H - 12}" fill="url(#${hatch})"><title>${esc(`${lane.destination} is unreachable${err ? `: ${err}` : ""}`)}</title></rect>`,
      );
      o.push(`<text class="unreachable-label" x="${f((PLOT_X0 + PLOT_X1) / 2)}" y="${f(cy + 4)}" text-anchor="middle">unreachable: history unknown</text>`);
      o.push(`</g>`);
      return;
    }
    o.push(`<line class="lane-line" x1="${PLOT_X0}" y1="${f(cy)}" x2="${PLOT_X1}" y2="${f(cy)}"/>`);
    for (const g of laneGaps(lane.snapshots, kept, { maxAgeMs, now: report.generatedAt })) {
      const gx0 = x(Date.parse(g.from));
      const gx1 = x(Date.parse(g.to));
      const what = g.open ? `No good copy since ${formatUtc(g.from)}: ${formatAge(g.ms)}` : `No good copy for ${formatAge(g.ms)}: ${formatUtc(g.from)} to ${formatUtc(g.to)}`;
      o.push(
        `<rect class="gap${g.open ? " gap-open" : ""}" data-from="${esc(g.from)}" data-to="${esc(g.to)}" x="${f(gx0)}" y="${y0 + 7}" width="${f(Math.max(1, gx1 - gx0))}" height="${LANE_H - 14}"><title>${esc(what)}</title></rect>`,
      );
    }
    const snaps = [...lane.snapshots].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    for (const s of snaps) {
      const sx = x(Date.parse(s.createdAt));
      const group = snapshotGroup(s.state, s.lockedUntil, report.generatedAt);
      const latest = db.latest?.snapshotId === s.snapshotId;
      if (latest) o.push(`<circle class="latest-ring" cx="${f(sx)}" cy="${f(cy)}" r="${f(r + 3.5)}"/>`);
      const tip = [
        s.snapshotId,
        `state: ${s.state}${group === "locked" ? " (locked)" : ""}`,
        `created ${formatUtc(s.createdAt)}`,
        s.lockedUntil ? `locked until ${lockText(s.lockedUntil, report.generatedAt)}` : "not locked",
        ...(latest ? ["latest snapshot"] : []),
      ].join("\n");
      o.push(
        `<circle class="snap state-${group}${latest ? " latest" : ""}" data-snapshot="${esc(s.snapshotId)}" data-state="${esc(s.state)}" cx="${f(sx)}" cy="${f(cy)}" r="${f(r)}"><title>${esc(tip)}</title></circle>`,
      );
    }
    o.push(`</g>`);
  });

  // "latest" and "now" markers on top of the lanes.
  const nx = x(now);
  if (db.latest) {
    const lx = x(Date.parse(db.latest.createdAt));
    // Next to "now" the label goes left of the line, so the two never overlap.
    const label = nx - lx < 36 ? `x="${f(lx - 5)}" text-anchor="end"` : `x="${f(lx)}" text-anchor="middle"`;
    o.push(
      `<g class="marker marker-latest"><line x1="${f(lx)}" y1="${TOP_H - 6}" x2="${f(lx)}" y2="${lanesBottom}"/><text ${label} y="${TOP_H - 9}">latest</text></g>`,
    );
  }
  o.push(`<g class="marker marker-now"><line x1="${f(nx)}" y1="${TOP_H - 20}" x2="${f(nx)}" y2="${lanesBottom}"/><text x="${f(nx)}" y="${TOP_H - 23}" text-anchor="middle">now</text></g>`);

  // Legend.
  const ly = lanesBottom + AXIS_H + 14;
  const items: [string, string][] = [
    [`<circle class="snap-key state-complete" cx="6" cy="0" r="5"/>`, GROUP_WORDS.complete],
    [`<circle class="snap-key state-locked" cx="6" cy="0" r="5"/>`, GROUP_WORDS.locked],
    [`<circle class="snap-key state-damaged" cx="6" cy="0" r="5"/>`, GROUP_WORDS.damaged],
    [`<circle class="snap-key state-orphan" cx="6" cy="0" r="5"/>`, GROUP_WORDS.orphan],
    [`<circle class="latest-ring" cx="6" cy="0" r="7"/><circle class="snap-key state-complete" cx="6" cy="0" r="4"/>`, "latest"],
    [`<rect class="gap" x="0" y="-6" width="14" height="12"/>`, gapLabel],
    ...(maxAgeMs !== undefined ? [[`<rect class="fresh-window" x="0" y="-6" width="14" height="12"/>`, "maxAge window"] as [string, string]] : []),
    [`<rect x="0" y="-6" width="14" height="12" fill="url(#${hatch})"/>`, "unreachable"],
  ];
  o.push(`<g class="legend" transform="translate(8 ${ly})">`);
  let lx = 0;
  for (const [swatch, label] of items) {
    o.push(`<g transform="translate(${f(lx)} 0)">${swatch}<text x="20" y="4">${esc(label)}</text></g>`);
    lx += 20 + label.length * 6.2 + 18;
  }
  o.push(`</g>`);
  o.push(`</svg>`);
  return o.join("\n");
}

// ---------------------------------------------------------------- page

const CSS = `
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --soft:#f5f7fa; --ok:#1f7a4d; --ok-bg:#e3f5ea; --bad:#b42318; --bad-bg:#fdecea; --warn:#9a5b00; --warn-bg:#fff4de; --lock:#2358a8; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
html { background: #eef1f5; }
body { margin: 0 auto; max-width: 1040px; padding: 28px 32px 40px; background: #fff; color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header h1 { font-size: 22px; margin: 0 0 4px; letter-spacing: -0.01em; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0 0 18px; color: var(--muted); font-size: 12.5px; }
.meta div { display: flex; gap: 5px; } .meta dt { font-weight: 600; } .meta dd { margin: 0; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
.verdict { border-radius: 8px; padding: 16px 20px; margin: 0 0 20px; border: 1px solid; display: flex; align-items: baseline; gap: 18px; flex-wrap: wrap; }
.verdict-label { font-size: 24px; font-weight: 750; letter-spacing: 0.02em; }
.verdict-detail { font-size: 13.5px; }
.verdict-compliant { background: var(--ok-bg); color: var(--ok); border-color: #a6dcbc; }
.verdict-not-compliant { background: var(--bad-bg); color: var(--bad); border-color: #f3b8b2; }
.verdict-could-not-audit { background: var(--warn-bg); color: var(--warn); border-color: #f0cf8e; }
h2 { font-size: 18px; margin: 30px 0 10px; padding-bottom: 6px; border-bottom: 2px solid var(--line); display: flex; align-items: center; gap: 10px; }
h3 { font-size: 14.5px; margin: 20px 0 8px; }
.policy { margin: 0 0 8px; font-size: 13px; }
ul.findings { margin: 0; padding-left: 20px; } ul.findings li { margin: 3px 0; }
.none { color: var(--muted); } p.none { margin: 4px 0; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; margin: 0 0 6px; }
th, td { text-align: left; vertical-align: top; padding: 6px 9px; border-bottom: 1px solid var(--line); }
thead th { background: var(--soft); font-weight: 600; border-bottom: 1px solid #bcccdc; white-space: nowrap; }
td.num, th.num { text-align: right; }
td.reason, td.detail { color: #323f4b; overflow-wrap: anywhere; }
tr.fail td { background: #fff7f6; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 11.5px; font-weight: 600; white-space: nowrap; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.info { background: #e8eefb; color: var(--lock); }
.latest-line { margin: 0 0 10px; }
figure.history { margin: 8px 0 4px; padding: 8px 6px 2px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
figure.history figcaption { font-size: 12px; color: var(--muted); padding: 0 6px 4px; }
svg.timeline { display: block; width: 100%; height: auto; font-family: inherit; }
svg .lane-bg { fill: #fff; } svg .lane-bg.odd { fill: #f7f9fb; }
svg .lane-label { font-size: 12px; font-weight: 600; fill: var(--ink); }
svg .lane-line { stroke: #cbd2d9; stroke-width: 1; }
svg .grid { stroke: #e4e7eb; stroke-width: 1; }
svg .tick { font-size: 10.5px; fill: var(--muted); }
svg .axis-caption { font-style: italic; }
svg .fresh-window { fill: #c8efd8; fill-opacity: 0.6; }
svg .gap { fill: #fbd5d0; stroke: #e5484d; stroke-width: 1; stroke-dasharray: 3 2; }
svg .unreachable-label { font-size: 11.5px; fill: #52606d; font-weight: 600; }
svg .snap, svg .snap-key { stroke-width: 1.4; }
svg .state-complete { fill: #2f9e63; stroke: #1d6b42; }
svg .state-locked { fill: #3b73c4; stroke: #173d73; }
svg .state-damaged { fill: #e5484d; stroke: #8f1d21; }
svg .state-orphan { fill: #fff; stroke: #7b8794; stroke-dasharray: 2 1.5; }
svg .latest-ring { fill: none; stroke: var(--ink); stroke-width: 1.6; }
svg .marker line { stroke-width: 1.2; stroke-dasharray: 4 3; }
svg .marker text { font-size: 10.5px; font-weight: 600; }
svg .marker-latest line { stroke: #52606d; } svg .marker-latest text { fill: #52606d; }
svg .marker-now line { stroke: var(--ink); stroke-dasharray: none; } svg .marker-now text { fill: var(--ink); }
svg .legend text { font-size: 11px; fill: #3e4c59; }
ul.kept, ul.ids { margin: 4px 0 0; padding: 0; list-style: none; font-size: 11.5px; }
ul.kept li { margin: 1px 0; } ul.kept .reasons { color: var(--muted); margin-left: 6px; }
ul.ids li { margin: 1px 0; }
ul.kept code, ul.ids code { white-space: nowrap; font-size: 11.5px; }
h2 code { font-size: 0.95em; }
time, .nowrap { white-space: nowrap; }
details summary { cursor: pointer; }
footer { margin-top: 34px; padding-top: 10px; border-top: 1px solid var(--line); color: var(--muted); font-size: 11.5px; }
@media print {
  html { background: #fff; }
  body { max-width: none; padding: 0; font-size: 11px; }
  @page { margin: 14mm 12mm; }
  section.database { break-before: page; }
  table, figure.history, .verdict { break-inside: avoid; }
  tr { break-inside: avoid; }
  details summary { list-style: none; }
  details summary::-webkit-details-marker { display: none; }
}
`;

function badge(kind: "ok" | "bad" | "warn" | "info", text: string): string {
  return `<span class="badge ${kind}">${esc(text)}</span>`;
}

function timeTag(iso: string | undefined, text?: string): string {
  if (!iso) return "";
  return `<time datetime="${esc(iso)}">${esc(text ?? formatUtc(iso))}</time>`;
}

/** A table cell: raw (already escaped) HTML, optionally with a class. */
type Cell = string | { cls: string; html: string };

function td(cls: string, html: string): Cell {
  return { cls, html };
}

function tableHtml(cls: string, head: (string | [string, string])[], rows: { cls?: string; cells: Cell[] }[]): string {
  const th = head.map((h) => (Array.isArray(h) ? `<th scope="col" class="${h[1]}">${esc(h[0])}</th>` : `<th scope="col">${esc(h)}</th>`)).join("");
  const cell = (c: Cell) => (typeof c === "string" ? `<td>${c}</td>` : `<td class="${c.cls}">${c.html}</td>`);
  const body = rows.map((r) => `<tr${r.cls ? ` class="${r.cls}"` : ""}>${r.cells.map(cell).join("")}</tr>`);
  return `<table class="${cls}">\n<thead><tr>${th}</tr></thead>\n<tbody>\n${body.join("\n")}\n</tbody>\n</table>`;
}

/** Retention's reasons, shorter for a table: "daily snapshot" → "daily", lock dates readable. */
function shortReason(reason: string): string {
  const lock = /^under Object Lock until (\S+)$/.exec(reason);
  if (lock) return `locked until ${formatUtc(lock[1]).slice(0, 10)}`;
  return reason.replace(/ snapshot$/, "");
}

function copyStateBadge(state: string): string {
  if (state === "complete") return badge("ok", state);
  if (state === "absent" || state === "unreachable" || state === "orphan") return badge("warn", state);
  return badge("bad", state);
}

function renderDatabase(report: AuditReport, db: AuditDatabase, index: number): string {
  const at = report.generatedAt;
  const o: string[] = [];
  o.push(`<section class="database" data-db="${esc(db.db)}">`);
  o.push(`<h2>Database <code>${esc(db.db)}</code> ${db.policy.pass ? badge("ok", "policy met") : badge("bad", "policy NOT met")}</h2>`);

  const fresh = freshnessOf(report, db);
  const freshBadge = fresh.ok === true ? badge("ok", "fresh") : fresh.ok === false ? badge("bad", "stale") : "";
  o.push(
    db.latest
      ? `<p class="latest-line"><strong>Latest snapshot:</strong> <code>${esc(db.latest.snapshotId)}</code>, created ${timeTag(db.latest.createdAt)}: ${esc(fresh.text)} ${freshBadge}</p>`
      : `<p class="latest-line"><strong>Latest snapshot:</strong> none: ${esc(fresh.text)} ${freshBadge}</p>`,
  );

  o.push(`<figure class="history">`);
  o.push(`<figcaption>History of <code>${esc(db.db)}</code> on every destination, oldest snapshot to ${esc(formatUtc(at))}. Hover a mark for details.</figcaption>`);
  o.push(renderTimeline(report, db, index));
  o.push(`</figure>`);

  o.push(`<h3>3-2-1 rules</h3>`);
  o.push(
    tableHtml(
      "rules",
      ["Rule", "Required", "Actual", "Result", "Reason"],
      db.policy.rules.map((r) => ({
        cls: r.pass ? "pass" : "fail",
        cells: [`<strong>${esc(r.rule)}</strong>`, esc(r.required), esc(r.actual), r.pass ? badge("ok", "pass") : badge("bad", "FAIL"), td("reason", esc(r.reason))],
      })),
    ),
  );

  o.push(`<h3>Copies of the latest snapshot${db.latest ? ` <code>${esc(db.latest.snapshotId)}</code>` : ""}</h3>`);
  o.push(
    tableHtml(
      "copies",
      ["Destination", "State", "Verified", "Locked until", "Last deep check", "Detail"],
      db.latestCopies.map((c) => ({
        cls: c.verified ? "pass" : "fail",
        cells: [
          esc(c.destination),
          copyStateBadge(c.state),
          c.verified ? badge("ok", "yes") : badge("bad", "no"),
          c.lockedUntil ? timeTag(c.lockedUntil, lockText(c.lockedUntil, at)) : `<span class="none">not locked</span>`,
          c.lastDeepCheck ? (c.lastDeepCheck.ok ? esc(deepCheckText(c.lastDeepCheck)) : `<strong>${esc(deepCheckText(c.lastDeepCheck))}</strong>`) : "never",
          td("detail", esc(c.detail)),
        ],
      })),
    ),
  );

  o.push(`<h3>Retention coverage</h3>`);
  if (db.retention.length === 0) o.push(`<p class="none">No reachable destination to judge retention on.</p>`);
  else
    o.push(
      tableHtml(
        "retention",
        ["Destination", "Policy", "Kept, and why", "Overdue", "Status"],
        db.retention.map((r) => ({
          cls: r.matchesPolicy ? "pass" : "fail",
          cells: [
            esc(r.destination),
            esc(r.policy),
            r.kept.length === 0
              ? "nothing (no complete copy)"
              : `<details open><summary>${r.kept.length} snapshot${r.kept.length === 1 ? "" : "s"}</summary><ul class="kept">${r.kept
                  .map((k) => `<li><code>${esc(k.snapshotId)}</code> <span class="reasons">${esc(k.reasons.map(shortReason).join(" · "))}</span></li>`)
                  .join("")}</ul></details>`,
            r.overdue.length === 0 ? "none" : `<ul class="ids">${r.overdue.map((id) => `<li><code>${esc(id)}</code></li>`).join("")}</ul>`,
            r.matchesPolicy ? badge("ok", "matches policy") : `${badge("warn", `${r.overdue.length} overdue`)}<br><span class="none">run triplicate prune</span>`,
          ],
        })),
      ),
    );
  const unreachable = db.history.filter((h) => !h.reachable).map((h) => h.destination);
  if (unreachable.length) o.push(`<p class="none">Not judged (unreachable): ${unreachable.map(esc).join(", ")}.</p>`);

  o.push(`<h3>Damaged copies</h3>`);
  if (db.damaged.length === 0) o.push(`<p class="none">None.</p>`);
  else
    o.push(
      tableHtml(
        "damaged",
        ["Destination", "Snapshot", "State", "Detail"],
        db.damaged.map((d) => ({ cells: [esc(d.destination), `<code>${esc(d.snapshotId)}</code>`, badge("bad", d.state), td("detail", esc(d.detail))] })),
      ),
    );

  o.push(`<h3>Orphans <span class="none">(artifacts without a manifest)</span></h3>`);
  if (db.orphans.length === 0) o.push(`<p class="none">None.</p>`);
  else o.push(tableHtml("orphans", ["Destination", "Key"], db.orphans.map((x) => ({ cells: [esc(x.destination), `<code>${esc(x.key)}</code>`] }))));

  o.push(`</section>`);
  return o.join("\n");
}

export function renderAuditHtml(report: AuditReport): string {
  const at = report.generatedAt;
  const words = verdictWords(report.verdict);
  const unreachable = report.destinations.filter((d) => !d.reachable).length;
  const o: string[] = [];
  o.push(`<!DOCTYPE html>`);
  o.push(`<html lang="en">`);
  o.push(`<head>`);
  o.push(`<meta charset="utf-8">`);
  o.push(`<meta name="viewport" content="width=device-width, initial-scale=1">`);
  // Nothing in this file may load anything: no scripts, no fonts, no images from anywhere.
  o.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
  o.push(`<meta name="generator" content="${esc(`triplicate ${report.toolVersion}`)}">`);
  o.push(`<title>${esc(`Triplicate audit: ${words} (${formatUtc(at)})`)}</title>`);
  o.push(`<style>${CSS}</style>`);
  o.push(`</head>`);
  o.push(`<body>`);
  o.push(`<header>`);
  o.push(`<h1>Triplicate compliance audit</h1>`);
  o.push(
    `<dl class="meta">` +
      `<div><dt>Generated</dt><dd>${timeTag(at)}</dd></div>` +
      `<div><dt>Tool</dt><dd>triplicate ${esc(report.toolVersion)}</dd></div>` +
      `<div><dt>Config</dt><dd><code>${esc(report.configPath)}</code></dd></div>` +
      `<div><dt>Deep check</dt><dd>${report.deep ? "run now" : "not run (last results shown)"}</dd></div>` +
      `<div><dt>Schema</dt><dd>${esc(report.schema)}</dd></div>` +
      `</dl>`,
  );
  o.push(`</header>`);

  o.push(
    `<section class="verdict verdict-${esc(report.verdict)}" role="status" data-verdict="${esc(report.verdict)}">` +
      `<div class="verdict-label">${esc(words)}</div>` +
      `<div class="verdict-detail">${report.findings.length} finding${report.findings.length === 1 ? "" : "s"} · exit code ${esc(report.exitCode)} · ` +
      `${report.databases.length} database${report.databases.length === 1 ? "" : "s"} · ${report.destinations.length} destination${report.destinations.length === 1 ? "" : "s"}` +
      `${unreachable ? ` (${unreachable} unreachable)` : ""}</div>` +
      `</section>`,
  );

  o.push(`<p class="policy"><strong>Policy:</strong> ${esc(policySummary(report))}</p>`);

  o.push(`<h2>Findings</h2>`);
  if (report.findings.length === 0) o.push(`<p class="none">None: every rule is met on every database and every destination is healthy.</p>`);
  else o.push(`<ul class="findings">\n${report.findings.map((f) => `<li>${esc(f)}</li>`).join("\n")}\n</ul>`);

  o.push(`<h2>Destinations</h2>`);
  o.push(
    tableHtml(
      "destinations",
      ["Destination", "Type", "Medium", "Offsite", "Reachable", "Retention policy", ["Snapshots", "num"]],
      report.destinations.map((d) => ({
        cls: d.reachable ? "pass" : "fail",
        cells: [
          `<strong>${esc(d.name)}</strong>`,
          td("nowrap", esc(d.type)),
          td("nowrap", esc(d.medium)),
          d.offsite ? "yes" : "no",
          d.reachable ? badge("ok", "yes") : td("detail", `${badge("bad", "unreachable")} ${esc(d.error ?? "unknown error")}`),
          esc(d.retention),
          td("num", d.reachable ? esc(d.snapshots) : `<span class="none">unknown</span>`),
        ],
      })),
    ),
  );

  report.databases.forEach((db, i) => o.push(renderDatabase(report, db, i)));

  o.push(`<footer>Generated by triplicate ${esc(report.toolVersion)} at ${esc(formatUtc(at))} from the live inventory of every destination · ${esc(report.schema)}</footer>`);
  o.push(`</body>`);
  o.push(`</html>`);
  return `${o.join("\n")}\n`;
}
