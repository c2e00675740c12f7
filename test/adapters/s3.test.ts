import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import pino from "pino";
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { createS3Adapter, parseS3Config, type S3Tuning } from "../../adapters/s3/index.js";
import { openAdapter } from "../../adapters/index.js";
import type { DestinationConfig } from "../../src/config/schema.js";
import type { BlobSource, StorageAdapter } from "../../adapters/types.js";
import {
  AuthError,
  ChecksumMismatchError,
  DestinationConfigError,
  NotFoundError,
  PermanentError,
  TransientError,
} from "../../adapters/errors.js";
import { describeAdapterContract } from "./contract.js";
import { bufferSource, readAll } from "../helpers/blob.js";
import { startS3rver, testS3Client } from "../helpers/s3rver.js";
import { startMoto } from "../helpers/moto.js";
import type { S3TestServer } from "../helpers/s3rver.js";

const logger = pino({ level: "silent" });
const MB = 1024 * 1024;

// One server of each kind for the whole file; every adapter gets its own
// prefix, so each one starts on an empty root. Stopped in the afterAll below.
const servers: Promise<S3TestServer>[] = [];
function lazy(start: () => Promise<S3TestServer>): () => Promise<S3TestServer> {
  let p: Promise<S3TestServer> | undefined;
  return () => {
    if (!p) {
      p = start();
      servers.push(p);
    }
    return p;
  };
}
const s3rver = lazy(startS3rver);
const moto = lazy(() => startMoto());
const motoLocked = lazy(() => startMoto({ objectLock: true }));
afterAll(async () => {
  await Promise.all(servers.map((p) => p.then((s) => s.stop(), () => undefined)));
}, 30_000);

let seq = 0;
const freshPrefix = (label: string) => `${label}-${process.pid}-${++seq}-${randomBytes(3).toString("hex")}/`;

async function adapterFor(
  server: S3TestServer,
  overrides: Record<string, unknown> = {},
  tuning: S3Tuning = {},
): Promise<StorageAdapter> {
  const config = parseS3Config({
    bucket: server.bucket,
    prefix: freshPrefix("t"),
    endpoint: server.endpoint,
    forcePathStyle: true,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    ...overrides,
  });
  return createS3Adapter(config, { logger }, tuning);
}

const rawClient = testS3Client;

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Every message along an error's cause chain. */
function messagesOf(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 10; e = e.cause as typeof e, i++) {
    out.push(String(e.message ?? ""), JSON.stringify(e, Object.getOwnPropertyNames(e)));
  }
  return out;
}

/** A BlobSource whose bytes are also a file on disk (a staged artifact), as the backup hands to adapters. */
const stagedDir = mkdtempSync(path.join(tmpdir(), "s3-staged-"));
afterAll(() => rmSync(stagedDir, { recursive: true, force: true }));
function stagedSource(data: Buffer, overrides: Partial<BlobSource> = {}): BlobSource {
  const file = path.join(stagedDir, `${++seq}.bin`);
  writeFileSync(file, data);
  return { ...bufferSource(data), localPath: file, ...overrides };
}

async function keysOf(a: StorageAdapter, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of a.list(prefix)) out.push(o.key);
  return out.sort();
}

// ---------------------------------------------------------------------------
// The shared contract, against every server
// ---------------------------------------------------------------------------

describeAdapterContract("s3 (s3rver)", async () => ({ adapter: await adapterFor(await s3rver()) }));
describeAdapterContract("s3 (moto_server)", async () => ({ adapter: await adapterFor(await moto()) }));

// No MinIO suite: its image comes from a registry, and none is reachable here
// (test/containers/ builds images from Debian's packages, which carry no MinIO,
// and bookworm has no python3-moto for an S3 container). The strict S3 server
// is moto_server on loopback, above.

// ---------------------------------------------------------------------------
// Behaviour both loopback servers must show
// ---------------------------------------------------------------------------

