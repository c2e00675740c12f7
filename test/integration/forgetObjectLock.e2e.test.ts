import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { startMoto } from "../helpers/moto.js";
import { testS3Client, type S3TestServer } from "../helpers/s3rver.js";

/**
 * `forget` and S3 Object Lock end to end (moto enforces COMPLIANCE locks):
 * without --force a locked copy is refused before anything is deleted
 * anywhere (exit 2); with --force the unlocked copies go and the store
 * refuses the locked one, which the report names with its date (exit 3).
 */
let dir: string;
let cleanup: () => Promise<void>;
let moto: S3TestServer;
beforeAll(async () => void (moto = await startMoto({ objectLock: true })));
afterAll(async () => moto?.stop());
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-forgetlock-"));
  createSampleDb(path.join(dir, "app.db"), 200);
});
afterEach(async () => cleanup());

async function config(): Promise<{ file: string; env: NodeJS.ProcessEnv }> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]
destinations:
  - { name: local, type: local, path: ${JSON.stringify(path.join(dir, "local"))} }
  - name: offsite
    type: s3
    bucket: ${moto.bucket}
    prefix: sqlite/
    endpoint: ${moto.endpoint}
    forcePathStyle: true
    accessKeyId: \${TEST_S3_KEY}
    secretAccessKey: \${TEST_S3_SECRET}
    retry: { retries: 1, minDelayMs: 50, maxDelayMs: 100 }
    objectLock: { mode: COMPLIANCE, days: 1 }
policy: { copies: 3, media: 2, offsite: 1 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
unchanged: upload
`,
  );
  return { file, env: { TEST_S3_KEY: moto.accessKeyId, TEST_S3_SECRET: moto.secretAccessKey } };
}

const localFiles = async () => (await readdir(path.join(dir, "local", "app"))).sort();
async function s3Versions(snapshotId: string): Promise<number> {
  const v = await testS3Client(moto).send(new ListObjectVersionsCommand({ Bucket: moto.bucket, Prefix: `sqlite/app/${snapshotId}` }));
  return (v.Versions ?? []).length;
}

describe("forget a copy under S3 Object Lock (moto, COMPLIANCE)", () => {
  it("without --force: refused, exit 2, nothing deleted anywhere; with --force: the local copy goes, the locked one stays and is named", async () => {
    const { file, env } = await config();
    const first = await runCli(["backup", "--init", "--json", "--config", file], { env });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const old = first.json().databases[0].snapshotId;
    expect(first.json().databases[0].destinations[1].lockedUntil).toBeTruthy();
    expect((await runCli(["backup", "--config", file], { env })).code).toBe(0);
    const local = await localFiles();
    const versions = await s3Versions(old);
    expect(versions).toBeGreaterThanOrEqual(3); // manifest, artifact, proof

    const refused = await runCli(["forget", "app", old, "--config", file], { env });
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/under Object Lock on offsite \(until \d{4}-/);
    expect(refused.stderr).toContain("nothing was deleted");
    expect(refused.stderr).toMatch(/never bypasses a lock/);
    expect(await localFiles()).toEqual(local);
    expect(await s3Versions(old)).toBe(versions);

    const forced = await runCli(["forget", "app", old, "--force", "--json", "--config", file], { env });
    expect(forced.code, forced.stdout + forced.stderr).toBe(3);
    const byDest = Object.fromEntries(forced.json().destinations.map((d: any) => [d.destination, d]));
    expect(byDest.local.errors).toEqual([]);
    expect(byDest.local.deleted.length).toBeGreaterThanOrEqual(3);
    expect(byDest.offsite.deleted).toEqual([]);
    expect(byDest.offsite.errors.join(" ")).toMatch(/under Object Lock \(COMPLIANCE\) until \d{4}-.*cannot be deleted before then/);
    expect((await localFiles()).some((f) => f.startsWith(old))).toBe(false);
    expect(await s3Versions(old)).toBe(versions);

    // The locked copy is still a complete copy: list and restore find it.
    const list = await runCli(["list", "--json", "--config", file], { env });
    const offsite = list.json().destinations.find((d: any) => d.destination === "offsite");
    expect(offsite.copies.filter((c: any) => c.snapshotId === old).map((c: any) => c.state)).toEqual(["complete"]);
  });
});
