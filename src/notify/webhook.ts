import { createHmac } from "node:crypto";
import type { WebhookConfig } from "./schema.js";
import { postOk } from "./healthchecks.js";
import { safeHost } from "./secrets.js";
import type { Notifier } from "./types.js";

/** Header with the HMAC-SHA256 of the exact body bytes, hex, as GitHub's X-Hub-Signature-256 does. */
export const SIGNATURE_HEADER = "x-triplicate-signature-256";

export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/**
 * POSTs the run's headline (summary, never the config) as JSON. With a
 * secret, the receiver can check that the body came from us and was not
 * changed; the body carries finishedAt, so a replayed old body shows its age.
 */
export function webhookNotifier(cfg: WebhookConfig, index: number): Notifier {
  return {
    label: `webhook #${index + 1} (${safeHost(cfg.url)})`,
    on: cfg.on,
    timeoutMs: cfg.timeoutSeconds * 1000,
    async send(message, signal) {
      const body = JSON.stringify({ schema: "triplicate.notify/v1", subject: message.subject, ...message.summary });
      const headers: Record<string, string> = { "content-type": "application/json", "x-triplicate-event": message.summary.event };
      if (cfg.secret) headers[SIGNATURE_HEADER] = signBody(body, cfg.secret);
      await postOk(cfg.url, headers, body, signal);
    },
  };
}
