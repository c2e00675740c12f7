import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { openAdapter } from "../../adapters/index.js";
import type { StorageAdapter } from "../../adapters/types.js";
import { loadConfig } from "../../src/config/load.js";
import { withProgress } from "../../src/progress/observe.js";
import type { Progress, TransferLine } from "../../src/progress/terminal.js";
import { startSshd, type SshdServer } from "../helpers/sshd.js";
import { startS3rver, type S3TestServer } from "../helpers/s3rver.js";

/**
 * Issue 14, progress leftovers: uploads an adapter makes straight from the
 * staged file (local copyFile, SFTP fastPut, S3 multipart from file ranges)
 * report bytes as they go, through the progress layer the CLI puts on every
 * adapter, so a live line moves instead of sitting at 0% and jumping to 100%.
 */
const SIZE = 24 * 1024 * 1024;
let dir: string;
let file: string;
let sha256: string;
let sshd: SshdServer;
let s3: S3TestServer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tri-xferprog-"));
  file = path.join(dir, "staged.bin");
  const data = randomBytes(SIZE);
  await writeFile(file, data);
  sha256 = createHash("sha256").update(data).digest("hex");
  [sshd, s3] = await Promise.all([startSshd(), startS3rver()]);
  await mkdir(path.join(sshd.root, "prog"), { recursive: true });
  await mkdir(path.join(dir, "disk"));
  await writeFile(
    path.join(dir, "t.yml"),
    `databases:
  - { name: app, path: ${dir}/app.db }
destinations:
  - { name: disk, type: local, path: ${dir}/disk }
  - { name: nas, type: sftp, host: 127.0.0.1, port: ${sshd.port}, username: ${sshd.username}, privateKeyPath: ${JSON.stringify(sshd.privateKeyPath)}, hostKeySha256: "${sshd.hostKeySha256}", path: ${JSON.stringify(path.join(sshd.root, "prog"))} }
  - { name: cloud, type: s3, bucket: ${s3.bucket}, endpoint: ${s3.endpoint}, forcePathStyle: true, accessKeyId: ${s3.accessKeyId}, secretAccessKey: ${s3.secretAccessKey}, partSizeMB: 5 }
policy: { copies: 3, media: 1, offsite: 1 }
staging: ${dir}/staging
`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([sshd?.stop(), s3?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** A Progress that records what one destination's line was told. */
function recorder(): { progress: Progress; updates: number[] } {
  const updates: number[] = [];
  const line: TransferLine = { phase: () => undefined, update: (n) => void updates.push(n), note: () => undefined };
  const progress: Progress = { enabled: true, transfer: () => line, stage: () => undefined, log: () => undefined, stop: () => undefined };
  return { progress, updates };
}

async function open(name: string): Promise<StorageAdapter> {
  const cfg = await loadConfig(path.join(dir, "t.yml"), {});
  const d = cfg.destinations.find((x) => x.name === name)!;
  return openAdapter(d, { logger: pino({ level: "silent" }), createRoot: true });
}

const KEY = "app/20240101T000000Z-0123abcd.sqlite.zst";

describe("progress of uploads made from the staged file", () => {
  it.each(["nas", "cloud"])("%s reports bytes before the upload completes", async (name) => {
    const { progress, updates } = recorder();
    const adapter = withProgress(await open(name), name, progress);
    try {
      const info = await adapter.put(KEY, { open: () => createReadStream(file), size: SIZE, sha256, localPath: file });
      expect(info.size).toBe(SIZE);
    } finally {
      await adapter.close();
    }
    const between = updates.filter((n) => n > 0 && n < SIZE);
    expect(between.length, `updates: ${updates.slice(0, 20).join(",")}`).toBeGreaterThan(0);
    expect(updates.at(-1)).toBe(SIZE);
    // Throttled: a 24 MB upload in 32 KB requests would be ~770 calls without it.
    expect(updates.length).toBeLessThan(200);
  }, 60_000);

  it("a local copy ends at its full size", async () => {
    const { progress, updates } = recorder();
    const adapter = withProgress(await open("disk"), "disk", progress);
    try {
      await adapter.put(KEY, { open: () => createReadStream(file), size: SIZE, sha256, localPath: file });
    } finally {
      await adapter.close();
    }
    expect(updates.at(-1)).toBe(SIZE);
    expect(updates.every((n) => n >= 0 && n <= SIZE)).toBe(true);
  });
});

describe("free space of a destination", () => {
  it.each(["disk", "nas"])("%s tells its free and total bytes (statfs, statvfs@openssh.com)", async (name) => {
    const adapter = await open(name);
    try {
      const fs = await adapter.freeSpace?.();
      expect(fs, "freeSpace").toBeDefined();
      expect(fs!.size).toBeGreaterThan(0);
      expect(fs!.free).toBeGreaterThan(0);
      expect(fs!.free).toBeLessThanOrEqual(fs!.size);
    } finally {
      await adapter.close();
    }
  });

  it("S3 has no such figure", async () => {
    const adapter = await open("cloud");
    try {
      expect(await adapter.freeSpace?.()).toBeUndefined();
    } finally {
      await adapter.close();
    }
  });
});

