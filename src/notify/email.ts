import type { EmailConfig } from "./schema.js";
import { NotifyError, type Notifier } from "./types.js";

/**
 * Mail over SMTP with nodemailer: TLS from the start with `secure: true`
 * (port 465 by default), otherwise STARTTLS when the server offers it
 * (`requireTLS` refuses to send without it). Subject: verdict and host;
 * body: the text report. nodemailer loads only when a mail is sent.
 */
export function emailNotifier(cfg: EmailConfig, index: number): Notifier {
  return {
    label: `email #${index + 1} (${cfg.smtp.host}:${cfg.smtp.port})`,
    on: cfg.on,
    timeoutMs: cfg.timeoutSeconds * 1000,
    async send(message, signal) {
      const nodemailer = (await import("nodemailer")).default;
      const ms = cfg.timeoutSeconds * 1000;
      const transport = nodemailer.createTransport({
        host: cfg.smtp.host,
        port: cfg.smtp.port,
        secure: cfg.smtp.secure ?? cfg.smtp.port === 465,
        requireTLS: cfg.smtp.requireTLS,
        auth: cfg.smtp.user ? { user: cfg.smtp.user, pass: cfg.smtp.password } : undefined,
        connectionTimeout: ms,
        greetingTimeout: ms,
        socketTimeout: ms,
      });
      const onAbort = () => transport.close();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        await transport.sendMail({ from: cfg.from, to: cfg.to, subject: message.subject, text: message.text });
      } catch (err) {
        const e = err as { code?: string; responseCode?: number; message?: string };
        const why = signal.aborted ? "timed out" : [e.code, e.responseCode, e.message].filter(Boolean).join(" ");
        throw new NotifyError(`mail via ${cfg.smtp.host}:${cfg.smtp.port} failed: ${why}`, { cause: err });
      } finally {
        signal.removeEventListener("abort", onAbort);
        transport.close();
      }
    },
  };
}
