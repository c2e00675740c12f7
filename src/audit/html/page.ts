/*
 * The audit report as ONE self-contained HTML5 file: inline CSS, inline SVG,
 * no script, no external fetch of any kind (a Content-Security-Policy says so
 * too), readable on screen and on paper. Every string that comes from the
 * report is escaped: destination names, error messages and details are data,
 * never markup.
 */
import type { AuditDatabase, AuditReport } from "../build.js";
import { deepCheckText, formatUtc, freshnessOf, lockText, policySummary, verdictWords } from "../words.js";
import { badge, escapeHtml as esc, tableHtml, td, timeTag } from "./elements.js";
import { CSS } from "./style.js";
import { renderTimeline } from "./timeline.js";

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
