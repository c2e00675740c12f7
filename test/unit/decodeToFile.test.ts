import { randomBytes } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codecFor, type CompressionAlgorithm } from "../../src/compression.js";
import { DecodeToFile as InlineDecodeToFile } from "../../src/decodeToFile.js";

// Loaded from TypeScript sources, DecodeToFile decodes inline; the compiled
// copy (built by `pretest`) runs its worker. Both must behave the same.
const compiled = (await import(path.resolve("dist/src/decodeToFile.js"))) as { DecodeToFile: typeof InlineDecodeToFile };
const variants = { inline: InlineDecodeToFile, worker: compiled.DecodeToFile };

let dir: string;
// ~3.3 MiB: several 1 MiB batches plus a partial one; half random, half repetitive.
const raw = Buffer.concat([randomBytes(1_700_000), Buffer.alloc(1_750_003, "triplicate ")]);
const compressed: Record<CompressionAlgorithm, Buffer> = { zstd: Buffer.alloc(0), gzip: Buffer.alloc(0), none: raw };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "triplicate-decode-"));
  for (const algorithm of ["zstd", "gzip"] as const) {
    const parts: Buffer[] = [];
    await pipeline(Readable.from([raw]), codecFor(algorithm).compress(), async function* (src) {
      for await (const c of src) parts.push(c as Buffer);
    });
    compressed[algorithm] = Buffer.concat(parts);
  }
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

    it("fails on a truncated gzip artifact", async () => {
      const truncated = compressed.gzip.subarray(0, compressed.gzip.length - 1000);
      await expect(decode(Sink, "gzip", truncated, path.join(dir, `${variant}-trunc.gz.db`))).rejects.toThrow();
    });
  });
}
