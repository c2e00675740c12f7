import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { open, readdir, readFile, rename, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { startSshd, type SshdServer } from "../helpers/sshd.js";
import { startS3rver, testS3Client, type S3TestServer } from "../helpers/s3rver.js";

/**
 * The product as the DESIGN means it: one backup lands on a local folder, a
 * NAS over SFTP (real OpenSSH) and S3 (s3rver), all on loopback.
 */
let sshd: SshdServer;
let s3: S3TestServer;
let dir: string;
let cleanup: () => Promise<void>;
let nasRoot: string;

beforeAll(async () => {
  [sshd, s3] = await Promise.all([startSshd(), startS3rver()]);
});
afterAll(async () => {
  await Promise.all([sshd?.stop(), s3?.stop()]);
});
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-3dest-"));
  nasRoot = path.join(sshd.root, path.basename(dir));
  createSampleDb(path.join(dir, "app.db"), 1500);
});
afterEach(async () => cleanup());

async function config(opts: { hostKey?: string; policy?: string; prefix?: string } = {}): Promise<{ file: string; env: NodeJS.ProcessEnv }> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]
destinations:
  - { name: local, type: local, path: ${JSON.stringify(path.join(dir, "local"))} }
  - name: nas
    type: sftp
    host: 127.0.0.1
    port: ${sshd.port}
    username: ${sshd.username}
    privateKeyPath: ${JSON.stringify(sshd.privateKeyPath)}
    hostKeySha256: "${opts.hostKey ?? sshd.hostKeySha256}"
    path: ${JSON.stringify(nasRoot)}
    connectTimeoutSeconds: 5
    retry: { retries: 1, minDelayMs: 50, maxDelayMs: 100 }
  - name: offsite
    type: s3
    bucket: ${s3.bucket}
    prefix: ${opts.prefix ?? path.basename(dir)}/
    endpoint: ${s3.endpoint}
    forcePathStyle: true
    accessKeyId: \${TEST_S3_KEY}
    secretAccessKey: \${TEST_S3_SECRET}
