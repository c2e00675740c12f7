import { open, rename } from "node:fs/promises";
import path from "node:path";
import { runAudit } from "../audit/build.js";
import { interruptible } from "../runtime/interrupt.js";
import { renderAuditHtml } from "../audit/html/page.js";
import { renderAuditMarkdown } from "../audit/markdown.js";
import { UsageError } from "../runtime/errors.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { formatNotifications, notified } from "../notify/run.js";
import { summarizeAudit } from "../notify/summary.js";
import { recordOutcome, setup, type CliIO, type GlobalOptions } from "./common.js";
import { loadIdentity } from "../encryption/identity.js";
import { fromAudit } from "../history/fromReports.js";
import { historyForAudit, recordRun } from "../history/runRecord.js";

export interface AuditFlags extends GlobalOptions {
  format?: string;
  out?: string;
  deep?: boolean;
  identity?: string;
}

const FORMATS = ["md", "html", "json"] as const;

/** The compliance report, read live from the destinations. Exit 0 compliant, 3 not, 1 could not audit. */
export async function auditCommand(flags: AuditFlags, io: CliIO): Promise<ExitCode> {
  const format = flags.json ? "json" : (flags.format ?? "md");
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format ${format} is not one of ${FORMATS.join(", ")}`);
  const { cfg, deps, logger, pool } = await setup(flags, io);
  const startedAt = deps.clock();
  // Only a deep audit writes scratch copies to clean up; otherwise Ctrl-C keeps its usual meaning.
  if (flags.identity && !flags.deep) throw new UsageError("--identity opens encrypted copies for a deep check: add --deep");
  const identity = flags.identity ? await loadIdentity(flags.identity, io.env) : undefined;
  const audit = async (signal?: AbortSignal) => {
    const r = await runAudit(cfg, { deep: !!flags.deep, signal, identity }, deps);
    // Read before this audit's own record is written: the section is about the runs before it.
    r.runHistory = await historyForAudit(r, cfg, pool, deps);
    await recordRun(fromAudit(r), startedAt, pool, deps);
    return r;
  };
  // The mail and pings carry the Markdown report; the file or stdout gets the format asked for.
  let outcome;
  try {
    outcome = await notified(
      { cfg, deps, command: "audit" },
      () => (flags.deep ? interruptible(audit) : audit()),
      (r, common, finishedAt) => ({ summary: summarizeAudit(r, common, finishedAt), text: renderAuditMarkdown(r) }),
    );
  } finally {
    await pool.closeAll();
  }
  const { report, text: markdown, notifications } = outcome;
  recordOutcome(io, { command: "audit", report }, notifications);
  // A failed notification is said on stderr for md and html (the report itself stays the audit's).
  for (const line of formatNotifications(notifications)) io.stderr.write(`triplicate: ${line}\n`);
  const text = format === "json" ? JSON.stringify({ ...report, notifications }, null, 2) + "\n" : format === "html" ? renderAuditHtml(report) : markdown;
  if (flags.out) {
    // Written beside the target, then renamed: a reader never sees half a report.
    const tmp = path.join(path.dirname(path.resolve(flags.out)), `.${path.basename(flags.out)}.tmp-${process.pid}`);
    const h = await open(tmp, "w");
    await h.writeFile(text);
    await h.sync();
    await h.close();
    await rename(tmp, flags.out);
    logger.info({ out: flags.out, verdict: report.verdict }, `audit written to ${flags.out}: ${report.verdict}`);
  } else {
    io.stdout.write(text);
  }
  return report.exitCode;
}
