import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { notifySecrets, redact } from "../../src/notify/secrets.js";
import { pingUrl } from "../../src/notify/healthchecks.js";

const base = `databases: [{ name: app, path: /data/app.db }]
destinations: [{ name: disk, type: local, path: /backup }]
`;
const problems = (yaml: string) => {
  try {
    parseConfig(base + yaml, "/etc/t.yml", { PW: "s3cret-pw" });
  } catch (err) {
    return (err as Error).message;
  }
  return "";
};

describe("notify: and metrics: in the config", () => {
  it("fills in each channel's default events and resolves the textfile path", () => {
    const cfg = parseConfig(
      base +
        `notify:
  - { type: healthchecks, url: "https://hc.example/ping/abc" }
  - { type: webhook, url: "https://hooks.example/x" }
  - { type: email, smtp: { host: smtp.example }, from: a@example.com, to: [b@example.com] }
metrics: { textfile: prom/triplicate.prom }
`,
      "/etc/triplicate/t.yml",
      {},
    );
    expect(cfg.notify.map((n) => n.on)).toEqual([["start", "success", "degraded", "failure"], ["success", "degraded", "failure"], ["degraded", "failure"]]);
    expect(cfg.metrics?.textfile).toBe("/etc/triplicate/prom/triplicate.prom");
    expect(cfg.notify[2]).toMatchObject({ smtp: { port: 587 }, timeoutSeconds: 30 });
  });

  it("refuses what would never work, naming the field and the fix", () => {
    expect(problems(`notify: [{ type: pager, url: "https://x.example" }]`)).toContain("type must be one of: healthchecks, webhook, email");
    expect(problems(`notify: [{ type: healthchecks, url: "ftp://x.example/1" }]`)).toContain("notify[0].url: url must be an http:// or https:// address");
    expect(problems(`notify: [{ type: webhook, url: "https://x.example", on: [] }]`)).toContain("list at least one event");
    expect(problems(`notify: [{ type: webhook, url: "https://x.example", on: [finished] }]`)).toContain("each event must be one of start, success, degraded, failure");
    expect(problems(`notify: [{ type: webhook, url: "https://x.example", secret: short }]`)).toContain("secret must be at least 16 characters");
    expect(problems(`notify: [{ type: email, smtp: { host: h, user: u }, from: a@example.com, to: [b@example.com] }]`)).toContain("smtp.user and smtp.password go together");
    expect(problems(`notify: [{ type: email, smtp: { host: h }, from: a@example.com, to: [] }]`)).toContain("to must list at least one address");
    expect(problems(`notify: [{ type: email, smtp: { host: h }, from: nobody, to: [b@example.com] }]`)).toContain("from must be an e-mail address");
    expect(problems(`metrics: { textfile: /var/lib/node_exporter/triplicate.txt }`)).toContain("textfile must end in .prom");
  });

  it("never echoes a secret in a config error", () => {
    const msg = problems(`notify: [{ type: email, smtp: { host: h, user: u, password: 12345678 }, from: a@example.com, to: [b@example.com] }]`);
    expect(msg).toContain("password");
    expect(msg).not.toContain("12345678");
  });

  it("lists URL tokens, HMAC keys and SMTP passwords as secrets, and not plain words like 'backup'", () => {
    const cfg = parseConfig(
      base +
        `notify:
  - { type: healthchecks, url: "https://hc.example/ping/5f0c7a1e-3b2d-4c8e-9f61-0a2b3c4d5e6f" }
  - { type: webhook, url: "https://hooks.example/backup?token=abcd1234", secret: "0123456789abcdef0123" }
  - { type: email, smtp: { host: h, user: u, password: "\${PW}" }, from: a@example.com, to: [b@example.com] }
`,
      "/etc/t.yml",
      { PW: "s3cret-pw" },
    );
    const secrets = notifySecrets(cfg.notify);
    expect(secrets).toEqual(expect.arrayContaining(["5f0c7a1e-3b2d-4c8e-9f61-0a2b3c4d5e6f", "abcd1234", "0123456789abcdef0123", "s3cret-pw"]));
    expect(secrets).not.toContain("backup");
    expect(redact("triplicate backup: POST failed token=abcd1234 pw s3cret-pw", secrets)).toBe("triplicate backup: POST failed [redacted] pw [redacted]");
    expect(pingUrl("https://hc.example/ping/u/", "start")).toBe("https://hc.example/ping/u/start");
    expect(pingUrl("https://hc.example/ping/u?rid=1", "degraded")).toBe("https://hc.example/ping/u/fail?rid=1");
  });
});
