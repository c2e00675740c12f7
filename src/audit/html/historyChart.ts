/**
 * The run-history section of the HTML audit: success-rate bars, one inline
 * SVG chart per database (artifact size as bars, duration as a line, failed
 * and degraded runs marked, jumps circled), and the per-destination table of
 * free space and measured RTO. Inline attributes only: the page loads nothing.
 */
import type { Rate, RunHistorySummary, TrendPoint } from "../../history/summarize.js";
import { formatBytes } from "../../runtime/format.js";
import { freeText, jumpText, lastBackupText, msText, rateText, rtoText } from "../historyWords.js";
import { escapeHtml as esc, tableHtml, td } from "./elements.js";

const W = 960;
const H = 230;
const PAD = { left: 64, right: 64, top: 14, bottom: 34 };
const COLOUR = { ok: "#1f7a4d", degraded: "#c77d00", failed: "#b42318", size: "#9fb3c8", line: "#2358a8", grid: "#e4e7eb", ink: "#616e7c" };

export function historySectionHtml(h: RunHistorySummary | undefined, generatedAt: string): string {
  if (!h) return "";
  const o: string[] = [`<section class="run-history" data-records="${h.records}">`, `<h2>Run history <span class="none">(last ${h.windowDays} days)</span></h2>`];
  o.push(`<p>Read from the run records on the destinations (<code>history/</code>): ${h.records} run(s) since ${esc(h.from.slice(0, 10))}; ${esc(lastBackupText(h))}.</p>`);
  o.push(rateBar("Backups, 30 days", h.backups.last30d), rateBar("Backups, 90 days", h.backups.last90d), rateBar("Verify runs, 90 days", h.verifies.last90d));
  const jumps = h.trend.flatMap((t) => t.jumps.map((j) => jumpText(t.db, j)));
  if (jumps.length) o.push(`<h3>Stands out</h3>`, `<ul class="findings">${jumps.map((j) => `<li>${esc(j)}</li>`).join("")}</ul>`);
  const t0 = Date.parse(h.from);
  const t1 = Date.parse(generatedAt);
  for (const t of h.trend) {
    o.push(`<figure class="history"><figcaption>Backups of <code>${esc(t.db)}</code>: artifact size (bars, left axis) and duration (line, right axis); red and amber ticks are failed and degraded runs.</figcaption>`);
    o.push(chart(t.points, t.jumps.map((j) => j.at), t0, t1, t.db));
    o.push(`</figure>`);
  }
  o.push(`<h3>Per destination</h3>`);
  o.push(
    tableHtml(
      "history-destinations",
      ["Destination", "Free space", ["Run records", "num"], "Restore tests (RTO)", "Real restores (RTO)"],
      h.destinations.map((d) => {
        const test = h.restoreTests.find((r) => r.destination === d.destination);
        const real = h.restores.find((r) => r.destination === d.destination);
        return {
          cells: [
            `<strong>${esc(d.destination)}</strong>`,
            esc(freeText(d)),
            td("num", d.records === null ? `<span class="none">unknown</span>` : esc(d.records)),
            test ? esc(rtoText(test)) : `<span class="none">none</span>`,
            real ? esc(rtoText(real)) : `<span class="none">none</span>`,
          ],
        };
      }),
    ),
  );
  if (h.notes.length) o.push(`<ul>${h.notes.map((n) => `<li class="none">${esc(n)}</li>`).join("")}</ul>`);
  o.push(`</section>`);
  return o.join("\n");
}

/** A stacked bar: ok, degraded, failed shares of the runs. */
function rateBar(label: string, r: Rate): string {
  const w = 360;
  const seg = (n: number, x: number, colour: string) => (n ? `<rect x="${x}" y="0" width="${(n / r.runs) * w}" height="14" fill="${colour}"/>` : "");
  const okW = r.runs ? (r.ok / r.runs) * w : 0;
  const dW = r.runs ? (r.degraded / r.runs) * w : 0;
  const bars = r.runs ? seg(r.ok, 0, COLOUR.ok) + seg(r.degraded, okW, COLOUR.degraded) + seg(r.failed, okW + dW, COLOUR.failed) : `<rect x="0" y="0" width="${w}" height="14" fill="${COLOUR.grid}"/>`;
  return (
    `<div class="rate"><svg class="rate-bar" role="img" width="${w}" height="14" viewBox="0 0 ${w} 14"><title>${esc(`${label}: ${rateText(r)}`)}</title>${bars}</svg> ` +
    `<strong>${esc(label)}</strong>: ${esc(rateText(r))}</div>`
  );
}