for (const [name, server] of [
  ["s3rver", s3rver],
  ["moto_server", moto],
] as const) {
  describe(`s3 adapter on ${name}`, () => {
    it("lists across several pages", async () => {
      const a = await adapterFor(await server(), {}, { listPageSize: 2 });
      try {
        for (const k of ["p/1", "p/2", "p/3", "p/4", "p/5"]) await a.put(k, bufferSource(k));
        await a.put("q/other", bufferSource("not listed"));
        expect(await keysOf(a, "p/")).toEqual(["p/1", "p/2", "p/3", "p/4", "p/5"]);
        expect(await keysOf(a, "")).toHaveLength(6);
      } finally {
        await a.close();
      }
    });

    it("the store's own SHA-256 (sent with the upload, read back with ChecksumMode) is reported apart from our metadata", async () => {
      const a = await adapterFor(await server(), { checksumMode: "when_supported" });
      try {
        const src = bufferSource(randomBytes(100_000));
        const put = await a.put("sum/one.bin", src);
        const st = await a.stat("sum/one.bin");
        expect(st.sha256).toBe(src.sha256); // our x-amz-meta-sha256: a consistency check, not a proof
        if (name === "moto_server") {
          // moto computes and keeps the checksum it was sent: the store-checksum proof level.
          expect(st.storeSha256).toBe(src.sha256);
          expect(put.storeSha256).toBe(src.sha256);
        } else {
          // s3rver ignores checksums: no store checksum, so no such proof is claimed.
          expect(st.storeSha256 ?? src.sha256).toBe(src.sha256);
        }
      } finally {
        await a.close();
      }
    });

    it("put returns the store's own time stamp of the write (storeTime), close to now", async () => {
      const a = await adapterFor(await server());
      try {
        const before = Date.now();
        const info = await a.put("clock/x", bufferSource("x"));
        expect(info.storeTime).toBeInstanceOf(Date);
        // Last-Modified is in whole seconds: up to a second before the write began.
        expect(info.storeTime!.getTime()).toBeGreaterThanOrEqual(before - 1000);
        expect(info.storeTime!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      } finally {
        await a.close();
      }
    });

    it("round-trips a 12 MB multipart upload with its sha256", async () => {
      const a = await adapterFor(await server(), { partSizeMB: 5, queueSize: 2 });
      try {
        const data = randomBytes(12 * MB);
        const src = bufferSource(data);
        const info = await a.put("big/blob.bin", src);
        expect(info.size).toBe(data.length);
        const st = await a.stat("big/blob.bin");
        expect(st.size).toBe(data.length);
        expect(st.sha256).toBe(src.sha256);
        expect(sha256(await readAll(await a.get("big/blob.bin")))).toBe(src.sha256);
      } finally {
        await a.close();
      }
    });

    it("round-trips a 12 MB multipart upload from a staged file (localPath) with its sha256", async () => {
      const a = await adapterFor(await server(), { partSizeMB: 5, queueSize: 2 });
      try {
        const data = randomBytes(12 * MB);
        const src = stagedSource(data, { open: () => { throw new Error("a staged file is read from localPath"); } });
        const info = await a.put("big/staged.bin", src);
        expect(info.size).toBe(data.length);
        const st = await a.stat("big/staged.bin");
        expect(st.size).toBe(data.length);
        expect(st.sha256).toBe(src.sha256);
        expect(sha256(await readAll(await a.get("big/staged.bin")))).toBe(src.sha256);
      } finally {
        await a.close();
      }
    });

    it("refuses a staged file whose bytes or size do not match, before anything is committed", async () => {
      const a = await adapterFor(await server(), { partSizeMB: 5 });
      try {
        const data = randomBytes(11 * MB);
        await expect(a.put("big/lie.bin", stagedSource(data, { sha256: "0".repeat(64) }))).rejects.toBeInstanceOf(ChecksumMismatchError);
        await expect(a.put("big/short.bin", stagedSource(data, { size: data.length + 1 }))).rejects.toThrow(/expected/);
        await expect(a.stat("big/lie.bin")).rejects.toBeInstanceOf(NotFoundError);
        await expect(a.stat("big/short.bin")).rejects.toBeInstanceOf(NotFoundError);
        expect(await a.sweepTemporary("big/", new Date(Date.now() + 60_000))).toEqual([]);
      } finally {
        await a.close();
      }
    });

    it("refuses a multipart source whose bytes do not match its sha256, before anything is committed", async () => {
      const a = await adapterFor(await server(), { partSizeMB: 5 });
      try {
        const lying = bufferSource(randomBytes(11 * MB), { sha256: "0".repeat(64) });
        await expect(a.put("big/lie.bin", lying)).rejects.toBeInstanceOf(ChecksumMismatchError);
        await expect(a.stat("big/lie.bin")).rejects.toBeInstanceOf(NotFoundError);
        // The multipart upload was aborted, not left behind (s3rver cannot list them: [] there).
        expect(await a.sweepTemporary("big/", new Date(Date.now() + 60_000))).toEqual([]);
      } finally {
        await a.close();
      }
    });

    it("honours an AbortSignal", async () => {
      const a = await adapterFor(await server());
      try {
        const ac = new AbortController();
        ac.abort();
        await expect(a.put("abort/x", bufferSource("x"), ac.signal)).rejects.toBeInstanceOf(TransientError);
        await expect(a.stat("abort/x", ac.signal)).rejects.toBeInstanceOf(TransientError);
        await expect(a.stat("abort/x")).rejects.toBeInstanceOf(NotFoundError);

        // Aborted in the middle of a multipart upload: nothing is committed.
        const mid = new AbortController();
        const big = await adapterFor(await server(), { partSizeMB: 5, queueSize: 1 });
        try {
          // The abort comes from the source itself once 6 MiB were read, so it always lands mid-upload
          // (a timer raced the upload and lost on a busy machine).
          const data = randomBytes(16 * MB);
          const streamed: BlobSource = {
            ...bufferSource(data),
            open: () =>
              Readable.from(
                (function* () {
                  for (let i = 0; i < 16; i++) {
                    if (i === 6) mid.abort();
                    yield data.subarray(i * MB, (i + 1) * MB);
                  }
                })(),
              ),
          };
          await expect(big.put("abort/big", streamed, mid.signal)).rejects.toBeInstanceOf(TransientError);
          await expect(big.stat("abort/big")).rejects.toBeInstanceOf(NotFoundError);

          // A staged file is sent from disk, out of the source's sight: the abort is a timer, and may
          // come after the store committed. Either way there is never a partial object: rejected and
          // absent, or the whole bytes (a store can commit just before a failure reaches us; without a
          // manifest that is a leftover, never a copy).
          const staged = new AbortController();
          const stagedBytes = randomBytes(16 * MB);
          const pendingStaged = big.put("abort/staged", stagedSource(stagedBytes), staged.signal);
          setTimeout(() => staged.abort(), 30);
          const outcome = await pendingStaged.then(() => "committed", (err) => err);
          if (outcome !== "committed") expect(outcome).toBeInstanceOf(TransientError);
          const there = await big.stat("abort/staged").catch((err) => err);
          if (there instanceof NotFoundError) expect(outcome).not.toBe("committed");
          else expect(sha256(await readAll(await big.get("abort/staged")))).toBe(sha256(stagedBytes));
        } finally {
          await big.close();
        }
      } finally {
        await a.close();
      }
    });

    it("names itself by bucket, prefix and host, without credentials", async () => {
      const s = await server();
      const a = await adapterFor(s, { prefix: "sqlite/nightly" });
      await a.close();
      expect(a.id).toBe(`s3:${s.bucket}/sqlite/nightly@${new URL(s.endpoint).host}`);
      expect(a.id).not.toContain(s.secretAccessKey);
    });

    it("reports a missing bucket as DestinationConfigError", async () => {
      const s = await server();
      await expect(adapterFor({ ...s, bucket: "no-such-bucket-here" })).rejects.toBeInstanceOf(DestinationConfigError);
    });
  });
}

// ---------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------

describe("s3 adapter credentials", () => {
  it("moto: a wrong secret is an AuthError that never shows the secret", async () => {
    const s = await moto();
    const secret = "Wr0ngSecretThatMustNeverBeLogged+abc/xyz";
    const err = await adapterFor({ ...s, secretAccessKey: secret }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthError);
    for (const m of messagesOf(err)) {
      expect(m).not.toContain(secret);
      expect(m).not.toContain(s.secretAccessKey);
    }
  });

  it("moto: a wrong secret on a data call (not only on open) is an AuthError too", async () => {
    const s = await moto();
    const client = new S3Client({
      endpoint: s.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: s.accessKeyId, secretAccessKey: "wrong" },
      requestChecksumCalculation: "WHEN_REQUIRED",
    });
    const { mapS3Error } = await import("../../adapters/s3/index.js");
    const err = await client
      .send(new ListMultipartUploadsCommand({ Bucket: s.bucket }))
      .then(() => undefined, (e: unknown) => mapS3Error(e, { adapter: "t", op: "list" }));
    client.destroy();
    expect(err).toBeInstanceOf(AuthError);
    expect(err?.message).toMatch(/SignatureDoesNotMatch/);
  });

  it("s3rver: an unknown access key is an AuthError", async () => {
    const s = await s3rver();
    await expect(adapterFor({ ...s, accessKeyId: "NOT-A-KEY" })).rejects.toBeInstanceOf(AuthError);
  });

  it("config: accessKeyId without secretAccessKey is refused by the schema", () => {
    expect(() => parseS3Config({ bucket: "abc", accessKeyId: "AKIA" })).toThrow(/secretAccessKey/);
    expect(parseS3Config({ bucket: "abc", prefix: "a/b" }).prefix).toBe("a/b/");
    expect(() => parseS3Config({ bucket: "abc", prefix: "/a" })).toThrow();
    expect(() => parseS3Config({ bucket: "abc", prefix: "a/../b" })).toThrow();
    expect(() => parseS3Config({ bucket: "abc", partSizeMB: 4 })).toThrow(/partSizeMB/);
  });
});

