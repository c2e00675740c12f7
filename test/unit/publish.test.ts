import { describe, expect, it } from "vitest";
import { createMemoryAdapter } from "../../adapters/memory.js";
import type { StorageAdapter } from "../../adapters/types.js";
import { publishToDestination } from "../../src/publish/fanout.js";
import { bufferSource } from "../helpers/blob.js";

/** A memory store whose puts claim (or deny) durability as a real store's would. */
function claiming(durable: (key: string) => boolean | undefined): StorageAdapter {
  const mem = createMemoryAdapter({ name: "d" });
  return { ...mem, put: async (key, src, signal) => ({ ...(await mem.put(key, src, signal)), durable: durable(key) }) };
}

const item = {
  db: "app",
  snapshotId: "20261125T020000Z-0123abcd",
  artifactKey: "app/20261125T020000Z-0123abcd.sqlite.zst",
  artifact: bufferSource("artifact bytes"),
  manifestKey: "app/20261125T020000Z-0123abcd.manifest.json",
  manifest: () => bufferSource('{"manifest":true}'),
};

const author = { clock: () => new Date("2026-11-25T02:00:00Z"), hostname: "test", toolVersion: "test", randomHex: () => "abcd1234" };

describe("publish: durability is confirmed only when the store confirmed both artifact and manifest", () => {
  it.each([
    ["both durable", () => true, "confirmed"],
    ["no fsync on the server", () => false, "not confirmed"],
    ["the manifest not flushed", (k: string) => !k.endsWith(".manifest.json"), "not confirmed"],
    ["a store that makes no claim", () => undefined, "not confirmed"],
  ] as const)("%s", async (_name, durable, expected) => {
    const r = await publishToDestination(claiming(durable), item, { dryRun: false, author });
    expect(r.status).toBe("verified");
    expect(r.durability).toBe(expected);
  });

  it("a dry run or a failed copy claims nothing", async () => {
    expect((await publishToDestination(claiming(() => true), item, { dryRun: true, author })).durability).toBeUndefined();
    const broken = { ...claiming(() => true), put: async () => Promise.reject(new Error("disk full")) };
    expect((await publishToDestination(broken, item, { dryRun: false, author })).durability).toBeUndefined();
  });
});
