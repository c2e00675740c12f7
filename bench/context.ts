/** What bench/run.ts hands every bench: the options, the loopback servers, the hand-made tools. */
import { BIN, settleDisk, timed, type Measure, type Row } from "./lib.js";
import type { BenchOptions } from "./options.js";
import type { HandTools } from "./handmade.js";
import type { SshdServer } from "../test/helpers/sshd.js";
import type { S3TestServer } from "../test/helpers/s3rver.js";

export interface BenchContext {
  opts: BenchOptions;
  servers: { sshd: SshdServer; s3: S3TestServer };
  tools: HandTools;
}

/** A bench's share of the combined table, and everything it measured for the JSON. */
export interface BenchResult {
  rows: Row[];
  json: unknown;
}

export type Run = Measure & { peakAnonMB: number; report: any };

/**
 * One `triplicate` CLI run as a whole process, after an untimed sync; the
 * report must say exit 0. `wrap` puts a command in front (nice, ionice).
 */
export async function triplicate(args: string[], env: NodeJS.ProcessEnv, wrap: string[] = []): Promise<Run> {
  settleDisk();
  const [cmd, ...rest] = [...wrap, BIN, ...args, "--json", "--log-level", "warn"];
  const t = await timed(cmd, rest, env);
  const report = JSON.parse(t.stdout);
  if (report.exitCode !== 0) throw new Error(`triplicate ${args.join(" ")} exited ${report.exitCode}: ${t.stdout.slice(0, 2000)}`);
  return { seconds: t.seconds, peakRssMB: t.peakRssMB, peakAnonMB: t.peakAnonMB, report };
}

/** One hand-made pipeline as a whole `bash -c`, after an untimed sync. */
export async function byHand(script: string): Promise<Measure & { peakAnonMB: number }> {
  settleDisk();
  const t = await timed("bash", ["-c", script]);
  return { seconds: t.seconds, peakRssMB: t.peakRssMB, peakAnonMB: t.peakAnonMB };
}
