import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { startSshd, type SshdServer } from "../helpers/sshd.js";
import { startS3rver, type S3TestServer } from "../helpers/s3rver.js";

/**
 * Issue 15, fleets: one run backs up every tenant over one SFTP connection
 * and one S3 client per destination (opened once per run, shared by every
 * database), and a second night where nothing changed uploads nothing.
 */
let sshd: SshdServer;
let s3: S3TestServer;
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ([sshd, s3] = await Promise.all([startSshd(), startS3rver()])));
afterAll(async () => Promise.all([sshd?.stop(), s3?.stop()]));
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-fleetnet-"));
  await mkdir(path.join(dir, "tenants"));
  for (let i = 1; i <= 6; i++) createSampleDb(path.join(dir, "tenants", `t${i}.db`), 40);
});
afterEach(async () => cleanup());

async function config(): Promise<{ file: string; env: NodeJS.ProcessEnv }> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases: [{ path: ${JSON.stringify(path.join(dir, "tenants", "*.db"))} }]
destinations:
  - { name: local, type: local, path: ${JSON.stringify(path.join(dir, "local"))} }
  - { name: nas, type: sftp, host: 127.0.0.1, port: ${sshd.port}, username: ${sshd.username}, privateKeyPath: ${JSON.stringify(sshd.privateKeyPath)}, hostKeySha256: "${sshd.hostKeySha256}", path: ${JSON.stringify(path.join(sshd.root, path.basename(dir)))} }
  - { name: offsite, type: s3, bucket: ${s3.bucket}, prefix: ${path.basename(dir)}/, endpoint: ${s3.endpoint}, forcePathStyle: true, accessKeyId: "\${K}", secretAccessKey: "\${S}" }
policy: { copies: 4, media: 3, offsite: 1, maxAge: 26h }
concurrency: { snapshots: 2, uploads: 3 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
`,
  );
  return { file, env: { K: s3.accessKeyId, S: s3.secretAccessKey } };
}

const sessions = async () => ((await sshd.log()).match(/Accepted publickey/g) ?? []).length;

describe("a fleet over the network", () => {
  it("six tenants, one SSH connection per run; the unchanged second night uploads nothing and is still judged current", async () => {
    const { file, env } = await config();
    const before = await sessions();
    const first = await runCli(["backup", "--init", "--json", "--config", file], { env });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.json().databases).toHaveLength(6);
    for (const db of first.json().databases) expect(db.destinations.map((d: any) => d.status)).toEqual(["verified", "verified", "verified"]);
    expect(await sessions()).toBe(before + 1);

    const second = await runCli(["backup", "--json", "--config", file], { env });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    for (const db of second.json().databases) {
      expect(db.unchanged?.snapshotId, db.db).toBe(first.json().databases.find((d: any) => d.db === db.db).snapshotId);
      expect(db.destinations.map((d: any) => [d.status, d.bytes])).toEqual([["unchanged", 0], ["unchanged", 0], ["unchanged", 0]]);
      expect(db.policy.pass).toBe(true);
    }
    expect(await sessions()).toBe(before + 2);
  });
});
