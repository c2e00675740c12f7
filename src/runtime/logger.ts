import { createRequire } from "node:module";
import pino, { type Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Human logs go to stderr (stdout is for reports and --json): pretty on a
 * terminal, one JSON object per line otherwise (cron mail, journald, files).
 * Secrets are redacted by key name as a second line of defence; no code path
 * is meant to log them in the first place.
 */
export function createLogger(level: LogLevel, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): Logger {
  const redact = {
    paths: ["*.password", "*.secretAccessKey", "*.privateKeyPassphrase", "*.sessionToken", "*.*.password", "*.*.secretAccessKey"],
    censor: "[redacted]",
  };
  if (stream.isTTY) {
    // Loaded only for a terminal: it costs ~60 ms of start-up that cron runs and restores need not pay.
    const pretty = createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
    return pino({ level, redact }, pretty({ destination: stream, colorize: true, translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname", sync: true }));
  }
  // The process's own stderr is written straight to fd 2 (synchronously, so nothing is lost at exit);
  // any other stream (--quiet's holder, cli/quiet.ts) gets the lines as they are made.
  const dest = stream === process.stderr ? pino.destination({ dest: 2, sync: true }) : stream;
  return pino({ level, redact, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}
