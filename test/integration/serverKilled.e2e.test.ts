import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { runCli, spawnCli, tempDir } from "../helpers/cli.js";
import { startFaultProxy, type FaultProxy } from "../helpers/faultProxy.js";
import { startS3rver, type S3TestServer } from "../helpers/s3rver.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { startSshd, type SshdServer } from "../helpers/sshd.js";

/**
 * Fault matrix rows "sshd killed mid-upload" and "the S3 server killed
 * mid-upload" (issue 12), end to end through the CLI: each server sits behind
 * the fault proxy, which holds the upload still a few MB in (so "mid-upload"
 * is a fact, not a race) while the server is SIGKILLed. That destination must
 * fail after its retries, the other two verify, exit 3, no partial object is
 * ever listed as a copy, and once the server is back the next run is green.
 */
let sshd: SshdServer;
let s3: S3TestServer;
let nasProxy: FaultProxy;
let s3Proxy: FaultProxy;
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
const env = () => ({ TEST_S3_KEY: s3.accessKeyId, TEST_S3_SECRET: s3.secretAccessKey });

beforeAll(async () => {
  [sshd, s3] = await Promise.all([startSshd(), startS3rver()]);
  [nasProxy, s3Proxy] = await Promise.all([startFaultProxy({ port: sshd.port }), startFaultProxy({ port: Number(new URL(s3.endpoint).port) })]);
});
afterAll(async () => {
  await Promise.all([nasProxy?.close(), s3Proxy?.close()]);
  await Promise.all([sshd?.stop(), s3?.stop()]);
});
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-killed-"));
  // ~9 MB of random blobs: the artifact barely compresses, so an upload is still going at 2 MB.
  createSampleDb(path.join(dir, "app.db"), 30_000);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]
destinations:
  - { name: local, type: local, path: ${JSON.stringify(path.join(dir, "local"))} }
  - name: nas
    type: sftp
    host: 127.0.0.1
    port: ${nasProxy.port}
    username: ${sshd.username}
    privateKeyPath: ${JSON.stringify(sshd.privateKeyPath)}
    hostKeySha256: "${sshd.hostKeySha256}"
    path: ${JSON.stringify(path.join(sshd.root, path.basename(dir)))}
    connectTimeoutSeconds: 5
    stallSeconds: 10
    retry: { retries: 2, minDelayMs: 50, maxDelayMs: 200 }
  - name: offsite
    type: s3
    bucket: ${s3.bucket}
    prefix: ${path.basename(dir)}/
    endpoint: ${s3Proxy.url}
    forcePathStyle: true
    accessKeyId: \${TEST_S3_KEY}
    secretAccessKey: \${TEST_S3_SECRET}
    stallSeconds: 10
    retry: { retries: 2, minDelayMs: 50, maxDelayMs: 200 }
policy: { copies: 3, media: 2, offsite: 1 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
`,
  );
  const first = await runCli(["backup", "--init", "--config", cfg, "--json"], { env: env() });
  expect(first.code, first.stderr).toBe(0);
  addRows(path.join(dir, "app.db"));
});
afterEach(async () => cleanup());

function addRows(file: string): void {
  const db = new Database(file);
  db.prepare("INSERT INTO posts (author_id, body) SELECT 1, randomblob(300) FROM posts LIMIT 500").run();
  db.close();
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cases = [
  { name: "nas", proxy: () => nasProxy, kill: () => sshd.kill(), restart: () => sshd.restart() },
  { name: "offsite", proxy: () => s3Proxy, kill: () => s3.kill!(), restart: () => s3.restart!() },
];

describe("fault matrix: a server killed mid-upload", () => {
  for (const c of cases) {
    it(`${c.name}: that destination fails after its retries, the others verify, exit 3, nothing partial listed, next run green`, async () => {
      const proxy = c.proxy();
      const before = (await runCli(["list", "--config", cfg, "--json"], { env: env() })).json();
      const copiesBefore = before.destinations.find((d: any) => d.destination === c.name).copies.map((k: any) => k.snapshotId);

      const stallAt = proxy.stats.bytes + 2 * 1024 * 1024;
      proxy.stall(2 * 1024 * 1024);
      const child = spawnCli(["backup", "--config", cfg, "--json"], { env: { ...process.env, ...env() } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const exited = new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? -1)));
      try {
        await until("the upload to reach 2 MB", () => proxy.stats.bytes >= stallAt || child.exitCode !== null);
        expect(child.exitCode, `the run ended before its upload was 2 MB in:\n${stderr}`).toBeNull();
        await c.kill();
        proxy.pass(); // the held sockets see the dead server; new connections are refused
        const code = await exited;
        expect(code, stderr).toBe(3);
        const run = JSON.parse(stdout).databases[0];
        const status = Object.fromEntries(run.destinations.map((d: any) => [d.destination, d.status]));
        expect(status[c.name]).toBe("failed");
        for (const other of ["local", "nas", "offsite"].filter((n) => n !== c.name)) expect(status[other], other).toBe("verified");
      } finally {
        proxy.pass();
        child.kill("SIGKILL");
        await c.restart();
      }

      // Back up: the killed store lists only what it had before, complete; no partial upload became a copy.
      const after = (await runCli(["list", "--config", cfg, "--json"], { env: env() })).json();
      const dest = after.destinations.find((d: any) => d.destination === c.name);
      expect(dest.copies.map((k: any) => k.snapshotId)).toEqual(copiesBefore);
      expect(dest.copies.every((k: any) => k.state === "complete"), JSON.stringify(dest.copies)).toBe(true);

      addRows(path.join(dir, "app.db"));
      const next = await runCli(["backup", "--config", cfg, "--json"], { env: env() });
      expect(next.code, next.stderr).toBe(0);
      expect(next.json().databases[0].destinations.every((d: any) => d.status === "verified")).toBe(true);
      const deep = await runCli(["verify", "--config", cfg, "--deep", "--budget", "1TB", "--json"], { env: env() });
      expect(deep.code, deep.stdout).toBe(0);
    }, 120_000);
  }
});
