import { runRestore, type RestoreReport } from "../restore/run.js";
import { interruptible } from "../runtime/interrupt.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { fromRestore } from "../history/fromReports.js";
import { recordRun } from "../history/runRecord.js";
import { formatBytes } from "../runtime/format.js";
import { printJson, setup, type CliIO, type GlobalOptions } from "./common.js";
import { loadIdentity } from "../encryption/identity.js";

export interface RestoreFlags extends GlobalOptions {
  to?: string;
  at?: string;
  from?: string;
  force?: boolean;
  identity?: string;
}

export async function restoreCommand(db: string, flags: RestoreFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps, pool, progress } = await setup(flags, io, { progress: true });
  const identity = flags.identity ? await loadIdentity(flags.identity, io.env) : undefined;
  const startedAt = deps.clock();
  let report: RestoreReport;
  try {
    report = await interruptible((signal) => runRestore(cfg, { db, to: flags.to, at: flags.at, from: flags.from, force: !!flags.force, signal, identity }, deps));
    const tried = cfg.destinations.filter((d) => !flags.from || d.name === flags.from).map((d) => d.name);
    await recordRun(fromRestore(report, tried), startedAt, pool, deps);
  } finally {
    progress.stop();
    await pool.closeAll();
  }
  if (flags.json) printJson(io, report);
  else io.stdout.write(formatRestore(report) + "\n");
  return report.exitCode;
}

export function formatRestore(r: RestoreReport): string {
  const lines = [`triplicate restore ${r.db} → ${r.target}${r.via ? ` (the file ${r.via} links to)` : ""}`];
  for (const u of r.unreachable) lines.push(`  unreachable: ${u.destination}: ${u.error}`);
  for (const a of r.attempts) lines.push(`  ${a.ok ? "ok    " : "FAILED"} ${a.snapshotId} from ${a.destination}${a.ok ? ` (${formatBytes(a.bytes ?? 0)}, ${a.durationMs} ms: transfer ${a.transferMs} ms, checks ${a.checkMs} ms)` : `: ${a.reason}`}`);
  if (r.restored) {
    lines.push(`RESTORED snapshot ${r.restored.snapshotId} (taken ${r.restored.createdAt}) from ${r.restored.destination} in ${(r.durationMs / 1000).toFixed(1)} s`);
    lines.push(`  sha256 ${r.restored.sha256}; integrity_check ok; row counts match the manifest`);
    lines.push(`  database ${formatBytes(r.restored.rawBytes)} from a ${formatBytes(r.restored.bytes)} artifact`);
    if (r.fellBack) lines.push(`  WARNING: this is OLDER than the newest snapshot at or before ${r.at} (${r.newestSnapshotId}), whose copies${r.from ? ` on ${r.from} (--from)` : ""} all failed`);
    const damaged = r.attempts.filter((a) => !a.ok);
    if (damaged.length) lines.push(`  WARNING: ${damaged.length} damaged copy(ies) skipped (FAILED above): run "triplicate verify --deep" and replace them`);
    for (const m of r.movedAside) lines.push(`  the previous file was kept as ${m}`);
  } else {
    lines.push(`NOTHING RESTORED: ${r.error}`);
  }
  return lines.join("\n");
}
