import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { startSshd, type SshdServer } from "../helpers/sshd.js";
import { startS3rver, type S3TestServer } from "../helpers/s3rver.js";

let sshd: SshdServer;
let s3: S3TestServer;
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
let env: NodeJS.ProcessEnv;
let snaps: string[] = [];
let keys: string[] = [];

/** Three nights of backups to a local folder, a NAS over SFTP and S3, all on loopback. */
beforeAll(async () => {
  [sshd, s3] = await Promise.all([startSshd(), startS3rver()]);
  ({ dir, cleanup } = await tempDir("tri-audit-"));
  createSampleDb(path.join(dir, "app.db"), 300);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]
destinations:
  - { name: local, type: local, path: ${JSON.stringify(path.join(dir, "local"))}, retention: { keepLast: 2 } }
  - { name: nas, type: sftp, host: 127.0.0.1, port: ${sshd.port}, username: ${sshd.username}, privateKeyPath: ${JSON.stringify(sshd.privateKeyPath)}, hostKeySha256: "${sshd.hostKeySha256}", path: ${JSON.stringify(path.join(sshd.root, "audit"))}, connectTimeoutSeconds: 3, retry: { retries: 0 } }
  - { name: offsite, type: s3, bucket: ${s3.bucket}, prefix: audit/, endpoint: ${s3.endpoint}, forcePathStyle: true, accessKeyId: "\${K}", secretAccessKey: "\${S}" }
policy: { copies: 3, media: 2, offsite: 1, maxAge: 26h, maxErrors: 0 }
# TRIPLICATE_NOW pins this host's clock to past nights; the servers' clocks are real.
guard: { maxClockSkew: 100y }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# each run here must ship a snapshot of its own, even when the source did not change
unchanged: upload
`,
  );
  env = { K: s3.accessKeyId, S: s3.secretAccessKey };
  for (const now of ["2026-11-23T02:00:00Z", "2026-11-24T02:00:00Z", "2026-11-25T02:00:00Z"]) {
    const r = await runCli(["backup", ...(now.startsWith("2026-11-23") ? ["--init"] : []), "--config", cfg, "--json"], { env: { ...env, TRIPLICATE_NOW: now } });
    expect(r.code, r.stderr).toBe(0);
    snaps.push(r.json().databases[0].snapshotId);
    keys.push(r.json().databases[0].artifact.key);
  }
}, 120_000);
afterAll(async () => {
  await Promise.all([sshd?.stop(), s3?.stop()]);
  await cleanup?.();
});

const audit = (args: string[], now = "2026-11-25T12:00:00Z") => runCli(["audit", "--config", cfg, ...args], { env: { ...env, TRIPLICATE_NOW: now } });

describe("triplicate audit against live destinations", () => {
  it("compliant: every rule met, JSON follows the versioned schema", async () => {
    const r = await audit(["--format", "json", "--deep"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rep = r.json();
    expect(rep).toMatchObject({ schema: "triplicate.audit/v1", verdict: "compliant", findings: [] });
    const db = rep.databases[0];
    expect(db.latest.snapshotId).toBe(snaps[2]);
    expect(db.latestCopies.map((c: any) => [c.destination, c.state, c.verified, c.lastDeepCheck?.ok])).toEqual([
      ["local", "complete", true, true],
      ["nas", "complete", true, true],
      ["offsite", "complete", true, true],
    ]);
    expect(db.retention.find((x: any) => x.destination === "local").kept.map((k: any) => k.snapshotId)).toEqual([snaps[2], snaps[1]]);
  });

  it("a stale latest snapshot fails maxAge (exit 3), in Markdown written to a file", async () => {
    const out = path.join(dir, "audit.md");
    const r = await audit(["--format", "md", "--out", out], "2026-11-27T12:00:00Z");
    expect(r.code).toBe(3);
    const md = await readFile(out, "utf8");
    expect(md).toMatch(/maxAge rule not met \(2\.4d, required ≤ 26h\)/);
    expect(md).toMatch(/NOT met: newest snapshot is 2\.4d old, at most 26h allowed/);
  });

  it("a damaged copy and a dead NAS: both named, the copy not counted, errors > 0, HTML self-contained", async () => {
    await truncate(path.join(dir, "local", keys[2]), 100);
    await sshd.kill();
    try {
      const r = await audit(["--format", "json"]);
      expect(r.code).toBe(3);
      const rep = r.json();
      expect(rep.verdict).toBe("not-compliant");
      expect(rep.findings).toContain(`app: local holds a damaged copy of ${snaps[2]} (size-mismatch)`);
      expect(rep.findings.some((f: string) => f.startsWith("destination nas is unreachable"))).toBe(true);
      const rules = Object.fromEntries(rep.databases[0].policy.rules.map((x: any) => [x.rule, x]));
      expect(rules.copies).toMatchObject({ pass: false, actual: "2" });
      expect(rules.errors).toMatchObject({ pass: false, actual: "1" });
      expect(rep.destinations.find((d: any) => d.name === "nas")).toMatchObject({ reachable: false, snapshots: null });

      const out = path.join(dir, "audit.html");
      expect((await audit(["--format", "html", "--out", out])).code).toBe(3);
      const html = await readFile(out, "utf8");
      expect(html).toMatch(/^<!DOCTYPE html>/i);
      expect(html).not.toMatch(/https?:\/\//);
      expect(html).toContain('class="timeline"');
    } finally {
      await sshd.restart();
    }
  });

  it("could not audit when no destination answers (exit 1)", async () => {
    const lonely = path.join(dir, "lonely.yml");
    await writeFile(lonely, `databases: [{ name: app, path: /nonexistent.db }]\ndestinations: [{ name: gone, type: local, path: ${JSON.stringify(path.join(dir, "triplicate.yml", "x"))} }]\n`);
    const r = await runCli(["audit", "--config", lonely, "--json"]);
    expect(r.code).toBe(1);
    expect(r.json().verdict).toBe("could-not-audit");
  });
});
