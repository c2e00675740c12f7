import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir, type CliResult } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { freePort } from "../helpers/s3rver.js";
import { startHttpSink, startSmtpSink, type Received } from "../helpers/notifyServers.js";

/**
 * Issue 14, "Alerts": healthchecks pings, a signed webhook and mail, against
 * real servers on loopback; a dead notifier never changes the exit code; no
 * configured secret ever appears in what was sent, logged or reported.
 */
const UUID = "5f0c7a1e-3b2d-4c8e-9f61-0a2b3c4d5e6f";
const HOOK_SECRET = "hmac-key-0123456789abcdef-TOPSECRET";
const HOOK_TOKEN = "T0KEN-in-the-webhook-path-9876";
const SMTP_PASSWORD = "smtp-pa55word-NEVER-PRINT";
const SECRETS = [UUID, HOOK_SECRET, HOOK_TOKEN, SMTP_PASSWORD];
const ENV = { HOOK_SECRET, SMTP_PASSWORD };

let http: Awaited<ReturnType<typeof startHttpSink>>;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let closedPort: number;
beforeAll(async () => {
  http = await startHttpSink();
  smtp = await startSmtpSink("backup", SMTP_PASSWORD);
  closedPort = await freePort();
});
afterAll(async () => {
  await http.stop();
  await smtp.stop();
});

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-notify-"));
  createSampleDb(path.join(dir, "app.db"), 100);
  http.received.length = 0;
  smtp.mails.length = 0;
});
afterEach(async () => cleanup());

async function config(opts: { extraDest?: boolean } = {}): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases:
  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }
${opts.extraDest ? `  - { name: usb, type: local, path: ${JSON.stringify(path.join(dir, "usb-not-mounted"))} }` : ""}
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
notify:
  - { type: healthchecks, url: "${http.url}/ping/${UUID}" }
  - { type: webhook, url: "${http.url}/hooks/${HOOK_TOKEN}", secret: "\${HOOK_SECRET}", on: [success, degraded, failure] }
  - type: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, secure: false, user: backup, password: "\${SMTP_PASSWORD}" }
    from: backup@example.com
    to: [ops@example.com]
  - { type: webhook, url: "http://127.0.0.1:${closedPort}/dead", timeoutSeconds: 3 }
