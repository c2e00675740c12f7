import type { NotifierConfig } from "./schema.js";

/**
 * Everything in the notify config that must never be printed: webhook and
 * ping URLs carry their token in the path or query (a healthchecks UUID is
 * the whole credential: whoever has it can ping), HMAC keys, SMTP
 * passwords. Listed once, so every message, log line and report can be
 * scrubbed the same way.
 */
export function notifySecrets(notify: readonly NotifierConfig[]): string[] {
  const out = new Set<string>();
  for (const n of notify) {
    if (n.type === "email") {
      if (n.smtp.password) out.add(n.smtp.password);
      continue;
    }
    const u = new URL(n.url);
    // A path segment of 12+ characters is a token (a UUID, a Slack key); "/ping" or "/backup" is not,
    // and scrubbing such words would mangle every report that says "backup".
    const tokens = u.pathname.split("/").map(decodeURIComponent).filter((p) => p.length >= 12);
    if (tokens.length) out.add(u.pathname);
    for (const part of [...tokens, ...u.searchParams.values(), u.password, u.username, u.hash.slice(1)]) {
      if (part.length >= 4) out.add(part);
    }
    if (u.search.length > 1) out.add(u.search.slice(1));
    if (n.type === "webhook" && n.secret) out.add(n.secret);
  }
  // Longest first, so a secret that contains another is removed whole.
  return [...out].sort((a, b) => b.length - a.length);
}

/** The text with every secret (and its URL-encoded form) replaced. */
export function redact(text: string, secrets: readonly string[]): string {
  let s = text;
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) s = s.split(form).join("[redacted]");
  }
  return s;
}

/** What a log line or report may say about a URL: its scheme and host. */
export function safeHost(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}
