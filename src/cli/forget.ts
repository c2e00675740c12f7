import type { ExitCode } from "../runtime/exitCodes.js";
import { runForget, type ForgetReport } from "../retention/forget.js";
import { printJson, setup, type CliIO, type GlobalOptions } from "./common.js";

export interface ForgetFlags extends GlobalOptions {
  dryRun?: boolean;
  force?: boolean;
}

/** `forget DB SNAPSHOT`: one snapshot deleted everywhere, refused for a locked or the last good copy unless --force. */
export async function forgetCommand(db: string, snapshotId: string, flags: ForgetFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps, pool } = await setup(flags, io);
  const report = await runForget(cfg, { db, snapshotId, dryRun: !!flags.dryRun, force: !!flags.force }, deps).finally(() => pool.closeAll());
  if (flags.json) printJson(io, report);
  else io.stdout.write(formatForget(report) + "\n");
  return report.exitCode;
}

function formatForget(r: ForgetReport): string {
  const verb = r.dryRun ? "would delete" : "deleted";
  const lines = [`forget ${r.db} ${r.snapshotId}${r.dryRun ? " (dry run: nothing deleted)" : ""}${r.force ? " --force" : ""}`];
  for (const d of r.destinations) {
    if (!d.reachable) lines.push(`  ${d.destination}: NOT REACHABLE (${d.error ?? "unknown error"}); the snapshot, if it is there, stays`);
    else if (!d.state) lines.push(`  ${d.destination}: not there`);
    else lines.push(`  ${d.destination}: ${verb} ${d.deleted.length} object(s) (${d.state}${d.lockedUntil ? `, locked until ${d.lockedUntil}` : ""})`, ...d.errors.map((e) => `    ERROR ${e}`));
  }
  lines.push(`${r.goodCopiesLeft} good copies of ${r.db} remain on reachable destinations`);
  return lines.join("\n");
}
