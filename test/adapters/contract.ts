import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import type { ObjectInfo, StorageAdapter } from "../../adapters/types.js";
import { NotFoundError, AdapterError } from "../../adapters/errors.js";
import { CommitRefusedError } from "../../adapters/commitGate.js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { bufferSource, failingSource, readAll } from "../helpers/blob.js";

export interface ContractTarget {
  adapter: StorageAdapter;
  /** Stops servers, removes temp dirs. */
  cleanup?: () => Promise<void>;
}

async function listAll(a: StorageAdapter, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of a.list(prefix)) out.push(o);
  return out.sort((x, y) => x.key.localeCompare(y.key));
}

/**
 * The behaviour every storage adapter must share (restic's backend test
 * suite, unstorage's testDriver). Each adapter's test file calls this with a
 * factory that returns a connected adapter on a fresh, empty root.
 */
export function describeAdapterContract(name: string, make: () => Promise<ContractTarget>): void {
  describe(`adapter contract: ${name}`, () => {
    let target: ContractTarget;
    let a: StorageAdapter;
    beforeAll(async () => {
      target = await make();
      a = target.adapter;
    }, 60_000);
    afterAll(async () => {
      await a?.close();
      await target?.cleanup?.();
    }, 60_000);

    it("round-trips bytes, size and sha256", async () => {
      const data = randomBytes(300_000);
      const src = bufferSource(data);
      const info = await a.put("db1/one.bin", src);
      expect(info.key).toBe("db1/one.bin");
      expect(info.size).toBe(data.length);
      const st = await a.stat("db1/one.bin");
      expect(st.size).toBe(data.length);
      if (st.sha256) expect(st.sha256).toBe(src.sha256);
      const back = await readAll(await a.get("db1/one.bin"));
      expect(createHash("sha256").update(back).digest("hex")).toBe(src.sha256);
    });

    it("reads from a byte offset: the tail, and nothing at or past the end", async () => {
      const data = randomBytes(2_500_001);
      await a.put("db1/ranged.bin", bufferSource(data));
      expect((await readAll(await a.get("db1/ranged.bin", undefined, 1_234_567))).equals(data.subarray(1_234_567))).toBe(true);
      expect((await readAll(await a.get("db1/ranged.bin", undefined, data.length))).length).toBe(0);
    });

    it("replaces an existing key", async () => {
      await a.put("db1/replace.txt", bufferSource("first"));
      await a.put("db1/replace.txt", bufferSource("second, longer"));
      expect((await readAll(await a.get("db1/replace.txt"))).toString()).toBe("second, longer");
    });

    it("stores an empty object", async () => {
      await a.put("db1/empty", bufferSource(Buffer.alloc(0)));
      expect((await a.stat("db1/empty")).size).toBe(0);
    });

    it("lists committed objects under a prefix, and nothing else", async () => {
      await a.put("list/a/x.txt", bufferSource("x"));
      await a.put("list/a/y.txt", bufferSource("yy"));
      await a.put("list/b/z.txt", bufferSource("zzz"));
      const keys = (await listAll(a, "list/a/")).map((o) => [o.key, o.size]);
      expect(keys).toEqual([
        ["list/a/x.txt", 1],
        ["list/a/y.txt", 2],
      ]);
      expect((await listAll(a, "list/")).length).toBe(3);
      expect(await listAll(a, "nothing-here/")).toEqual([]);
    });

    it("throws NotFoundError for a missing key on get and stat", async () => {
      await expect(a.stat("db1/missing")).rejects.toBeInstanceOf(NotFoundError);
      await expect(a.get("db1/missing")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("deletes idempotently", async () => {
      await a.put("db1/gone.txt", bufferSource("bye"));
      await a.delete("db1/gone.txt");
      await a.delete("db1/gone.txt");
      await expect(a.stat("db1/gone.txt")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("a failed put leaves nothing behind, and never a temp name in listings", async () => {
      const data = randomBytes(200_000);
      await expect(a.put("fail/broken.bin", failingSource(data, 50_000))).rejects.toBeInstanceOf(Error);
      await expect(a.stat("fail/broken.bin")).rejects.toBeInstanceOf(NotFoundError);
      expect(await listAll(a, "fail/")).toEqual([]);
      // Nothing of ours is left to sweep either.
      expect(await a.sweepTemporary("fail/", new Date(Date.now() + 60_000))).toEqual([]);
    });

    it("a held commit that is refused leaves nothing: no key, no temp name, nothing to sweep", async () => {
      const data = randomBytes(300_000);
      const file = path.join(await mkdtemp(path.join(tmpdir(), "tri-gate-")), "artifact.bin");
      await writeFile(file, data);
      let released = false;
      const refuse = async () => {
        released = true;
        throw new Error("integrity_check failed");
      };
      for (const src of [bufferSource(data, { beforeCommit: refuse }), bufferSource(data, { localPath: file, beforeCommit: refuse })]) {
        released = false;
        const err = await a.put("gate/held.bin", src).catch((e) => e);
        expect(err).toBeInstanceOf(CommitRefusedError);
        expect(released).toBe(true);
        await expect(a.stat("gate/held.bin")).rejects.toBeInstanceOf(NotFoundError);
        expect(await listAll(a, "gate/")).toEqual([]);
        expect(await a.sweepTemporary("gate/", new Date(Date.now() + 60_000))).toEqual([]);
      }
      // Once the hold is released, the same put commits.
      await a.put("gate/held.bin", bufferSource(data, { localPath: file, beforeCommit: async () => undefined }));
      expect((await a.stat("gate/held.bin")).size).toBe(data.length);
      await rm(path.dirname(file), { recursive: true, force: true });
    });

    it("refuses to commit bytes that do not match the declared size", async () => {
      const src = bufferSource("twelve bytes", { size: 99 });
      await expect(a.put("fail/size.txt", src)).rejects.toBeInstanceOf(AdapterError);
      await expect(a.stat("fail/size.txt")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("refuses keys that could escape the root", async () => {
      for (const key of ["../evil", "/abs", "a/../../b", "a//b", ""]) {
        await expect(a.put(key, bufferSource("x")), key).rejects.toBeInstanceOf(AdapterError);
      }
    });

    it("retries replay the source: put can be called twice with one BlobSource", async () => {
      const src = bufferSource(randomBytes(10_000));
      await a.put("db1/twice", src);
      await a.put("db1/twice", src);
      expect((await a.stat("db1/twice")).size).toBe(10_000);
    });
  });
}