// ---------------------------------------------------------------------------
// Unfinished multipart uploads (moto; s3rver cannot list them)
// ---------------------------------------------------------------------------

describe("s3 adapter sweepTemporary (moto_server)", () => {
  it("aborts abandoned multipart uploads under the prefix that are older than the cutoff", async () => {
    const s = await moto();
    const prefix = freshPrefix("sweep");
    const a = await adapterFor(s, { prefix });
    const c = rawClient(s);
    try {
      const mpu = await c.send(new CreateMultipartUploadCommand({ Bucket: s.bucket, Key: `${prefix}app/abandoned.sqlite.zst` }));
      await c.send(
        new UploadPartCommand({ Bucket: s.bucket, Key: `${prefix}app/abandoned.sqlite.zst`, UploadId: mpu.UploadId, PartNumber: 1, Body: randomBytes(5 * MB) }),
      );
      // Another one outside the prefix must be left alone.
      await c.send(new CreateMultipartUploadCommand({ Bucket: s.bucket, Key: `${prefix}other/keep.bin` }));

      // moto reports every upload as initiated at 2010-11-10T20:48:33Z, so "too
      // young to sweep" is shown with a cutoff before that date.
      expect(await a.sweepTemporary("app/", new Date("2005-01-01T00:00:00Z"))).toEqual([]);
      expect(await a.sweepTemporary("app/", new Date(Date.now() + 60_000))).toEqual(["app/abandoned.sqlite.zst"]);
      const left = await c.send(new ListMultipartUploadsCommand({ Bucket: s.bucket, Prefix: prefix }));
      expect((left.Uploads ?? []).map((u) => u.Key)).toEqual([`${prefix}other/keep.bin`]);
      expect(await a.sweepTemporary("app/", new Date(Date.now() + 60_000))).toEqual([]);
    } finally {
      c.destroy();
      await a.close();
    }
  });

  it("s3rver cannot list multipart uploads: sweeping reports nothing instead of failing", async () => {
    const a = await adapterFor(await s3rver());
    try {
      expect(await a.sweepTemporary("", new Date(Date.now() + 60_000))).toEqual([]);
    } finally {
      await a.close();
    }
  });
});

