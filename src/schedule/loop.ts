/** schedule/: the stay-running scheduler for hosts and containers without cron. */
import { Cron } from "croner";
import type { Logger } from "pino";
import { UsageError } from "../runtime/errors.js";
import type { ExitCode } from "../runtime/exitCodes.js";

/** One line of the schedule's log: what happened, when. */
export type ScheduleEvent =
  | { event: "scheduled"; cron: string; timezone?: string; nextRun: string | null }
  | { event: "run-started"; run: number; startedAt: string }
  | { event: "run-finished"; run: number; startedAt: string; finishedAt: string; exitCode: ExitCode; report?: unknown; error?: string }
  | { event: "skipped"; at: string; reason: string }
  | { event: "stopping"; signal: string; waitingForRun: number | null }
  | { event: "stopped"; signal: string; runs: number };

export interface RunResult {
  exitCode: ExitCode;
  report?: unknown;
  error?: string;
}

export interface ScheduleDeps {
  logger: Logger;
  clock: () => Date;
  /** Called for every event, in order: the CLI prints them (one JSON line each with --json). */
  emit: (e: ScheduleEvent) => void;
}

export interface ScheduleHandle {
  /** Stop firing; resolves once the run under way (if any) has finished. Idempotent. */
  stop(signal: string): Promise<void>;
  /** Resolves when stopped. */
  done: Promise<void>;
}

/** A cron expression croner accepts (5 fields, or 6 with seconds first), or a usage error that says what is wrong. */
export function parseCron(expr: string, timezone?: string): Cron {
  try {
    return new Cron(expr, { paused: true, timezone });
  } catch (err) {
    throw new UsageError(`--cron "${expr}" is not a cron expression (${(err as Error).message}); e.g. "0 2 * * *" for 02:00 every night, or "*/30 * * * * *" for every 30 seconds`, { cause: err });
  }
}

/**
 * Fires `runOnce` on each tick of `expr`. Runs never overlap: a tick that
 * comes while a run is under way is skipped and logged, not queued, so a slow
 * night cannot stack up runs that would then race for the run lock. A run that
 * throws is logged as that run's failure; the schedule keeps going.
 */
export function startSchedule(expr: string, opts: { timezone?: string }, runOnce: () => Promise<RunResult>, deps: ScheduleDeps): ScheduleHandle {
  parseCron(expr, opts.timezone).stop();
  let runs = 0;
  let current: { run: number; finished: Promise<void> } | undefined;
  let stopped = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const tick = () => {
    const at = deps.clock().toISOString();
    if (stopped) return;
    if (current) {
      deps.emit({ event: "skipped", at, reason: `run ${current.run} is still under way` });
      return;
    }
    const run = ++runs;
    deps.emit({ event: "run-started", run, startedAt: at });
    const finished = runOnce()
      .catch((err: unknown): RunResult => ({ exitCode: 1, error: (err as Error)?.message ?? String(err) }))
      .then((r) => {
        deps.emit({ event: "run-finished", run, startedAt: at, finishedAt: deps.clock().toISOString(), ...r });
        current = undefined;
      });
    current = { run, finished };
  };

  const job = new Cron(expr, { timezone: opts.timezone }, tick);
  deps.emit({ event: "scheduled", cron: expr, timezone: opts.timezone, nextRun: job.nextRun()?.toISOString() ?? null });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) =>
    (stopping ??= (async () => {
      stopped = true;
      job.stop();
      deps.emit({ event: "stopping", signal, waitingForRun: current?.run ?? null });
      await current?.finished;
      deps.emit({ event: "stopped", signal, runs });
      resolveDone();
    })());
  return { stop, done };
}
