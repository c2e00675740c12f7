import type { AuditDatabase, AuditReport } from "../build.js";
import { formatUtc, lockText, maxAgeMsOf, snapshotGroup, type SnapshotGroup } from "../words.js";
import { formatAge } from "../../runtime/duration.js";
import { escapeHtml as esc } from "./elements.js";
import { laneGaps } from "./gaps.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

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

/** What every piece of one database's timeline needs: the report, the time range and where a time falls on the x axis. */
interface Plot {
  report: AuditReport;
  db: AuditDatabase;
  now: number;
  maxAgeMs: number | undefined;
  t0: number;
  t1: number;
  x: (t: number) => number;
  lanesBottom: number;
  /** Id of the unreachable-lane pattern; one per database keeps ids unique in the page. */
  hatch: string;
  /** Radius of a snapshot mark. */
  r: number;
}

type Lane = AuditDatabase["history"][number];

const f = (n: number) => n.toFixed(1);

/** Per-database SVG timeline: one lane per destination, one mark per snapshot, gaps shaded. */
export function renderTimeline(report: AuditReport, db: AuditDatabase, index: number): string {
  const p = plotOf(report, db, index);
  const H = p.lanesBottom + AXIS_H + LEGEND_H;
  const o: string[] = [];
  o.push(
    `<svg class="timeline" data-db="${esc(db.db)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(`Snapshot timeline of ${db.db}, one lane per destination`)}">`,
  );
  o.push(
    `<defs><pattern id="${p.hatch}" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
      `<rect width="8" height="8" fill="#edf0f3"/><line x1="0" y1="0" x2="0" y2="8" stroke="#b8c0c9" stroke-width="3"/></pattern></defs>`,
  );
  // Lane backgrounds first, so the grid and the maxAge window show through.
  o.push(...laneBackgrounds(db.history.length));
  o.push(...axis(p));
  o.push(...freshWindow(p));
  db.history.forEach((lane, i) => o.push(...renderLane(p, lane, i)));
  o.push(...markers(p));
  o.push(...legend(p));
  o.push(`</svg>`);
  return o.join("\n");
}

function plotOf(report: AuditReport, db: AuditDatabase, index: number): Plot {
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

  // Mark size: as large as the densest lane allows.
  let minDx = Infinity;
  for (const l of lanes) {
    const xs = l.snapshots.map((s) => x(Date.parse(s.createdAt))).sort((a, b) => a - b);
    for (let i = 1; i < xs.length; i++) if (xs[i] - xs[i - 1] > 0.01) minDx = Math.min(minDx, xs[i] - xs[i - 1]);
  }
  const r = Math.max(2.5, Math.min(5.5, minDx / 2.3));
  return { report, db, now, maxAgeMs, t0, t1, x, lanesBottom: TOP_H + lanes.length * LANE_H, hatch: `hatch-${index}`, r };
}

function laneBackgrounds(count: number): string[] {
  const o = [`<g class="lane-bgs">`];
  for (let i = 0; i < count; i++) o.push(`<rect class="lane-bg${i % 2 ? " odd" : ""}" x="0" y="${TOP_H + i * LANE_H}" width="${W}" height="${LANE_H}"/>`);
  o.push(`</g>`);
  return o;
}

/** Grid and date ticks. */
function axis(p: Plot): string[] {
  const o = [`<g class="axis">`];
  for (const tk of ticks(p.t0, p.t1)) {
    const tx = p.x(tk.t);
    o.push(`<line class="grid" x1="${f(tx)}" y1="${TOP_H}" x2="${f(tx)}" y2="${p.lanesBottom}"/>`);
    o.push(`<text class="tick" x="${f(tx)}" y="${p.lanesBottom + 16}" text-anchor="middle">${esc(tk.label)}</text>`);
  }
  o.push(`<text class="tick axis-caption" x="8" y="${p.lanesBottom + 16}">times in UTC</text>`);
  o.push(`</g>`);
  return o;
}

/** The freshness window: a snapshot inside it satisfies maxAge. */
function freshWindow(p: Plot): string[] {
  if (p.maxAgeMs === undefined) return [];
  const fx = p.x(Math.max(p.t0, p.now - p.maxAgeMs));
  return [
    `<rect class="fresh-window" x="${f(fx)}" y="${TOP_H}" width="${f(p.x(p.now) - fx)}" height="${p.db.history.length * LANE_H}"><title>${esc(`maxAge window: snapshots newer than ${p.report.policy.maxAge}`)}</title></rect>`,
  ];
}

function renderLane(p: Plot, lane: Lane, i: number): string[] {
  const y0 = TOP_H + i * LANE_H;
  const cy = y0 + LANE_H / 2;
  const o: string[] = [];
  o.push(`<g class="lane${lane.reachable ? "" : " unreachable"}" data-destination="${esc(lane.destination)}">`);
  const label = truncate(lane.destination, 22);
  o.push(`<text class="lane-label" x="8" y="${f(cy + 4)}">${esc(label)}${label === lane.destination ? "" : `<title>${esc(lane.destination)}</title>`}</text>`);
  if (!lane.reachable) o.push(...unreachableBand(p, lane, y0, cy));
  else {
    o.push(`<line class="lane-line" x1="${PLOT_X0}" y1="${f(cy)}" x2="${PLOT_X1}" y2="${f(cy)}"/>`);
    o.push(...gapRects(p, lane, y0));
    o.push(...snapshotMarks(p, lane, cy));
  }
  o.push(`</g>`);
  return o;
}

function unreachableBand(p: Plot, lane: Lane, y0: number, cy: number): string[] {
  const err = p.report.destinations.find((d) => d.name === lane.destination)?.error;
  return [
    `<rect class="unreachable-band" x="${PLOT_X0}" y="${y0 + 6}" width="${PLOT_X1 - PLOT_X0}" height="${LANE_H - 12}" fill="url(#${p.hatch})"><title>${esc(`${lane.destination} is unreachable${err ? `: ${err}` : ""}`)}</title></rect>`,
    `<text class="unreachable-label" x="${f((PLOT_X0 + PLOT_X1) / 2)}" y="${f(cy + 4)}" text-anchor="middle">unreachable: history unknown</text>`,
  ];
}

function gapRects(p: Plot, lane: Lane, y0: number): string[] {
  const kept = p.db.retention.find((rt) => rt.destination === lane.destination)?.kept;
  return laneGaps(lane.snapshots, kept, { maxAgeMs: p.maxAgeMs, now: p.report.generatedAt }).map((g) => {
    const gx0 = p.x(Date.parse(g.from));
    const gx1 = p.x(Date.parse(g.to));
    const what = g.open ? `No good copy since ${formatUtc(g.from)}: ${formatAge(g.ms)}` : `No good copy for ${formatAge(g.ms)}: ${formatUtc(g.from)} to ${formatUtc(g.to)}`;
    return `<rect class="gap${g.open ? " gap-open" : ""}" data-from="${esc(g.from)}" data-to="${esc(g.to)}" x="${f(gx0)}" y="${y0 + 7}" width="${f(Math.max(1, gx1 - gx0))}" height="${LANE_H - 14}"><title>${esc(what)}</title></rect>`;
  });
}

function snapshotMarks(p: Plot, lane: Lane, cy: number): string[] {
  const at = p.report.generatedAt;
  const o: string[] = [];
  const snaps = [...lane.snapshots].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  for (const s of snaps) {
    const sx = p.x(Date.parse(s.createdAt));
    const group = snapshotGroup(s.state, s.lockedUntil, at);
    const latest = p.db.latest?.snapshotId === s.snapshotId;
    if (latest) o.push(`<circle class="latest-ring" cx="${f(sx)}" cy="${f(cy)}" r="${f(p.r + 3.5)}"/>`);
    const tip = [
      s.snapshotId,
      `state: ${s.state}${group === "locked" ? " (locked)" : ""}`,
      `created ${formatUtc(s.createdAt)}`,
      s.lockedUntil ? `locked until ${lockText(s.lockedUntil, at)}` : "not locked",
      ...(latest ? ["latest snapshot"] : []),
    ].join("\n");
    o.push(
      `<circle class="snap state-${group}${latest ? " latest" : ""}" data-snapshot="${esc(s.snapshotId)}" data-state="${esc(s.state)}" cx="${f(sx)}" cy="${f(cy)}" r="${f(p.r)}"><title>${esc(tip)}</title></circle>`,
    );
  }
  return o;
}

/** "latest" and "now" markers on top of the lanes. */
function markers(p: Plot): string[] {
  const o: string[] = [];
  const nx = p.x(p.now);
  if (p.db.latest) {
    const lx = p.x(Date.parse(p.db.latest.createdAt));
    // Next to "now" the label goes left of the line, so the two never overlap.
    const label = nx - lx < 36 ? `x="${f(lx - 5)}" text-anchor="end"` : `x="${f(lx)}" text-anchor="middle"`;
    o.push(
      `<g class="marker marker-latest"><line x1="${f(lx)}" y1="${TOP_H - 6}" x2="${f(lx)}" y2="${p.lanesBottom}"/><text ${label} y="${TOP_H - 9}">latest</text></g>`,
    );
  }
  o.push(`<g class="marker marker-now"><line x1="${f(nx)}" y1="${TOP_H - 20}" x2="${f(nx)}" y2="${p.lanesBottom}"/><text x="${f(nx)}" y="${TOP_H - 23}" text-anchor="middle">now</text></g>`);
  return o;
}

function legend(p: Plot): string[] {
  const gapLabel = p.maxAgeMs !== undefined ? `gap > maxAge ${p.report.policy.maxAge}` : "gap > 1.5× median interval";
  const ly = p.lanesBottom + AXIS_H + 14;
  const items: [string, string][] = [
    [`<circle class="snap-key state-complete" cx="6" cy="0" r="5"/>`, GROUP_WORDS.complete],
    [`<circle class="snap-key state-locked" cx="6" cy="0" r="5"/>`, GROUP_WORDS.locked],
    [`<circle class="snap-key state-damaged" cx="6" cy="0" r="5"/>`, GROUP_WORDS.damaged],
    [`<circle class="snap-key state-orphan" cx="6" cy="0" r="5"/>`, GROUP_WORDS.orphan],
    [`<circle class="latest-ring" cx="6" cy="0" r="7"/><circle class="snap-key state-complete" cx="6" cy="0" r="4"/>`, "latest"],
    [`<rect class="gap" x="0" y="-6" width="14" height="12"/>`, gapLabel],
    ...(p.maxAgeMs !== undefined ? [[`<rect class="fresh-window" x="0" y="-6" width="14" height="12"/>`, "maxAge window"] as [string, string]] : []),
    [`<rect x="0" y="-6" width="14" height="12" fill="url(#${p.hatch})"/>`, "unreachable"],
  ];
  const o = [`<g class="legend" transform="translate(8 ${ly})">`];
  let lx = 0;
  for (const [swatch, label] of items) {
    o.push(`<g transform="translate(${f(lx)} 0)">${swatch}<text x="20" y="4">${esc(label)}</text></g>`);
    lx += 20 + label.length * 6.2 + 18;
  }
  o.push(`</g>`);
  return o;
}