// ---------------------------------------------------------------------------
// Object Lock (moto; s3rver silently ignores it)
// ---------------------------------------------------------------------------

describe("s3 adapter with Object Lock (moto_server)", () => {
  it("locks what it writes, and a delete is refused while the lock holds", async () => {
    const s = await motoLocked();
    const a = await adapterFor(s, { objectLock: { mode: "GOVERNANCE", days: 1 } });
    try {
      const before = Date.now();
      const info = await a.put("app/locked.sqlite.zst", bufferSource("precious"));
      expect(info.lockedUntil!.getTime()).toBeGreaterThan(before + 23 * 3_600_000);
      const st = await a.stat("app/locked.sqlite.zst");
      expect(st.lockedUntil!.getTime()).toBeGreaterThan(Date.now());

      const err = await a.delete("app/locked.sqlite.zst").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as Error).message).toMatch(/Object Lock \(GOVERNANCE\) until \d{4}-\d\d-\d\dT/);
      // Still there, still readable: no delete marker hid it.
      expect((await readAll(await a.get("app/locked.sqlite.zst"))).toString()).toBe("precious");
      expect(await keysOf(a, "app/")).toEqual(["app/locked.sqlite.zst"]);
    } finally {
      await a.close();
    }
  });

  it("locks multipart uploads too (COMPLIANCE)", async () => {
    const s = await motoLocked();
    const a = await adapterFor(s, { objectLock: { mode: "COMPLIANCE", days: 2 }, partSizeMB: 5 });
    try {
      const data = randomBytes(11 * MB);
      const info = await a.put("app/big.sqlite.zst", bufferSource(data));
      expect(info.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 47 * 3_600_000);
      expect((await a.stat("app/big.sqlite.zst")).lockedUntil!.getTime()).toBeGreaterThan(Date.now());
      await expect(a.delete("app/big.sqlite.zst")).rejects.toThrow(/Object Lock \(COMPLIANCE\)/);
      expect(sha256(await readAll(await a.get("app/big.sqlite.zst")))).toBe(sha256(data));
    } finally {
      await a.close();
    }
  });

  it("locks multipart uploads from a staged file (localPath) too", async () => {
    const s = await motoLocked();
    const a = await adapterFor(s, { objectLock: { mode: "COMPLIANCE", days: 2 }, partSizeMB: 5 });
    try {
      const data = randomBytes(11 * MB);
      const info = await a.put("app/staged.sqlite.zst", stagedSource(data));
      expect(info.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 47 * 3_600_000);
      expect((await a.stat("app/staged.sqlite.zst")).lockedUntil!.getTime()).toBeGreaterThan(Date.now());
      expect(sha256(await readAll(await a.get("app/staged.sqlite.zst")))).toBe(sha256(data));
    } finally {
      await a.close();
    }
  });

  it("on a lock-enabled bucket, delete removes every version instead of hiding them under a delete marker", async () => {
    const s = await motoLocked();
    const prefix = freshPrefix("versions");
    const a = await adapterFor(s, { prefix }); // no objectLock settings: nothing is locked
    const c = rawClient(s);
    try {
      await a.put("app/x", bufferSource("v1"));
      await a.put("app/x", bufferSource("v2"));
      await a.delete("app/x");
      await expect(a.stat("app/x")).rejects.toBeInstanceOf(NotFoundError);
      const versions = await c.send(new ListObjectVersionsCommand({ Bucket: s.bucket, Prefix: `${prefix}app/x` }));
      expect([...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]).toEqual([]);
      await a.delete("app/x"); // idempotent
    } finally {
      c.destroy();
      await a.close();
    }
  });

  it("refuses objectLock settings on a bucket without Object Lock", async () => {
    const s = await moto();
    await expect(adapterFor(s, { objectLock: { mode: "GOVERNANCE", days: 1 } })).rejects.toBeInstanceOf(DestinationConfigError);
  });
});

