import { createHash, randomBytes } from "node:crypto";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileTailHasher } from "../../src/restore/decode/tailHasher.js";

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(path.join(os.tmpdir(), "triplicate-tail-"))));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("FileTailHasher", () => {
  it("hashes a file read back while it grows, exactly as a hash of the whole file", async () => {
    const file = path.join(dir, "growing.db");
    const content = randomBytes(3_500_123);
    await writeFile(file, "");
    const hasher = new FileTailHasher(file);
    // Uneven writes, progress reported after each, sometimes twice, sometimes not at all.
    for (let at = 0, i = 0; at < content.length; i++) {
      const piece = content.subarray(at, at + 333_333 + i * 1000);
      await appendFile(file, piece);
      at += piece.length;
      if (i % 3 !== 2) hasher.advance(at);
      if (i % 4 === 0) hasher.advance(at);
    }
    const got = await hasher.finish(content.length);
    expect(got).toEqual({ sha256: createHash("sha256").update(content).digest("hex"), size: content.length });
  });

  it("fails when the file holds fewer bytes than were reported written", async () => {
    const file = path.join(dir, "short.db");
    await writeFile(file, randomBytes(1000));
    const hasher = new FileTailHasher(file);
    await expect(hasher.finish(5000)).rejects.toThrow(/ended at 1000 bytes; 5000 were written/);
  });

  it("once closed (a failed restore), progress reports open nothing and finish refuses", async () => {
    const file = path.join(dir, "closed.db");
    await writeFile(file, randomBytes(1000));
    const hasher = new FileTailHasher(file);
    await hasher.close();
    hasher.advance(1000);
    await expect(hasher.finish(1000)).rejects.toThrow(/stopped at 0 bytes/);
  });
});
