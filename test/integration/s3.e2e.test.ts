import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { DeleteObjectCommand, HeadObjectCommand, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { startMoto } from "../helpers/moto.js";
import { startS3rver, testS3Client, type S3TestServer } from "../helpers/s3rver.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-s3e2e-"));
  createSampleDb(path.join(dir, "app.db"), 800);
});
afterEach(async () => cleanup());

/** Credentials reach the config through ${ENV}, as an operator would keep them. */
async function config(s3: S3TestServer, extra = "", s3extra = ""): Promise<{ file: string; env: NodeJS.ProcessEnv }> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]
destinations:
  - { name: local, type: local, path: ${JSON.stringify(path.join(dir, "local"))} }
  - name: offsite
    type: s3
    bucket: ${s3.bucket}
    prefix: sqlite/
    endpoint: ${s3.endpoint}
    forcePathStyle: true
    accessKeyId: \${TEST_S3_KEY}
    secretAccessKey: \${TEST_S3_SECRET}
    retry: { retries: 1, minDelayMs: 50, maxDelayMs: 100 }
${s3extra}
policy: { copies: 3, media: 2, offsite: 1 }
# Some tests pin this host's clock (TRIPLICATE_NOW) to past nights; the server's clock is real.
guard: { maxClockSkew: 100y }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# each run here must ship a snapshot of its own, even when the source did not change
unchanged: upload
${extra}`,
  );
  return { file, env: { TEST_S3_KEY: s3.accessKeyId, TEST_S3_SECRET: s3.secretAccessKey } };
}

const client = testS3Client;

describe("backup, verify and restore with S3 (s3rver)", () => {
  let s3: S3TestServer;
  beforeAll(async () => void (s3 = await startS3rver()));
  afterAll(async () => s3?.stop());

  it("lands on the local folder and the bucket with matching checksums, then restores from S3", async () => {
    const { file, env } = await config(s3);
    const r = await runCli(["backup", "--init", "--config", file, "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    const run = r.json().databases[0];
    expect(run.destinations.map((d: any) => [d.destination, d.status])).toEqual([["local", "verified"], ["offsite", "verified"]]);
    expect(run.policy.pass).toBe(true);
    const head = await client(s3).send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `sqlite/${run.artifact.key}` }));
    expect(head.Metadata?.sha256).toBe(run.artifact.sha256);
    expect(head.ContentLength).toBe(run.artifact.size);

    const deep = await runCli(["verify", "--config", file, "--deep", "--json"], { env });
    expect(deep.code, deep.stderr).toBe(0);
    const to = path.join(dir, "restored.db");
    const restored = await runCli(["restore", "app", "--config", file, "--from", "offsite", "--to", to, "--json"], { env });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.json().restored).toMatchObject({ destination: "offsite", snapshotId: run.snapshotId });
  });

  it("a missing bucket is a clear error; the local copy still lands (exit 3)", async () => {
    const { file, env } = await config({ ...s3, bucket: "no-such-bucket" });
    const r = await runCli(["backup", "--init", "--config", file, "--json"], { env });
    expect(r.code).toBe(3);
    const offsite = r.json().databases[0].destinations[1];
    expect(offsite.status).toBe("failed");
    expect(offsite.error).toMatch(/no-such-bucket.*does not exist/);
  });
});

describe("S3 with signatures checked and Object Lock enforced (moto_server)", () => {
  let moto: S3TestServer;
  beforeAll(async () => void (moto = await startMoto({ objectLock: true })));
  afterAll(async () => moto?.stop());

  it("a wrong secret is refused with a clear error, and the secret is never printed", async () => {
    const wrong = "WRONG-secret-that-must-never-be-printed-1234567890";
    const { file, env } = await config({ ...moto, secretAccessKey: wrong });
    const r = await runCli(["backup", "--init", "--config", file, "--json", "--log-level", "debug"], { env });
    expect(r.code).toBe(3);
    const offsite = r.json().databases[0].destinations[1];
    expect(offsite.error).toMatch(/refused: check the access key and secret/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(r.stdout + r.stderr).not.toContain(moto.secretAccessKey);
  });

  it("objectLock: every copy is locked, retention skips locked copies and says why, the store refuses deletes", async () => {
    const { file, env } = await config(moto, "", "    objectLock: { mode: COMPLIANCE, days: 1 }\n    retention: { keepLast: 1 }");
    const cfgText = `${file}`;
    const first = await runCli(["backup", "--init", "--config", cfgText, "--json"], { env: { ...env, TRIPLICATE_NOW: "2026-11-24T02:00:00Z" } });
    expect(first.code, first.stderr).toBe(0);
    const firstRun = first.json().databases[0];
    expect(firstRun.destinations[1].lockedUntil).toBeTruthy();

    const second = await runCli(["backup", "--config", cfgText, "--json"], { env: { ...env, TRIPLICATE_NOW: "2026-11-25T02:00:00Z" } });
    expect(second.code, second.stderr).toBe(0);
    const retention = second.json().databases[0].destinations[1].retention;
    expect(retention.deleted).toEqual([]);
    const keptOld = retention.kept.find((k: any) => k.snapshotId === firstRun.snapshotId);
    expect(keptOld.reasons.join(" ")).toMatch(/under Object Lock until/);

    const s3 = client(moto);
    const manifestKey = `sqlite/app/${firstRun.snapshotId}.manifest.json`;
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: moto.bucket, Prefix: manifestKey }));
    const v = versions.Versions![0];
    await expect(s3.send(new DeleteObjectCommand({ Bucket: moto.bucket, Key: manifestKey, VersionId: v.VersionId }))).rejects.toThrow(/AccessDenied|Access Denied|locked|retention/i);

    const list = await runCli(["list", "--config", cfgText, "--json"], { env });
    const offsite = list.json().destinations.find((d: any) => d.destination === "offsite");
    expect(offsite.copies.map((c: any) => c.state)).toEqual(["complete", "complete"]);
    expect(offsite.copies[0].lockedUntil).toBeTruthy();
  });
});
