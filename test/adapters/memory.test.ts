import { randomBytes } from "node:crypto";
import { finished } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { createMemoryAdapter } from "../../adapters/memory.js";
import { ChecksumMismatchError, NotFoundError, PermanentError, TransientError } from "../../adapters/errors.js";
import { withRetry } from "../../adapters/wrap/withRetry.js";
import { describeAdapterContract } from "./contract.js";
import { bufferSource, readAll } from "../helpers/blob.js";

describeAdapterContract("memory", async () => ({ adapter: createMemoryAdapter({ name: "contract" }) }));

describe("memory adapter specifics", () => {
  it("names itself memory:<name> and dates objects by the clock it is given", async () => {
    const at = new Date("2026-11-25T02:00:00Z");
    const a = createMemoryAdapter({ name: "nas", now: () => at });
    expect(a.id).toBe("memory:nas");
    expect((await a.put("db/x", bufferSource("x"))).modifiedAt).toEqual(at);
    expect((await a.stat("db/x")).modifiedAt).toEqual(at);
  });

  it("gives the sha256 from stat only when it says stat adds details, and never in listings", async () => {
    for (const statAddsDetails of [false, true]) {
      const a = createMemoryAdapter({ statAddsDetails });
      const src = bufferSource("abc");
      await a.put("db/x", src);
      expect((await a.stat("db/x")).sha256).toBe(statAddsDetails ? src.sha256 : undefined);
      for await (const o of a.list("db/")) expect(o.sha256).toBeUndefined();
    }
  });

  it("refuses a source whose bytes do not hash to its sha256, and keeps the old object", async () => {
    const a = createMemoryAdapter();
    await a.put("db/x", bufferSource("old"));
    await expect(a.put("db/x", bufferSource("new", { sha256: "0".repeat(64) }))).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect((await readAll(await a.get("db/x"))).toString()).toBe("old");
  });

  it("records every call, and says whether it was closed", async () => {
    const a = createMemoryAdapter();
    await a.put("db/x", bufferSource("x"));
    await a.get("db/x", undefined, 1).catch(() => undefined);
    await a.stat("db/missing").catch(() => undefined);
    expect(a.calls).toEqual([
      { op: "put", key: "db/x" },
      { op: "get", key: "db/x", from: 1 },
      { op: "stat", key: "db/missing" },
    ]);
    expect(a.closed).toBe(false);
    await a.close();
    expect(a.closed).toBe(true);
  });
});

describe("memory adapter: injected faults", () => {
  it("failNext fails the next call with a TransientError, once", async () => {
    const a = createMemoryAdapter();
    a.failNext();
    const err = await a.put("db/x", bufferSource("x")).catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toBe("memory:default put db/x: injected fault");
    await expect(a.stat("db/x")).rejects.toBeInstanceOf(NotFoundError);
    await a.put("db/x", bufferSource("x"));
    expect((await a.stat("db/x")).size).toBe(1);
  });

  it("failNext(op, error) waits for a call of that kind and fails it with that error", async () => {
    const a = createMemoryAdapter();
    const refused = new PermanentError("disk says no", { adapter: a.id, op: "delete" });
    a.failNext("delete", refused);
    await a.put("db/x", bufferSource("x"));
    await expect(a.delete("db/x")).rejects.toBe(refused);
    await a.delete("db/x");
  });

  it("a listing can fail too, when it is first read", async () => {
    const a = createMemoryAdapter();
    a.failNext("list");
    const listing = a.list("db/");
    await expect(listing[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(TransientError);
  });

  it("is what withRetry retries: two injected failures, then the put lands", async () => {
    const a = createMemoryAdapter();
    a.failNext("put");
    a.failNext("put");
    const data = randomBytes(1000);
    await withRetry(a, { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 }).put("db/x", bufferSource(data));
    expect(a.calls.filter((c) => c.op === "put")).toHaveLength(3);
    expect((await readAll(await a.get("db/x"))).equals(data)).toBe(true);
  });

  it("the fault hook can break a download off at a byte, with an error or by hanging", async () => {
    const data = randomBytes(200_000);
    const lost = new TransientError("connection lost", { adapter: "memory:default", op: "get" });
    let hang = false;
    const a = createMemoryAdapter({ fault: (c) => (c.op === "get" ? (hang ? { at: 150_000 } : { at: 100_000, error: lost }) : undefined) });
    await a.put("db/x", bufferSource(data));
    const broken = await a.get("db/x", undefined, 10);
    const got: Buffer[] = [];
    broken.on("data", (c: Buffer) => got.push(c));
    await expect(finished(broken)).rejects.toBe(lost);
    expect(Buffer.concat(got).equals(data.subarray(10, 100_000))).toBe(true);

    hang = true;
    const hung = await a.get("db/x");
    let bytes = 0;
    hung.on("data", (c: Buffer) => (bytes += c.length));
    await new Promise((r) => setTimeout(r, 50));
    expect(bytes).toBe(150_000);
    expect(hung.readableEnded).toBe(false);
    hung.destroy();
  });

  it("the fault hook can fail any call at once", async () => {
    const a = createMemoryAdapter({ fault: (c) => (c.op === "stat" ? new TransientError("throttled", { adapter: "memory:default", op: "stat" }) : undefined) });
    await a.put("db/x", bufferSource("x"));
    await expect(a.stat("db/x")).rejects.toThrow("throttled");
  });
});
