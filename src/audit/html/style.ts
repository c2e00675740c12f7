/** The whole stylesheet, inlined into <style> so the page loads nothing; the print rules put each database on its own page. */
export const CSS = `
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
