/**
 * progress/: live lines on a terminal while a backup or restore runs, one
 * per destination (bytes, rate, ETA) and one for the snapshot and its checks,
 * drawn by cli-progress. Off unless stderr is a terminal, and off with --json
 * or --quiet: cron mail and scripts never see a control character.
 */
import cliProgress from "cli-progress";
import { formatBytes } from "../runtime/format.js";

export interface ProgressOptions {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  json?: boolean;
  /** `--quiet` (print nothing when all is well): no progress either. */
  quiet?: boolean;
  /** Refresh interval; tests may lower it. */
  fps?: number;
}

/** One destination's transfer. */
export interface TransferLine {
  /** A new phase ("upload", "read back", "download") with its size in bytes. */
  phase(name: string, total: number): void;
  /** Bytes done in the current phase. */
  update(bytes: number): void;
  /** A phase with no byte count (manifest, retention): text only. */
  note(text: string): void;
}

export interface Progress {
  readonly enabled: boolean;
  transfer(destination: string): TransferLine;
  /** The snapshot-and-checks line (restore: the checks after the download). */
  stage(text: string): void;
  /** A log line, printed above the live lines while they are drawn. */
  log(text: string): void;
  stop(): void;
}

export function progressEnabled(o: ProgressOptions): boolean {
  return !!o.stderr.isTTY && !o.json && !o.quiet;
}

/**
 * Our own ETA from the line's average rate: cli-progress's eta_formatted
 * prints "NULL" or "Infinity" (cut to "LLs" by its padding) until the value
 * moves, which a transfer from the staged file did not do until it ended.
 */
const NO_ETA = "--";

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return NO_ETA;
  const t = Math.ceil(seconds);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, "0")}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, "0")}m`;
}

const NOOP_LINE: TransferLine = { phase: () => undefined, update: () => undefined, note: () => undefined };

export function createProgress(o: ProgressOptions): Progress {
  if (!progressEnabled(o)) {
    return { enabled: false, transfer: () => NOOP_LINE, stage: () => undefined, log: (t) => void o.stderr.write(t), stop: () => undefined };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream: o.stderr as NodeJS.WriteStream,
      format: "{name} {bar} {percentage}% | {done} of {size} | {rate} | ETA {left} | {phase}",
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 20,
      fps: o.fps ?? 8,
      autopadding: true,
      emptyOnZero: true,
    },
    cliProgress.Presets.shades_classic,
  );
  // Created on first use: a command that fails before any work draws nothing.
  let stageBar: cliProgress.SingleBar | undefined;
  const stageLine = () => (stageBar ??= multi.create(1, 0, { name: "snapshot", phase: "starting" }, { format: "{name} {phase}" }));
  const lines = new Map<string, TransferLine>();
  return {
    enabled: true,
    transfer(destination) {
      const existing = lines.get(destination);
      if (existing) return existing;
      stageLine();
      const bar = multi.create(1, 0, { name: destination, done: "0 B", size: "?", rate: "", left: NO_ETA, phase: "waiting" });
      let started = performance.now();
      let total = 1;
      const line: TransferLine = {
        phase(name, size) {
          total = Math.max(1, size);
          started = performance.now();
          bar.setTotal(total);
          bar.update(0, { phase: name, size: formatBytes(size), done: "0 B", rate: "", left: NO_ETA });
        },
        update(bytes) {
          const s = (performance.now() - started) / 1000;
          const rate = s > 0.2 && bytes > 0 ? bytes / s : undefined;
          bar.update(Math.min(bytes, total), {
            done: formatBytes(bytes),
            rate: rate ? `${formatBytes(Math.round(rate))}/s` : "",
            left: rate ? formatEta((total - Math.min(bytes, total)) / rate) : NO_ETA,
          });
        },
        note(text) {
          bar.update({ phase: text });
        },
      };
      lines.set(destination, line);
      return line;
    },
    stage(text) {
      stageLine().update({ phase: text });
    },
    log(text) {
      multi.log(text.endsWith("\n") ? text : `${text}\n`);
    },
    stop() {
      multi.stop();
    },
  };
}
