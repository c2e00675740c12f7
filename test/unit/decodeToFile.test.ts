import { randomBytes } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codecFor, type CompressionAlgorithm } from "../../src/artifact/codecs.js";
import { DecodeToFile as InlineDecodeToFile } from "../../src/restore/decode/toFile.js";

// Loaded from TypeScript sources, DecodeToFile decodes inline; the compiled
// copy (built by `pretest`) runs its worker. Both must behave the same.
const compiled = (await import(path.resolve("dist/src/restore/decode/toFile.js"))) as { DecodeToFile: typeof InlineDecodeToFile };
const variants = { inline: InlineDecodeToFile, worker: compiled.DecodeToFile };

let dir: string;
// ~3.3 MiB: several 1 MiB batches plus a partial one; half random, half repetitive.
const raw = Buffer.concat([randomBytes(1_700_000), Buffer.alloc(1_750_003, "triplicate ")]);
const compressed: Record<CompressionAlgorithm, Buffer> = { zstd: Buffer.alloc(0), gzip: Buffer.alloc(0), none: raw };

async function compress(algorithm: "zstd" | "gzip", input: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(Readable.from([input]), codecFor(algorithm).compress(), async function* (src) {
    for await (const c of src) parts.push(c as Buffer);
  });
  return Buffer.concat(parts);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "triplicate-decode-"));
  for (const algorithm of ["zstd", "gzip"] as const) compressed[algorithm] = await compress(algorithm, raw);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Feeds `input` in odd-sized chunks, the way a network download arrives. */
function chunked(input: Buffer, size = 70_001): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
  return Readable.from(chunks);
}

async function decode(Sink: typeof InlineDecodeToFile, algorithm: CompressionAlgorithm, input: Buffer, out: string) {
  const file = await open(out, "w");
  const sink = new Sink(algorithm, file.fd);
  try {
    await pipeline(chunked(input), sink);
    return sink.rawBytes;
  } finally {
    await sink.stop();
    await file.close();
  }
}

for (const [variant, Sink] of Object.entries(variants)) {
  describe(`DecodeToFile (${variant})`, () => {
    for (const algorithm of ["zstd", "gzip", "none"] as const) {
      it(`writes exactly the original bytes from ${algorithm}`, async () => {
        const out = path.join(dir, `${variant}-${algorithm}.db`);
        expect(await decode(Sink, algorithm, compressed[algorithm], out)).toBe(raw.length);
        expect((await readFile(out)).equals(raw)).toBe(true);
      });
    }

    it("fails on a truncated zstd artifact instead of writing a short file silently", async () => {
      const truncated = compressed.zstd.subarray(0, compressed.zstd.length - 1000);
      await expect(decode(Sink, "zstd", truncated, path.join(dir, `${variant}-trunc.db`))).rejects.toThrow(/truncated|frame/);
    });

    it("fails on corrupt zstd bytes", async () => {
      const corrupt = Buffer.from(compressed.zstd);
      corrupt.fill(0x55, 100, 5000);
      await expect(decode(Sink, "zstd", corrupt, path.join(dir, `${variant}-corrupt.db`))).rejects.toThrow();
    });

    it("decodes a database whose size is an exact multiple of the 1 MiB output buffer", async () => {
      for (const mib of [1, 3]) {
        const exact = Buffer.alloc(mib << 20, `page ${mib} `);
        const zst = await compress("zstd", exact);
        const out = path.join(dir, `${variant}-exact-${mib}.db`);
        expect(await decode(Sink, "zstd", zst, out)).toBe(exact.length);
        expect((await readFile(out)).equals(exact)).toBe(true);
      }
    });

    it("fails, and does not hang, on corrupt gzip data", { timeout: 10_000 }, async () => {
      const corrupt = Buffer.from(compressed.gzip);
      corrupt.fill(0xff, 200, 4000);
      await expect(decode(Sink, "gzip", corrupt, path.join(dir, `${variant}-corrupt.gz.db`))).rejects.toThrow();
    });

    it("fails on a truncated gzip artifact", async () => {
      const truncated = compressed.gzip.subarray(0, compressed.gzip.length - 1000);
      await expect(decode(Sink, "gzip", truncated, path.join(dir, `${variant}-trunc.gz.db`))).rejects.toThrow();
    });
  });
}

describe("fetchAndCheckCopy", () => {
  it("closes the download when the output file cannot be created", async () => {
    const { fetchAndCheckCopy } = await import("../../src/restore/fetch.js");
    const download = Readable.from([compressed.zstd]);
    const adapter = { get: async () => download } as unknown as Parameters<typeof fetchAndCheckCopy>[0];
    const manifest = {
      db: "app",
      artifact: { key: "app/x.sqlite.zst", size: compressed.zstd.length, sha256: "0".repeat(64) },
      raw: { size: raw.length, sha256: "0".repeat(64) },
      compression: { algorithm: "zstd", level: 3 },
      encryption: null,
      sqlite: { rowCounts: {}, journalMode: "delete" },
    } as unknown as Parameters<typeof fetchAndCheckCopy>[1];
    await expect(fetchAndCheckCopy(adapter, manifest, path.join(dir, "no-such-folder", "out.db"))).rejects.toThrow(/ENOENT/);
    expect(download.destroyed).toBe(true);
  });
});
