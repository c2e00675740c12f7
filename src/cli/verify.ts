import { runVerify, type VerifyReport } from "../verify/run.js";
import { interruptible } from "../runtime/interrupt.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { checkDbFlag, printJson, setup, type CliIO, type GlobalOptions } from "./common.js";

export interface VerifyFlags extends GlobalOptions {
  db?: string;
  deep?: boolean;
}

export async function verifyCommand(flags: VerifyFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps } = await setup(flags, io);
  checkDbFlag(cfg, flags.db);
  // A deep check writes scratch copies of whole databases: Ctrl-C must not leave them behind.
  // Without --deep there is nothing to clean up: Ctrl-C keeps its usual meaning.
  const verify = (signal?: AbortSignal) => runVerify(cfg, { db: flags.db, deep: !!flags.deep, signal }, deps);
  const report = await (flags.deep ? interruptible(verify) : verify());
  if (flags.json) printJson(io, report);
  else io.stdout.write(formatVerify(report) + "\n");
  return report.exitCode;
}

function formatVerify(r: VerifyReport): string {
  const lines = [`triplicate verify${r.deep ? " --deep" : ""}: ${r.errors} error(s)`];
  for (const db of r.unprotected) lines.push(`NO COMPLETE COPY of database ${db} on any reachable destination`);
  for (const db of r.failedDeep) lines.push(`NO COPY of database ${db} PASSED THE DEEP CHECK: its newest copies are damaged everywhere; a restore would fall back to an older snapshot`);
  for (const d of r.destinations) {
    lines.push(`${d.destination}${d.reachable ? "" : `  UNREACHABLE: ${d.error}`}`);
    for (const c of d.copies) {
      const deep = c.deep ? (c.deep.ok ? `  deep check ok (${c.deep.durationMs} ms)` : `  DEEP CHECK FAILED: ${c.deep.reason}`) : "";
      // "complete" is what the manifest and the listing say; a failed deep check overrules it.
      const state = c.deep?.ok === false ? "damaged" : c.state;
      lines.push(`  ${c.db.padEnd(12)} ${c.snapshotId}  ${state.padEnd(17)}${c.detail ? ` ${c.detail}` : ""}${deep}`);
    }
  }
  if (!r.deep) {
    lines.push("(without --deep, copies are checked against their manifests by size, and by checksum where the store keeps one (S3); only --deep reads the bytes back and test-restores them)");
  }
  return lines.join("\n");
}
