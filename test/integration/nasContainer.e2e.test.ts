import { readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runCli, spawnCli, tempDir, type CliResult } from "../helpers/cli.js";
import { noteSkipped } from "../helpers/docker.js";
import { startNasContainer, whyNoNasContainer, type NasContainer } from "../helpers/nasContainer.js";

/**
 * A NAS that freezes or reboots: OpenSSH in its own container, paused
 * (every process frozen, connections left open) or restarted (every session
 * cut) while the real CLI backs up to it and to a local folder. What a
 * process on loopback cannot show: the whole machine goes away at once.
 */
const why = await whyNoNasContainer();
if (why) noteSkipped("NAS container faults (pause, reboot)", why);

// Settings the bounds below are derived from.
const STALL = 3;
const CONNECT = 3;
const RETRIES = 1;

describe.skipIf(!!why)("a NAS in a container that stops answering, or reboots", () => {
  let nas: NasContainer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let cfg: string;
  let nasDir: string; // the NAS's folder for this test, as seen from this machine

  beforeAll(async () => {
    nas = await startNasContainer();
  }, 60_000);
  afterAll(async () => nas?.stop(), 30_000);
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("tri-nasc-e2e-"));
    const name = path.basename(dir);
    nasDir = path.join(nas.hostRoot, name);
    bigDb(path.join(dir, "app.db"), 16);
    cfg = path.join(dir, "triplicate.yml");
    await writeFile(
      cfg,
      `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]
destinations:
  - { name: local, type: local, path: ${JSON.stringify(path.join(dir, "local"))} }
  - name: nas
    type: sftp
    host: ${nas.host}
    port: ${nas.port}
    username: ${nas.username}
    privateKeyPath: ${JSON.stringify(nas.privateKeyPath)}
    hostKeySha256: "${nas.hostKeySha256}"
    path: ${nas.root}/${name}
    connectTimeoutSeconds: ${CONNECT}
    keepaliveSeconds: 2
    stallSeconds: ${STALL}
    timeoutSeconds: 120
    retry: { retries: ${RETRIES}, minDelayMs: 50, maxDelayMs: 100 }
policy: { copies: 3, media: 2, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# every run here must upload again (the faults strike mid-upload), not record an unchanged night
unchanged: upload
`,
    );
    const first = await runCli(["backup", "--init", "--config", cfg, "--json"]);
    expect(first.code, first.stderr).toBe(0);
  }, 60_000);
  afterEach(async () => {
    await nas.unpause().catch(() => undefined); // never leave it frozen for the next test
    await cleanup();
  });

  it("pause mid-upload: the NAS fails within its stall bound, no partial object is listed as a copy; unpaused, the next run is green", async () => {
    const child = spawnCli(["backup", "--config", cfg, "--json"]);
    const done = collect(child);
    await untilPartialUpload(nasDir, 1024 * 1024);
    await nas.pause();
    const pausedAt = performance.now();
    const r = await done;
    const took = (performance.now() - pausedAt) / 1000;
    expect(r.code, r.stderr).toBe(3);
    const run = r.json().databases[0];
    expect(run.destinations.map((d: any) => [d.destination, d.status])).toEqual([["local", "verified"], ["nas", "failed"]]);
    // Each attempt: the stall bound (or the connect bound on the retry, which meets a frozen sshd),
    // plus slack for a slow machine. Without the bounds this would hang for the 120 s timeout.
    expect(took).toBeLessThan((RETRIES + 1) * (STALL + CONNECT) + 15);

    await nas.unpause();
    // Only the first run's copy is listed on the NAS; the stalled upload left at most a temp file.
    expect(await nasCopies()).toHaveLength(1);
    expect((await readdir(path.join(nasDir, "app"))).filter((f) => f.includes(path.basename(run.artifact.key)) && !f.startsWith("."))).toEqual([]);

    const next = await runCli(["backup", "--config", cfg, "--json"]);
    expect(next.code, next.stderr).toBe(0);
    expect(await nasCopies()).toHaveLength(2);
    await expectEveryCopyWhole();
  }, 120_000);

  it("reboot between runs: the next run reconnects and is green", async () => {
    await nas.restart();
    const r = await runCli(["backup", "--config", cfg, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await nasCopies()).toHaveLength(2);
    await expectEveryCopyWhole();
  }, 120_000);

  it("reboot mid-upload: no partial object is listed as a copy, and the next run is green", async () => {
    const child = spawnCli(["backup", "--config", cfg, "--json"]);
    const done = collect(child);
    await untilPartialUpload(nasDir, 1024 * 1024);
    await nas.restart();
    const r = await done;
    // The retry may land after the reboot (exit 0) or before sshd is back (exit 3): both are honest.
    expect([0, 3], r.stderr).toContain(r.code);
    const nasStatus = r.json().databases[0].destinations.find((d: any) => d.destination === "nas").status;
    expect(nasStatus).toBe(r.code === 0 ? "verified" : "failed");
    expect(await nasCopies()).toHaveLength(r.code === 0 ? 2 : 1);

    const next = await runCli(["backup", "--config", cfg, "--json"]);
    expect(next.code, next.stderr).toBe(0);
    await expectEveryCopyWhole();
  }, 120_000);

  async function nasCopies(): Promise<unknown[]> {
    const list = await runCli(["list", "--config", cfg, "--json"]);
    expect(list.code, list.stderr).toBe(0);
    return list.json().destinations.find((d: any) => d.destination === "nas").copies;
  }

  /** Every listed copy, on both destinations, is read back whole against its manifest. */
  async function expectEveryCopyWhole(): Promise<void> {
    const deep = await runCli(["verify", "--config", cfg, "--deep", "--budget", "1TB", "--json"]);
    expect(deep.code, deep.stdout + deep.stderr).toBe(0);
    expect(deep.json().errors).toBe(0);
  }
});

/** A WAL database of `mib` MiB of random blobs: incompressible, so the upload takes a moment. */
function bigDb(file: string, mib: number): void {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec(`CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${mib})
    INSERT INTO blobs (body) SELECT randomblob(1048576) FROM c;`);
  db.close();
}

/** Resolves once a temp upload (a dot name) under `root` has at least `bytes`: the upload is under way. */
async function untilPartialUpload(root: string, bytes: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const name of await readdir(path.join(root, "app")).catch(() => [] as string[])) {
      if (!name.startsWith(".")) continue;
      const size = await stat(path.join(root, "app", name)).then((s) => s.size, () => 0);
      if (size >= bytes) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no upload of ${bytes} bytes appeared under ${root} within ${timeoutMs} ms`);
}

function collect(child: ReturnType<typeof spawnCli>): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr, json: () => JSON.parse(stdout) }));
  });
}
