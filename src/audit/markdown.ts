import type { AuditDatabase, AuditReport } from "./build.js";
import { encryptionText } from "./encryption.js";

import { historyMarkdown } from "./historyMarkdown.js";
import { deepCheckText, formatUtc, freshnessOf, lockText, policySummary, proofText, verdictWords } from "./words.js";

/*
 * The audit report as Markdown, for people and tickets. Pure: the same report
 * always gives the same text. The words it shares with the HTML renderer
 * (html/page.ts) are in words.ts.
 */

/** Inline text: Markdown and raw-HTML syntax is escaped so a message shows as written. */
export function mdText(s: string | number | boolean | undefined | null): string {
  return String(s ?? "")
    .replace(/\r\n?|\n/g, " ")
    .replace(/[\\`*[\]<>|]/g, (c) => `\\${c}`)
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, "\\_");
}

/** A table cell: like mdText, but newlines become <br> so a multi-line message keeps its lines. */
export function mdCell(s: string | number | boolean | undefined | null): string {
  return String(s ?? "")
    .split(/\r\n?|\n/)
    .map((line) => mdText(line))
    .join("<br>");
}

/** Code span for ids and keys (a backtick inside falls back to escaped text). */
function code(s: string): string {
  return /[`|\r\n]/.test(s) ? mdText(s) : `\`${s}\``;
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

const VERDICT_ICON: Record<AuditReport["verdict"], string> = { compliant: "✅", "not-compliant": "❌", "could-not-audit": "⚠️" };

export function renderAuditMarkdown(report: AuditReport): string {
  const out: string[] = [];
  const at = report.generatedAt;
  out.push(`# Triplicate audit: ${VERDICT_ICON[report.verdict] ?? ""} ${verdictWords(report.verdict)}`.replace(/ {2,}/g, " "));
  out.push("");
  out.push(
    `Generated ${formatUtc(at)} by triplicate ${mdText(report.toolVersion)} · config ${code(report.configPath)} · ` +
      `deep check: ${report.deep ? "run now" : "not run (last results shown)"} · exit code ${report.exitCode} · schema \`${report.schema}\``,
  );
  out.push("");
  out.push(`**Policy:** ${policySummary(report)}`);
  out.push("");

  out.push("## Findings", "");
  if (report.findings.length === 0) out.push("None: every rule is met on every database and every destination is healthy.");
  else for (const f of report.findings) out.push(`- ${mdText(f)}`);
  out.push("");

  out.push("## Destinations", "");
  out.push(
    ...table(
      ["Destination", "Type", "Medium", "Offsite", "Reachable", "Retention policy", "Snapshots"],
      report.destinations.map((d) => [
        mdCell(d.name),
        mdCell(d.type),
        mdCell(d.medium),
        d.offsite ? "yes" : "no",
        d.reachable ? "yes" : `**NO**: ${mdCell(d.error ?? "unknown error")}`,
        mdCell(d.retention),
        d.reachable ? String(d.snapshots) : "unknown",
      ]),
    ),
  );
  out.push("");

  for (const db of report.databases) out.push(...renderDatabase(report, db));
  out.push(...historyMarkdown(report.runHistory));
  return `${out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}

function renderDatabase(report: AuditReport, db: AuditDatabase): string[] {
  const out: string[] = [];
  out.push(`## Database ${code(db.db)}: ${db.policy.pass ? "✅ policy met" : "❌ policy NOT met"}`, "");
  out.push(latestLine(report, db), "");
  out.push("### 3-2-1 rules", "");
  out.push(
    ...table(
      ["Rule", "Required", "Actual", "Result", "Reason"],
      db.policy.rules.map((r) => [mdCell(r.rule), mdCell(r.required), mdCell(r.actual), r.pass ? "pass" : "**FAIL**", mdCell(r.reason)]),
    ),
  );
  out.push("");
  out.push(...copiesSection(db, report.generatedAt), "");
  out.push(...retentionSection(db), "");
  out.push(...damagedSection(db), "");
  out.push(...orphansSection(db), "");
  if (db.foreign.length) out.push(...foreignSection(db), "");
  return out;
}

function latestLine(report: AuditReport, db: AuditDatabase): string {
  const fresh = freshnessOf(report, db);
  if (!db.latest) return `**Latest snapshot:** none: ${fresh.text}.`;
  const age = fresh.ok === false ? `**${fresh.text}**` : fresh.text;
  // An unchanged night: the age counts from when a backup last found the source equal to it.
  const seen = db.latest.unchangedAt ? `, source found unchanged ${formatUtc(db.latest.unchangedAt)}` : "";
  return `**Latest snapshot:** ${code(db.latest.snapshotId)}, created ${formatUtc(db.latest.createdAt)}${seen}, ${age}.`;
}

function copiesSection(db: AuditDatabase, at: string): string[] {
  return [
    db.latest ? `### Copies of the latest snapshot (${code(db.latest.snapshotId)})` : "### Copies of the latest snapshot",
    "",
    ...table(
      ["Destination", "State", "Verified", "Proof", "Locked until", "Last deep check", "Encrypted", "Detail"],
      db.latestCopies.map((c) => [
        mdCell(c.destination),
        c.state === "complete" ? "complete" : `**${mdCell(c.state)}**`,
        c.verified ? "yes" : "no",
        mdCell(proofText(c.proof)),
        mdCell(lockText(c.lockedUntil, at)),
        mdCell(deepCheckText(c.lastDeepCheck)),
        mdCell(encryptionText(c.encryption)),
        mdCell(c.detail),
      ]),
    ),
  ];
}

function retentionSection(db: AuditDatabase): string[] {
  const out = ["### Retention coverage", ""];
  const unreachable = db.history.filter((h) => !h.reachable).map((h) => h.destination);
  if (db.retention.length === 0) out.push("No reachable destination to judge retention on.");
  else {
    out.push(
      ...table(
        ["Destination", "Policy", "Kept", "Overdue", "Matches policy"],
        db.retention.map((r) => [
          mdCell(r.destination),
          mdCell(r.policy),
          String(r.kept.length),
          String(r.overdue.length),
          r.matchesPolicy ? "yes" : "**NO**: run `triplicate prune`",
        ]),
      ),
    );
    for (const r of db.retention) out.push(...retentionDetail(r));
  }
  if (unreachable.length) out.push("", `Not judged (unreachable): ${unreachable.map(mdText).join(", ")}.`);
  return out;
}

/** One destination's kept snapshots with their reasons, and the overdue ones. */
function retentionDetail(r: AuditDatabase["retention"][number]): string[] {
  const out = ["", `#### ${mdText(r.destination)} (${mdText(r.policy)})`, ""];
  if (r.kept.length === 0) out.push("Keeps nothing: it holds no complete copy.");
  else {
    out.push(`Kept (${r.kept.length}):`, "");
    for (const k of r.kept) out.push(`- ${code(k.snapshotId)}: ${mdText(k.reasons.join(", "))}`);
  }
  if (r.overdue.length) {
    out.push("", `Overdue (${r.overdue.length}), which retention would delete:`, "");
    for (const id of r.overdue) out.push(`- ${code(id)}`);
  }
  return out;
}

function damagedSection(db: AuditDatabase): string[] {
  if (db.damaged.length === 0) return ["### Damaged copies", "", "None."];
  return [
    "### Damaged copies",
    "",
    ...table(
      ["Destination", "Snapshot", "State", "Detail"],
      db.damaged.map((d) => [mdCell(d.destination), code(d.snapshotId), mdCell(d.state), mdCell(d.detail)]),
    ),
  ];
}

function orphansSection(db: AuditDatabase): string[] {
  const heading = ["### Orphans (artifacts without a manifest)", ""];
  if (db.orphans.length === 0) return [...heading, "None."];
  return [...heading, ...table(["Destination", "Key"], db.orphans.map((o) => [mdCell(o.destination), code(o.key)]))];
}

function foreignSection(db: AuditDatabase): string[] {
  return [
    "### Foreign files (named like snapshots, not ours: left alone)",
    "",
    ...table(["Destination", "Key"], db.foreign.map((f) => [mdCell(f.destination), code(f.key)])),
  ];
}
