import type { Logger } from "pino";
import type { NotifierConfig } from "./schema.js";
import { emailNotifier } from "./email.js";
import { healthchecksNotifier } from "./healthchecks.js";
import { webhookNotifier } from "./webhook.js";
import { redact } from "./secrets.js";
import type { Notifier, NotifyMessage, NotifyOutcome } from "./types.js";

/** Every channel, in one visible list. */
const channels: { [K in NotifierConfig["type"]]: (cfg: Extract<NotifierConfig, { type: K }>, index: number) => Notifier } = {
  healthchecks: healthchecksNotifier,
  webhook: webhookNotifier,
  email: emailNotifier,
};

export function makeNotifiers(config: readonly NotifierConfig[]): Notifier[] {
  return config.map((c, i) => (channels[c.type] as (cfg: NotifierConfig, index: number) => Notifier)(c, i));
}

/**
 * Sends one event to every notifier that asked for it, all at once, each
 * bounded by its own timeout. A notifier that fails or hangs is logged and
 * returned as a failed outcome, never thrown: an alert that cannot be sent
 * must not turn a good backup into a failed one. Every error text is
 * scrubbed of the configured secrets before it is logged or returned.
 */
export async function dispatch(
  notifiers: readonly Notifier[],
  message: NotifyMessage,
  deps: { logger: Logger; secrets: readonly string[]; now?: () => number },
): Promise<NotifyOutcome[]> {
  const now = deps.now ?? Date.now;
  const wanted = notifiers.filter((n) => n.on.includes(message.summary.event));
  return Promise.all(
    wanted.map(async (n): Promise<NotifyOutcome> => {
      const t0 = now();
      const signal = AbortSignal.timeout(n.timeoutMs);
      try {
        await raceAbort(n.send(message, signal), signal, n.timeoutMs);
        deps.logger.debug({ notifier: n.label, event: message.summary.event }, `notified ${n.label}`);
        return { notifier: n.label, event: message.summary.event, ok: true, durationMs: now() - t0 };
      } catch (err) {
        const error = redact((err as Error)?.message ?? String(err), deps.secrets);
        deps.logger.warn({ notifier: n.label, event: message.summary.event, err: { message: error } }, `notification ${n.label} failed: ${error}`);
        return { notifier: n.label, event: message.summary.event, ok: false, durationMs: now() - t0, error };
      }
    }),
  );
}

/** A channel that ignores its signal still ends at the timeout. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(`no answer within ${ms / 1000} s (timeoutSeconds)`));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
