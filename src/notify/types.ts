/** notify/: what every channel (healthchecks.ts, webhook.ts, email.ts) implements, and what a run tells them. */
import type { ExitCode } from "../runtime/exitCodes.js";
import type { NotifyEvent } from "./schema.js";

/** The headline of a run: what a webhook posts as JSON, and what the text of a ping or mail sums up. */
export interface RunSummary {
  command: "backup" | "verify" | "audit";
  event: NotifyEvent;
  /** ok, degraded, failed, running (start); audit: compliant, not-compliant, could-not-audit. */
  verdict: string;
  /** Absent for `start`. */
  exitCode?: ExitCode;
  host: string;
  toolVersion: string;
  configPath: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  databases: {
    db: string;
    outcome: string;
    snapshotId?: string;
    rawBytes?: number;
    artifactBytes?: number;
    destinations: { destination: string; outcome: string; durationMs?: number; bytes?: number; error?: string }[];
  }[];
  /** Why the verdict is not clean, one line each. */
  findings: string[];
  /** The run stopped with an error before its report existed. */
  error?: string;
}

export interface NotifyMessage {
  summary: RunSummary;
  /** e.g. "triplicate backup DEGRADED on db1 (exit 3)". */
  subject: string;
  /** The text report, as printed. */
  text: string;
}

/** One notifier: one configured entry of `notify:`. */
export interface Notifier {
  /** e.g. "webhook #2 (hooks.example)": host only, never the path or query, where tokens travel. */
  readonly label: string;
  readonly on: readonly NotifyEvent[];
  readonly timeoutMs: number;
  send(message: NotifyMessage, signal: AbortSignal): Promise<void>;
}

/** What the report says about each notification sent. */
export interface NotifyOutcome {
  notifier: string;
  event: NotifyEvent;
  ok: boolean;
  durationMs: number;
  /** Why it failed, with every configured secret removed. */
  error?: string;
}

export class NotifyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NotifyError";
  }
}
