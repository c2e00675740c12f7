import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMemoryAdapter, type MemoryOptions } from "../../adapters/memory.js";
import { AuthError, PermanentError, TransientError } from "../../adapters/errors.js";
import { inventoryDestination } from "../../src/catalog/inventory.js";
import { MANIFEST_FORMAT, type Manifest } from "../../src/publish/manifest.js";
import { bufferSource } from "../helpers/blob.js";

/** Issue 17.3 and 17.4: the inventory neither swallows a failed stat nor reads a huge "manifest" whole. */
const ID = "20261125T020000Z-0123abcd";
const artifactKey = `app/${ID}.sqlite.zst`;
const manifestKey = `app/${ID}.manifest.json`;
const artifact = Buffer.from("artifact bytes");
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const manifest: Manifest = {
  format: MANIFEST_FORMAT, tool: { name: "triplicate", version: "test" }, db: "app", snapshotId: ID, createdAt: "2026-11-25T02:00:00.000Z",
  source: { host: "h", path: "/data/app.db" },
  sqlite: { pageSize: 4096, pageCount: 1, journalMode: "wal", userVersion: 0, schemaSha256: sha("s"), rowCounts: {} },
  raw: { size: 4096, sha256: sha("raw") }, artifact: { key: artifactKey, size: artifact.length, sha256: sha(artifact) },
  compression: { algorithm: "zstd", level: 3 }, encryption: null, tags: [],
};

async function store(options: MemoryOptions, manifestBytes: Buffer | string = JSON.stringify(manifest)) {
  const mem = createMemoryAdapter({ statAddsDetails: true, ...options });
  await mem.put(artifactKey, bufferSource(artifact));
  await mem.put(manifestKey, bufferSource(manifestBytes));
  return mem;
}
const ctx = { adapter: "memory:default", op: "stat", key: artifactKey };
const failStat = (err: Error): MemoryOptions => ({ fault: (c) => (c.op === "stat" && c.key === artifactKey ? err : undefined) });

describe("inventory: a stat that fails", () => {
  it("a healthy store: complete, with the store's details", async () => {
    const inv = await inventoryDestination(await store({}), "s3");
    expect(inv.copies.map((c) => c.state)).toEqual(["complete"]);
  });

  it.each([
    ["access denied", new AuthError("access denied", ctx)],
    ["a permanent error", new PermanentError("bad request", ctx)],
    ["an untyped error", new Error("socket hang up in a parser")],
  ])("with %s is an error of that copy, not a complete copy from the listing", async (_name, err) => {
    const inv = await inventoryDestination(await store(failStat(err)), "s3");
    expect(inv.reachable).toBe(true);
    const [copy] = inv.copies;
    expect(copy.state).toBe("stat-failed");
    expect(copy.detail).toContain(artifactKey);
    expect(copy.detail).toContain(err.message);
  });

  it("with a TransientError makes the destination unreachable, as a failed manifest read does", async () => {
    const inv = await inventoryDestination(await store(failStat(new TransientError("timed out", ctx))), "s3");
    expect(inv.reachable).toBe(false);
    expect(inv.error).toMatch(/timed out/);
  });
});

describe("inventory: manifest reads are capped", () => {
  it("a manifest file over 1 MiB by its listing is bad-manifest, and is never downloaded", async () => {
    const huge = JSON.stringify({ ...manifest, tags: ["x".repeat(1024 * 1024)] });
    const mem = await store({}, huge);
    const [copy] = (await inventoryDestination(mem, "s3")).copies;
    expect(copy.state).toBe("bad-manifest");
    expect(copy.detail).toMatch(/larger than 1 MiB/);
    expect(mem.calls.filter((c) => c.op === "get")).toEqual([]);
  });

  it("a manifest that grows past the cap while read (the listing was wrong) is bad-manifest", async () => {
    const mem = await store({}, "{" + " ".repeat(3 * 1024 * 1024) + "}");
    const lying = { ...mem, list: async function* (prefix: string) {
      for await (const o of mem.list(prefix)) yield o.key === manifestKey ? { ...o, size: 900 } : o;
    } };
    const [copy] = (await inventoryDestination(lying, "s3")).copies;
    expect(copy.state).toBe("bad-manifest");
    expect(copy.detail).toMatch(/larger than 1 MiB/);
  });
});
