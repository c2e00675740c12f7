import type { HealthchecksConfig } from "./schema.js";
import { safeHost } from "./secrets.js";
import { NotifyError, type Notifier, type NotifyMessage } from "./types.js";

/** healthchecks.io's convention (Uptime Kuma and Cronitor accept it): <url>/start, <url>, <url>/fail. */
export function pingUrl(base: string, event: NotifyMessage["summary"]["event"]): string {
  const u = new URL(base);
  const suffix = event === "start" ? "/start" : event === "success" ? "" : "/fail";
  u.pathname = u.pathname.replace(/\/+$/, "") + suffix;
  return u.toString();
}

/** healthchecks.io keeps the first 100 kB of a ping body; a short summary is what its UI shows. */
const MAX_BODY = 10_000;

/**
 * A dead man's switch: the service alerts when a ping does not come, which
 * is how a run that never happened (cron broken, host down) gets noticed.
 */
export function healthchecksNotifier(cfg: HealthchecksConfig, index: number): Notifier {
  return {
    label: `healthchecks #${index + 1} (${safeHost(cfg.url)})`,
    on: cfg.on,
    timeoutMs: cfg.timeoutSeconds * 1000,
    async send(message, signal) {
      const body = message.summary.event === "start" ? `${message.subject}\n` : `${message.subject}\n\n${message.text}`.slice(0, MAX_BODY);
      await postOk(pingUrl(cfg.url, message.summary.event), { "content-type": "text/plain; charset=utf-8" }, body, signal);
    },
  };
}

/** POST, and anything but a 2xx is a failure. Error messages name the status, never the URL. */
export async function postOk(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "user-agent": "triplicate", ...headers }, body, signal, redirect: "error" });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = signal.aborted ? "timed out" : cause?.code ?? cause?.message ?? (err as Error).message;
    throw new NotifyError(`POST to ${safeHost(url)} failed: ${why}`, { cause: err });
  }
  await res.body?.cancel().catch(() => undefined);
  if (!res.ok) throw new NotifyError(`POST to ${safeHost(url)} answered HTTP ${res.status}`);
}
