import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { startSshd, type SshdServer } from "../helpers/sshd.js";

/**
 * Issue 14, free space where the destination can tell: an SFTP destination
 * on OpenSSH answers statvfs@openssh.com, so the metrics textfile and the
 * audit's run history show its free space, as they do a local folder's,
 * and only where its destination marker is.
 */
const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => { name: string; metrics: { value: string; labels?: Record<string, string> }[] }[];

let dir: string;
let cleanup: () => Promise<void>;
let sshd: SshdServer;
let cfg: string;
const remote = () => path.join(sshd.root, "free");

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("tri-freesftp-"));
  sshd = await startSshd();
  await mkdir(remote(), { recursive: true });
  createSampleDb(path.join(dir, "app.db"), 50);
  cfg = path.join(dir, "t.yml");
  await writeFile(
    cfg,
    `databases:
  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }
  - { name: nas, type: sftp, medium: nas, host: 127.0.0.1, port: ${sshd.port}, username: ${sshd.username}, privateKeyPath: ${JSON.stringify(sshd.privateKeyPath)}, hostKeySha256: "${sshd.hostKeySha256}", path: ${JSON.stringify(remote())} }
policy: { copies: 2, media: 2, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
metrics: { textfile: ${JSON.stringify(path.join(dir, "triplicate.prom"))} }
`,
  );
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await cleanup?.();
});

async function freeOf(destination: string): Promise<{ free?: number; size?: number }> {
  const families = parse(await readFile(path.join(dir, "triplicate.prom"), "utf8"));
  const pick = (name: string) => families.find((f) => f.name === name)?.metrics.find((m) => m.labels?.destination === destination)?.value;
  const free = pick("triplicate_destination_free_bytes");
  const size = pick("triplicate_destination_size_bytes");
  return { free: free === undefined ? undefined : Number(free), size: size === undefined ? undefined : Number(size) };
}

describe("free space of an SFTP destination", () => {
  it("is in the metrics textfile after a backup, and in the audit's history", async () => {
    const b = await runCli(["backup", "--init", "--config", cfg]);
    expect(b.code, b.stderr).toBe(0);
    const nas = await freeOf("nas");
    expect(nas.free).toBeGreaterThan(0);
    expect(nas.size).toBeGreaterThanOrEqual(nas.free!);
    expect((await freeOf("disk")).free).toBeGreaterThan(0);

    const a = await runCli(["audit", "--json", "--config", cfg]);
    const h = a.json().runHistory;
    expect(h.destinations.find((d: any) => d.destination === "nas")).toMatchObject({ freeBytes: expect.any(Number), totalBytes: expect.any(Number) });
    expect(h.destinations.find((d: any) => d.destination === "nas").freeBytes).toBeGreaterThan(0);
  }, 120_000);

  it("is not reported for a folder without the destination marker (an empty mount point, a wrong path)", async () => {
    const empty = path.join(sshd.root, "empty");
    await mkdir(empty, { recursive: true });
    const other = path.join(dir, "empty.yml");
    await writeFile(other, (await readFile(cfg, "utf8")).replace(JSON.stringify(remote()), JSON.stringify(empty)));
    const a = await runCli(["audit", "--json", "--config", other]);
    expect(a.stderr + a.stdout).toContain("not initialised");
    expect((await freeOf("nas")).free).toBeUndefined();
    expect((await freeOf("disk")).free).toBeGreaterThan(0);
    await expect(readdir(empty)).resolves.toEqual([]);
  }, 120_000);
});