describe("s3 adapter against a server that stops answering", () => {
  /** Answers HEAD (the bucket exists) only when `answerHead`; every other request is left hanging. */
  async function hangingServer(answerHead: boolean): Promise<{ endpoint: string; close: () => Promise<void> }> {
    const { createServer } = await import("node:http");
    const sockets = new Set<import("node:net").Socket>();
    const server = createServer((req, res) => {
      if (answerHead && req.method === "HEAD") res.writeHead(200).end();
      // anything else: never answer
    });
    server.on("connection", (s) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as import("node:net").AddressInfo;
    return {
      endpoint: `http://127.0.0.1:${port}`,
      close: () => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
    };
  }
  const config = (endpoint: string) =>
    parseS3Config({ bucket: "hung", endpoint, forcePathStyle: true, accessKeyId: "AKIAHUNG", secretAccessKey: "hung-secret-value", connectTimeoutSeconds: 1 });

  it("opening is bounded by connectTimeoutSeconds: a TransientError naming the knob, not a hang", async () => {
    const srv = await hangingServer(false);
    try {
      const started = Date.now();
      const err = await createS3Adapter(config(srv.endpoint), { logger }).catch((e) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err.message).toMatch(/no answer at 127\.0\.0\.1:\d+ within 1s \(connectTimeoutSeconds\)/);
      expect(err.message).not.toContain("hung-secret-value");
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await srv.close();
    }
  });

  it("after opening, a request whose socket stays silent fails after the destination's stallSeconds", async () => {
    const srv = await hangingServer(true);
    try {
      // Through openAdapter, so the stallSeconds → socket idle wiring is what is tested.
      const dest = { name: "hung", type: "s3", ...config(srv.endpoint), stallSeconds: 0.5, timeoutSeconds: 60, retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1 } };
      const a = await openAdapter(dest as unknown as DestinationConfig, { logger });
      try {
        const started = Date.now();
        // HEAD is answered (stat would pass); GET is not.
        const err = await a.get("db/x.manifest.json").catch((e) => e);
        expect(err).toBeInstanceOf(TransientError);
        expect(Date.now() - started).toBeLessThan(10_000);
      } finally {
        await a.close();
      }
    } finally {
      await srv.close();
    }
  });
});
