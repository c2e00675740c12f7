/**
 * notify: in triplicate.yml, a list of notifiers. Each entry may set
 * `on: [start, success, degraded, failure]`; what it defaults to depends on
 * the channel (a dead-man's-switch ping wants every event, a mailbox only
 * the bad ones). config/schema.ts takes this list as is.
 */
import { z } from "zod";

export const NOTIFY_EVENTS = ["start", "success", "degraded", "failure"] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

const on = z
  .array(z.enum(NOTIFY_EVENTS, { error: `each event must be one of ${NOTIFY_EVENTS.join(", ")}` }))
  .min(1, { error: `list at least one event (${NOTIFY_EVENTS.join(", ")}), or remove the notifier` });

const httpUrl = z.string({ error: "url must be text" }).refine(
  (u) => {
    try {
      return ["http:", "https:"].includes(new URL(u).protocol);
    } catch {
      return false;
    }
  },
  { error: "url must be an http:// or https:// address" },
);

/** A notifier gets this long for one event; then it counts as failed and the run goes on. */
const timeoutSeconds = z.number({ error: "timeoutSeconds must be a number" }).positive().max(300).default(10);

const healthchecks = z.strictObject({
  type: z.literal("healthchecks"),
  url: httpUrl,
  on: on.default([...NOTIFY_EVENTS]),
  timeoutSeconds,
});

const webhook = z.strictObject({
  type: z.literal("webhook"),
  url: httpUrl,
  /** HMAC-SHA256 key: the body is signed in the X-Triplicate-Signature-256 header. */
  secret: z.string().min(16, { error: "secret must be at least 16 characters (a random string, e.g. from openssl rand -hex 32)" }).optional(),
  on: on.default(["success", "degraded", "failure"]),
  timeoutSeconds,
});

const email = z
  .strictObject({
    type: z.literal("email"),
    on: on.default(["degraded", "failure"]),
    smtp: z.strictObject({
      host: z.string().min(1, { error: "smtp.host must name the mail server" }),
      port: z.number().int().min(1).max(65535).default(587),
      /** true: TLS from the first byte (port 465); false: plain, upgraded with STARTTLS when the server offers it. */
      secure: z.boolean().optional(),
      /** Refuse to send unless the server upgrades to TLS (STARTTLS). */
      requireTLS: z.boolean().default(false),
      user: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
    }),
    from: z.email({ error: "from must be an e-mail address" }),
    to: z.array(z.email({ error: "each of to must be an e-mail address" })).min(1, { error: "to must list at least one address" }),
    timeoutSeconds: timeoutSeconds.unwrap().default(30),
  })
  .superRefine((e, ctx) => {
    if (!!e.smtp.user !== !!e.smtp.password) {
      ctx.addIssue({ code: "custom", path: ["smtp"], message: "smtp.user and smtp.password go together: set both (password from ${ENV}), or neither for a server without auth" });
    }
  });

export const notifierSchema = z.discriminatedUnion("type", [healthchecks, webhook, email], {
  error: (issue) =>
    issue.code === "invalid_union" ? `type must be one of: healthchecks, webhook, email (got ${JSON.stringify((issue.input as { type?: unknown })?.type)})` : undefined,
});
export const notifySchema = z.array(notifierSchema, { error: "notify must be a list of notifiers (- { type: healthchecks, url: ... })" });

export type NotifierConfig = z.infer<typeof notifierSchema>;
export type HealthchecksConfig = z.infer<typeof healthchecks>;
export type WebhookConfig = z.infer<typeof webhook>;
export type EmailConfig = z.infer<typeof email>;