function chart(points: TrendPoint[], jumpsAt: string[], t0: number, t1: number, db: string): string {
  const span = Math.max(1, t1 - t0);
  const x = (at: string) => PAD.left + ((Date.parse(at) - t0) / span) * (W - PAD.left - PAD.right);
  const plotH = H - PAD.top - PAD.bottom;
  const base = PAD.top + plotH;
  const sized = points.filter((p) => p.artifactBytes !== undefined);
  const timed = points.filter((p) => p.durationMs !== undefined);
  const maxBytes = Math.max(1, ...sized.map((p) => p.artifactBytes!));
  const maxMs = Math.max(1, ...timed.map((p) => p.durationMs!));
  const yB = (b: number) => base - (b / maxBytes) * plotH;
  const yMs = (ms: number) => base - (ms / maxMs) * plotH;
  const o: string[] = [`<svg class="history-chart" role="img" viewBox="0 0 ${W} ${H}" width="100%" data-db="${esc(db)}"><title>${esc(`Backups of ${db}: size and duration`)}</title>`];
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + (plotH * i) / 4;
    o.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="${COLOUR.grid}"/>`);
  }
  o.push(axisLabel(PAD.left - 6, PAD.top + 4, "end", formatBytes(maxBytes)), axisLabel(PAD.left - 6, base, "end", "0"));
  o.push(axisLabel(W - PAD.right + 6, PAD.top + 4, "start", msText(maxMs)), axisLabel(W - PAD.right + 6, base, "start", "0 s"));
  o.push(axisLabel(PAD.left, H - 8, "start", new Date(t0).toISOString().slice(0, 10)), axisLabel(W - PAD.right, H - 8, "end", new Date(t1).toISOString().slice(0, 10)));
  const barW = Math.max(2, Math.min(10, (W - PAD.left - PAD.right) / Math.max(1, sized.length) / 2));
  for (const p of sized) {
    o.push(`<rect x="${(x(p.at) - barW / 2).toFixed(1)}" y="${yB(p.artifactBytes!).toFixed(1)}" width="${barW.toFixed(1)}" height="${(base - yB(p.artifactBytes!)).toFixed(1)}" fill="${COLOUR.size}"><title>${esc(`${p.at}: ${formatBytes(p.artifactBytes!)} artifact, ${formatBytes(p.rawBytes ?? 0)} raw`)}</title></rect>`);
  }
  if (timed.length) {
    o.push(`<polyline fill="none" stroke="${COLOUR.line}" stroke-width="1.5" points="${timed.map((p) => `${x(p.at).toFixed(1)},${yMs(p.durationMs!).toFixed(1)}`).join(" ")}"/>`);
    for (const p of timed) {
      const jump = jumpsAt.includes(p.at);
      o.push(`<circle cx="${x(p.at).toFixed(1)}" cy="${yMs(p.durationMs!).toFixed(1)}" r="${jump ? 5 : 2.5}" fill="${jump ? "none" : COLOUR.line}" stroke="${jump ? COLOUR.failed : "none"}" stroke-width="2"><title>${esc(`${p.at}: ${msText(p.durationMs)}${jump ? " (stands out)" : ""}`)}</title></circle>`);
    }
  }
  for (const p of points.filter((q) => q.verdict !== "ok")) {
    o.push(`<rect class="run-${p.verdict}" x="${(x(p.at) - 1.5).toFixed(1)}" y="${base + 2}" width="3" height="8" fill="${p.verdict === "failed" ? COLOUR.failed : COLOUR.degraded}"><title>${esc(`${p.at}: ${p.verdict}`)}</title></rect>`);
  }
  if (!points.length) o.push(axisLabel(W / 2, PAD.top + plotH / 2, "middle", "no backup recorded in the window"));
  o.push(`</svg>`);
  return o.join("");
}

function axisLabel(x: number, y: number, anchor: "start" | "end" | "middle", text: string): string {
  return `<text x="${x}" y="${y}" text-anchor="${anchor}" font-size="10.5" fill="${COLOUR.ink}">${esc(text)}</text>`;
}