`,
  );
  return file;
}

const pings = () => http.received.filter((r) => r.url.startsWith("/ping/"));
const hooks = () => http.received.filter((r) => r.url.startsWith("/hooks/"));

function expectNoSecrets(what: string, text: string): void {
  for (const s of SECRETS) expect(text.includes(s), `${what} holds the secret ${s}`).toBe(false);
}
function expectNothingLeaked(runs: CliResult[], received: Received[]): void {
  for (const r of runs) {
    expectNoSecrets("stdout", r.stdout);
    expectNoSecrets("stderr", r.stderr);
  }
  // The ping's own URL holds its UUID (that is the ping); nothing else sent may.
  for (const q of received) expectNoSecrets(`body of ${q.method} ${q.url.slice(0, 10)}`, q.body + JSON.stringify({ ...q.headers, host: "" }));
  for (const m of smtp.mails) expectNoSecrets("mail", m.raw);
}

describe("notify: healthchecks, webhook, email against loopback servers", () => {
  it("a good backup: /start then the success ping, a signed webhook, no mail; the dead notifier is reported and exit stays 0", async () => {
    const cfg = await config();
    const r = await runCli(["backup", "--init", "--json", "--config", cfg, "--log-level", "debug"], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(pings().map((p) => p.url)).toEqual([`/ping/${UUID}/start`, `/ping/${UUID}`]);
    expect(pings()[1].body).toContain("triplicate backup OK on");
    expect(pings()[1].body).toContain("disk");

    expect(hooks()).toHaveLength(1);
    const hook = hooks()[0];
    const expected = "sha256=" + createHmac("sha256", HOOK_SECRET).update(hook.body).digest("hex");
    expect(hook.headers["x-triplicate-signature-256"]).toBe(expected);
    const body = JSON.parse(hook.body);
    expect(body).toMatchObject({ schema: "triplicate.notify/v1", command: "backup", event: "success", verdict: "ok", exitCode: 0 });
    expect(body.databases[0]).toMatchObject({ db: "app", outcome: "ok" });
    expect(body.databases[0].destinations[0]).toMatchObject({ destination: "disk", outcome: "verified" });
    expect(body.databases[0].artifactBytes).toBeGreaterThan(0);
    expect(smtp.mails).toHaveLength(0); // email defaults to degraded and failure

    const notes = r.json().notifications;
    const dead = notes.filter((n: any) => !n.ok);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ notifier: `webhook #4 (http://127.0.0.1:${closedPort})`, event: "success" });
    expect(dead[0].error).toContain("ECONNREFUSED");
    expect(notes.filter((n: any) => n.ok).map((n: any) => `${n.notifier.split(" ")[0]} ${n.event}`)).toEqual(["healthchecks start", "healthchecks success", "webhook success"]);
    expect(r.stderr).toContain("notification webhook #4");

    const text = await runCli(["backup", "--config", cfg], { env: ENV });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`NOTIFICATION FAILED: webhook #4 (http://127.0.0.1:${closedPort}) (success)`);
    expectNothingLeaked([r, text], http.received);
  }, 90_000);

  it("a degraded backup: /fail, the webhook says degraded, and a mail with the report arrives over authenticated SMTP", async () => {
    await runCli(["backup", "--init", "--config", await config()], { env: ENV });
    http.received.length = 0;
    const r = await runCli(["backup", "--config", await config({ extraDest: true }), "--log-level", "debug"], { env: ENV });
    expect(r.code).toBe(3);
    expect(pings().map((p) => p.url)).toEqual([`/ping/${UUID}/start`, `/ping/${UUID}/fail`]);
    expect(pings()[1].body).toContain("DEGRADED");
    expect(JSON.parse(hooks()[0].body)).toMatchObject({ event: "degraded", exitCode: 3 });
    expect(JSON.parse(hooks()[0].body).findings.join("\n")).toContain("usb");
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0];
    expect(mail).toMatchObject({ from: "backup@example.com", to: ["ops@example.com"], user: "backup" });
    expect(mail.raw).toMatch(/Subject: triplicate backup DEGRADED on \S+ \(exit 3\)/);
    expect(mail.raw).toContain("usb");
    expect(smtp.authFailures).toBe(0);
    expectNothingLeaked([r], http.received);
  }, 90_000);

  it("verify and audit notify too; a backup that throws before its report still pings /fail", async () => {
    const cfg = await config();
    await runCli(["backup", "--init", "--config", cfg], { env: ENV });
    http.received.length = 0;
    const v = await runCli(["verify", "--json", "--config", cfg], { env: ENV });
    expect(v.code).toBe(0);
    expect(JSON.parse(hooks()[0].body)).toMatchObject({ command: "verify", event: "success" });
    expect(v.json().notifications.length).toBe(4);
    http.received.length = 0;
    const a = await runCli(["audit", "--config", cfg], { env: ENV });
    expect(a.code).toBe(0);
    expect(JSON.parse(hooks()[0].body)).toMatchObject({ command: "audit", verdict: "compliant" });
    expect(pings()[1].body).toContain("triplicate audit COMPLIANT");
    expect(a.stderr).toContain("NOTIFICATION FAILED: webhook #4");
    http.received.length = 0;
    const bad = await runCli(["backup", "--db", "nope", "--config", cfg], { env: ENV });
    expect(bad.code).toBe(2);
    expect(pings().map((p) => p.url)).toEqual([`/ping/${UUID}/start`, `/ping/${UUID}/fail`]);
    expect(pings()[1].body).toContain('no database named "nope"');
    expect(smtp.mails).toHaveLength(1);
    expectNothingLeaked([v, a, bad], http.received);
  }, 90_000);
});