policy: ${opts.policy ?? "{ copies: 4, media: 3, offsite: 1 }"}
staging: ${JSON.stringify(path.join(dir, "staging"))}
# each run here must ship a snapshot of its own, even when the source did not change
unchanged: upload
`,
  );
  return { file, env: { TEST_S3_KEY: s3.accessKeyId, TEST_S3_SECRET: s3.secretAccessKey } };
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("one backup, three destinations (local, SFTP, S3)", () => {
  it("lands everywhere in parallel with matching checksums, and 3-2-1 is met", async () => {
    const { file, env } = await config();
    const r = await runCli(["backup", "--init", "--config", file, "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    const run = r.json().databases[0];
    expect(run.destinations.map((d: any) => [d.destination, d.status])).toEqual([["local", "verified"], ["nas", "verified"], ["offsite", "verified"]]);
    // OpenSSH flushes every put (fsync@openssh.com); local fsyncs; S3 acknowledges only stored objects.
    expect(run.destinations.map((d: any) => d.durability)).toEqual(["confirmed", "confirmed", "confirmed"]);
    for (const d of run.destinations) {
      expect(d.bytes).toBe(run.artifact.size);
      expect(d.durationMs).toBeGreaterThan(0);
    }
    expect(run.policy.media).toEqual(["disk", "nas", "object-storage"]);
    expect(run.policy.offsite).toEqual(["offsite"]);
    // Each store holds the same bytes: read them straight from the stores.
    expect(sha256(await readFile(path.join(dir, "local", run.artifact.key)))).toBe(run.artifact.sha256);
    expect(sha256(await readFile(path.join(nasRoot, run.artifact.key)))).toBe(run.artifact.sha256);
    const s3c = testS3Client(s3);
    const head = await s3c.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${path.basename(dir)}/${run.artifact.key}` }));
    expect(head.Metadata?.sha256).toBe(run.artifact.sha256);
    // No temp names left on the NAS.
    const onNas = (await readdir(path.join(nasRoot, "app"))).sort();
    expect(onNas).toEqual([`${run.snapshotId}.manifest.json`, expect.stringMatching(/\.proof-.*-read-back-ok-/), path.basename(run.artifact.key)]);
  });

  it("the NAS is down: the other two complete, exit 3, and the report names the rule and the NAS", async () => {
    const { file, env } = await config();
    await sshd.kill();
    try {
      const r = await runCli(["backup", "--init", "--config", file, "--json"], { env });
      expect(r.code, r.stderr).toBe(3);
      const run = r.json().databases[0];
      expect(run.destinations.map((d: any) => d.status)).toEqual(["verified", "failed", "verified"]);
      const copies = run.policy.rules.find((x: any) => x.rule === "copies");
      expect(copies.pass).toBe(false);
      expect(copies.reason).toMatch(/nas \(/);
      const human = await runCli(["backup", "--config", file], { env });
      expect(human.stdout).toMatch(/FAIL\s+copies/);
    } finally {
      await sshd.restart();
    }
  });

  it("every store carries its marker: an unmounted NAS volume and an unmarked S3 prefix are not initialised, nothing is created; copies without a marker are adopted", async () => {
    const { file, env } = await config();
    const first = await runCli(["backup", "--init", "--config", file, "--json"], { env });
    expect(first.code, first.stderr).toBe(0);
    const markers = first.json().destinations.map((d: any) => [d.destination, d.marker.status]);
    expect(markers).toEqual([["local", "created"], ["nas", "created"], ["offsite", "created"]]);
    const ids = first.json().destinations.map((d: any) => d.marker.id);
    expect(new Set(ids).size).toBe(3);
    expect(JSON.parse(await readFile(path.join(nasRoot, "triplicate-destination.json"), "utf8")).id).toBe(ids[1]);
    const key = `${path.basename(dir)}/triplicate-destination.json`;
    await testS3Client(s3).send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));

    // The NAS volume is not mounted (its folder is gone) and the S3 prefix is a new, empty one.
    await rename(nasRoot, `${nasRoot}-unmounted`);
    const other = await config({ prefix: `${path.basename(dir)}-elsewhere` });
    const r = await runCli(["backup", "--config", other.file, "--json"], { env: other.env });
    expect(r.code, r.stderr).toBe(3);
    const dests = r.json().databases[0].destinations;
    expect(dests.map((d: any) => d.status)).toEqual(["verified", "failed", "failed"]);
    expect(dests[1].error).toContain(`nas is not initialised or not mounted: the folder ${nasRoot} does not exist on the server`);
    expect(dests[2].error).toMatch(/offsite is not initialised or not mounted: s3:\S+-elsewhere\S* exists but holds no triplicate-destination\.json and no copies/);
    await expect(readdir(nasRoot)).rejects.toThrow();
    const listed = await testS3Client(s3).send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${path.basename(dir)}-elsewhere/` }));
    expect(listed.KeyCount ?? 0).toBe(0);

    // Back in place; the S3 marker lost (as a version before markers left the prefix): adopted.
    await rename(`${nasRoot}-unmounted`, nasRoot);
    await testS3Client(s3).send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    await config(); // the original config again (config() rewrites one file)
    const again = await runCli(["backup", "--config", file, "--json"], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.json().destinations.map((d: any) => [d.destination, d.marker.status])).toEqual([["local", "found"], ["nas", "found"], ["offsite", "adopted"]]);
    expect(again.json().destinations[1].marker.id).toBe(ids[1]);
  });

  it("a wrong host key is refused before any upload, showing the key the server offered", async () => {
    const { file, env } = await config({ hostKey: "SHA256:" + "A".repeat(43) });
    const r = await runCli(["backup", "--init", "--config", file, "--json"], { env });
    expect(r.code).toBe(3);
    const nas = r.json().databases[0].destinations[1];
    expect(nas.status).toBe("failed");
    expect(nas.error).toContain(sshd.hostKeySha256);
    await expect(readdir(nasRoot)).rejects.toThrow(); // nothing was created on the NAS
  });

  it("restore: local copy damaged and NAS down → restored from S3; local damaged only → restored from the NAS", async () => {
    const { file, env } = await config();
    const b = await runCli(["backup", "--init", "--config", file, "--json"], { env });
    expect(b.code, b.stderr).toBe(0);
    const run = b.json().databases[0];
    const localArtifact = path.join(dir, "local", run.artifact.key);
    const h = await open(localArtifact, "r+");
    await h.write(Buffer.from([0x00, 0xff, 0x00]), 0, 3, 100);
    await h.close();

    const fromNas = await runCli(["restore", "app", "--config", file, "--to", path.join(dir, "r1.db"), "--json"], { env });
    expect(fromNas.code, fromNas.stderr).toBe(3); // restored from the NAS; the damaged local copy is news
    expect(fromNas.json().restored.destination).toBe("nas");
    expect(fromNas.json().attempts[0]).toMatchObject({ destination: "local", ok: false });

    await truncate(localArtifact, 50);
    await sshd.kill();
    try {
      const fromS3 = await runCli(["restore", "app", "--config", file, "--to", path.join(dir, "r2.db"), "--json"], { env });
      expect(fromS3.code, fromS3.stderr).toBe(3); // restored; the NAS being down is reported
      const rep = fromS3.json();
      expect(rep.unreachable.map((u: any) => u.destination)).toEqual(["nas"]);
      expect(rep.restored).toMatchObject({ destination: "offsite", snapshotId: run.snapshotId });
    } finally {
      await sshd.restart();
    }
  });
});
