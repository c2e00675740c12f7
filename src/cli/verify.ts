import { runVerify, type VerifyReport } from "../verify/run.js";
import { interruptible } from "../runtime/interrupt.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { checkDbFlagOrCopies } from "../catalog/unconfigured.js";
import { fromVerify } from "../history/fromReports.js";
import { recordRun } from "../history/runRecord.js";
import type { DeepBudget } from "../verify/deepCheck.js";
import { UsageError } from "../runtime/errors.js";
import { durationMs, parseDuration } from "../runtime/duration.js";
import { parseSize } from "../runtime/format.js";
import { formatNotifications, notified } from "../notify/run.js";
import { summarizeVerify } from "../notify/summary.js";
import { printJson, recordOutcome, setup, type CliIO, type GlobalOptions } from "./common.js";
import { loadIdentity } from "../encryption/identity.js";

export interface VerifyFlags extends GlobalOptions {
  db: string[];
  deep?: boolean;
  identity?: string;
  budget?: string;
  maxTime?: string;
}

/** `--budget 10GB` / `--max-time 20m`, per destination; usage errors name the flag. */
function deepBudget(flags: VerifyFlags): DeepBudget | undefined {
  if ((flags.budget || flags.maxTime) && !flags.deep) throw new UsageError("--budget and --max-time bound a deep check: add --deep");
  if (!flags.budget && !flags.maxTime) return undefined;
  const budget: DeepBudget = {};
  if (flags.budget) {
    try {
      budget.bytes = parseSize(flags.budget);
    } catch (err) {
      throw new UsageError(`--budget ${flags.budget}: ${(err as Error).message}`);
    }
  }
  if (flags.maxTime) {
    try {
      budget.ms = durationMs(parseDuration(flags.maxTime));
    } catch (err) {
      throw new UsageError(`--max-time ${flags.maxTime}: ${(err as Error).message}`);
    }
  }
  return budget;
}

export async function verifyCommand(flags: VerifyFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps, pool } = await setup(flags, io);
  // A name not in the config is checked when some destination holds its copies (a vanished tenant).
  await checkDbFlagOrCopies(cfg, flags.db, deps);
  const budget = deepBudget(flags);
  const startedAt = deps.clock();
  // A deep check writes scratch copies of whole databases: Ctrl-C must not leave them behind.
  // Without --deep there is nothing to clean up: Ctrl-C keeps its usual meaning.
  if (flags.identity && !flags.deep) throw new UsageError("--identity opens encrypted copies for a deep check: add --deep");
  const identity = flags.identity ? await loadIdentity(flags.identity, io.env) : undefined;
  const verify = async (signal?: AbortSignal) => {
    const r = await runVerify(cfg, { db: flags.db, deep: !!flags.deep, budget, signal, identity }, deps);
    await recordRun(fromVerify(r), startedAt, pool, deps);
    return r;
  };
  let outcome;
  try {
    outcome = await notified(
      { cfg, deps, command: "verify" },
      () => (flags.deep ? interruptible(verify) : verify()),
      (r, common, finishedAt) => ({ summary: summarizeVerify(r, common, finishedAt), text: formatVerify(r) }),
    );
  } finally {
    await pool.closeAll();
  }
  const { report, text, notifications } = outcome;
  recordOutcome(io, { command: "verify", report }, notifications);
  if (flags.json) printJson(io, { ...report, notifications });
  else io.stdout.write([text, ...formatNotifications(notifications)].join("\n") + "\n");
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
      const proof = c.proof ? ` ${c.proof.level}${c.proof.at ? ` ${c.proof.at.slice(0, 16).replace("T", " ")}` : ""}` : "";
      lines.push(`  ${c.db.padEnd(12)} ${c.snapshotId}  ${c.state.padEnd(17)}${proof.padEnd(32)}${c.state !== "damaged" && c.detail ? ` ${c.detail}` : ""}${deep}`);
    }
  }
  if (!r.deep) {
    lines.push("(without --deep, copies are checked against their manifests by size, and by the store's own checksum where it keeps one (S3); each copy shows the strongest proof it has had: present, store-checksum, read-back (every backup reads its copies back), restore-tested (verify --deep); only --deep reads the bytes back now and test-restores them)");
  }
  return lines.join("\n");
}
