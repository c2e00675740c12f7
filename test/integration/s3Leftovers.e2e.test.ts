/**
 * Our own multipart uploads that a crash left behind (a SIGKILL between
 * CreateMultipartUpload and Complete) are aborted by a later run once older
 * than leftoverGrace; younger ones, and anything outside our databases'
 * prefixes, are left alone. moto dates every upload 2010-11-10, so "older"
 * is the default 24h grace and "younger" is a grace reaching back before 2010.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { startMoto } from "../helpers/moto.js";
import { testS3Client, type S3TestServer } from "../helpers/s3rver.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-s3left-"));
  createSampleDb(path.join(dir, "app.db"), 200);
});
afterEach(async () => cleanup());

let s3: S3TestServer;
beforeAll(async () => void (s3 = await startMoto()), 60_000);
afterAll(async () => s3?.stop());

async function config(prefix: string, grace: string): Promise<{ file: string; env: NodeJS.ProcessEnv }> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]
destinations:
  - { name: local, type: local, path: ${JSON.stringify(path.join(dir, "local"))} }
  - name: offsite
    type: s3
    bucket: ${s3.bucket}
    prefix: ${prefix}
    endpoint: ${s3.endpoint}
    forcePathStyle: true
    accessKeyId: \${TEST_S3_KEY}
    secretAccessKey: \${TEST_S3_SECRET}
policy: { copies: 2, media: 1, offsite: 1 }
guard: { maxClockSkew: 100y }
leftoverGrace: ${grace}
staging: ${JSON.stringify(path.join(dir, "staging"))}
`,
  );
  return { file, env: { TEST_S3_KEY: s3.accessKeyId, TEST_S3_SECRET: s3.secretAccessKey } };
}

/** What a run killed mid-upload leaves: a multipart upload with one part and no Complete. */
async function abandonedUpload(key: string): Promise<void> {
  const c = testS3Client(s3);
  try {
    const mpu = await c.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
    await c.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId: mpu.UploadId, PartNumber: 1, Body: randomBytes(5 * 1024 * 1024) }));
  } finally {
    c.destroy();
  }
}

async function uploadsUnder(prefix: string): Promise<string[]> {
  const c = testS3Client(s3);
  try {
    const page = await c.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: prefix }));
    return (page.Uploads ?? []).map((u) => u.Key!).sort();
  } finally {
    c.destroy();
  }
}

let seq = 0;
describe("multipart uploads a crash left behind (moto)", () => {
  it("are aborted by the next backup once older than leftoverGrace; other prefixes are left alone", async () => {
    const prefix = `left-${process.pid}-${++seq}/`;
    await abandonedUpload(`${prefix}app/app-20990101T000000Z-dead.sqlite.zst`);
    await abandonedUpload(`${prefix}other/foreign.bin`); // not a database of this config
    await abandonedUpload(`elsewhere-${seq}/app/x.sqlite.zst`); // outside our prefix
    const { file, env } = await config(prefix, "24h");
    const r = await runCli(["backup", "--init", "--config", file, "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    const offsite = r.json().databases[0].destinations.find((d: { destination: string }) => d.destination === "offsite");
    expect(offsite.retention.temporarySwept).toEqual(["app/app-20990101T000000Z-dead.sqlite.zst"]);
    expect(await uploadsUnder(prefix)).toEqual([`${prefix}other/foreign.bin`]);
    expect(await uploadsUnder(`elsewhere-${seq}/`)).toEqual([`elsewhere-${seq}/app/x.sqlite.zst`]);
  }, 120_000);

  it("are kept while younger than leftoverGrace (a run may still be uploading them)", async () => {
    const prefix = `young-${process.pid}-${++seq}/`;
    await abandonedUpload(`${prefix}app/app-20990101T000000Z-live.sqlite.zst`);
    const { file, env } = await config(prefix, "30y"); // reaches back before moto's 2010 date
    const r = await runCli(["backup", "--init", "--config", file, "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    const offsite = r.json().databases[0].destinations.find((d: { destination: string }) => d.destination === "offsite");
    expect(offsite.retention.temporarySwept).toEqual([]);
    expect(await uploadsUnder(prefix)).toEqual([`${prefix}app/app-20990101T000000Z-live.sqlite.zst`]);
  }, 120_000);
});
