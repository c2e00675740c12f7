import { open, rename } from "node:fs/promises";
import path from "node:path";
import { runAudit } from "../audit/build.js";
import { interruptible } from "../runtime/interrupt.js";
import { renderAuditHtml } from "../audit/html/page.js";
import { renderAuditMarkdown } from "../audit/markdown.js";
import { UsageError } from "../runtime/errors.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { fromAudit } from "../history/fromReports.js";
import { historyForAudit, recordRun } from "../history/runRecord.js";
import { setup, type CliIO, type GlobalOptions } from "./common.js";

export interface AuditFlags extends GlobalOptions {
  format?: string;
  out?: string;
  deep?: boolean;
}

const FORMATS = ["md", "html", "json"] as const;

/** The compliance report, read live from the destinations. Exit 0 compliant, 3 not, 1 could not audit. */
export async function auditCommand(flags: AuditFlags, io: CliIO): Promise<ExitCode> {
  const format = flags.json ? "json" : (flags.format ?? "md");
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format ${format} is not one of ${FORMATS.join(", ")}`);
  const { cfg, deps, logger, pool } = await setup(flags, io);
  const startedAt = deps.clock();
  // Only a deep audit writes scratch copies to clean up; otherwise Ctrl-C keeps its usual meaning.
  const audit = (signal?: AbortSignal) => runAudit(cfg, { deep: !!flags.deep, signal }, deps);
  let report;
  try {
    report = await (flags.deep ? interruptible(audit) : audit());
    // Read before this audit's own record is written: the section is about the runs before it.
    report.runHistory = await historyForAudit(report, cfg, pool, deps);
    await recordRun(fromAudit(report), startedAt, pool, deps);
  } finally {
    await pool.closeAll();
  }
  const text = format === "json" ? JSON.stringify(report, null, 2) + "\n" : format === "html" ? renderAuditHtml(report) : renderAuditMarkdown(report);
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
