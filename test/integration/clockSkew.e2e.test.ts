import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { startSshd, type SshdServer } from "../helpers/sshd.js";

/**
 * Issue 11 A.2 (a): a host clock that disagrees with a destination's own
 * clock (here: the SFTP server's time stamp on the file just written) holds
 * that destination's retention; a local folder shares the host's clock.
 */
let sshd: SshdServer;
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
beforeAll(async () => {
  sshd = await startSshd();
  ({ dir, cleanup } = await tempDir("tri-skew-"));
  createSampleDb(path.join(dir, "app.db"), 100);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]
destinations:
  - { name: nas, type: sftp, host: 127.0.0.1, port: ${sshd.port}, username: ${sshd.username}, privateKeyPath: ${JSON.stringify(sshd.privateKeyPath)}, hostKeySha256: "${sshd.hostKeySha256}", path: ${JSON.stringify(path.join(sshd.root, "skew"))}, retention: { keepLast: 1 } }
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# each run here must ship a snapshot of its own, even when the source did not change
unchanged: upload
`,
  );
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await cleanup?.();
});

const onNas = async () => (await readdir(path.join(sshd.root, "skew", "app"))).filter((f) => f.endsWith(".manifest.json")).length;

describe("a host clock that disagrees with the destination's", () => {
  it("holds that destination's retention and names both clocks; with the clocks in step, retention runs", async () => {
    const now = Date.now();
    for (const ago of [120_000, 60_000]) {
      const r = await runCli(["backup", "--init", "--config", cfg, "--json"], { env: { TRIPLICATE_NOW: new Date(now - ago).toISOString() } });
      expect(r.code, r.stderr).toBe(0);
      expect(Math.abs(r.json().databases[0].destinations[0].clock.skewSeconds)).toBeLessThan(150);
    }
    expect(await onNas()).toBe(1); // in step: keepLast 1 applied

    // This host's clock three months ahead: keepLast 1 would delete the real history.
    const ahead = new Date(now + 92 * 86_400_000).toISOString();
    const r2 = await runCli(["backup", "--init", "--config", cfg, "--json"], { env: { TRIPLICATE_NOW: ahead } });
    expect(r2.code, r2.stderr).toBe(3);
    const nas = r2.json().databases[0].destinations[0];
    expect(nas.status).toBe("verified");
    expect(nas.clock.host).toBe(ahead);
    expect(nas.clock.skewSeconds).toBeLessThan(-90 * 86400);
    expect(nas.retention.deleted).toEqual([]);
    expect(nas.retention.held).toEqual([expect.objectContaining({ guard: "clock-skew" })]);
    expect(nas.retention.held[0].message).toMatch(/this host's clock is 92\.0d ahead of nas's \(host .*, nas .*\), more than guard\.maxClockSkew \(5min\): check both clocks/);
    expect(await onNas()).toBe(2);
    const text = await runCli(["backup", "--init", "--config", cfg], { env: { TRIPLICATE_NOW: ahead } });
    expect(text.stdout).toMatch(/HELD   \(clock-skew\) this host's clock is 92\.0d ahead/);
  }, 60_000);
});
