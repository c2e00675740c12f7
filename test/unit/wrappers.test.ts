import { describe, expect, it } from "vitest";
import pino from "pino";
import { setTimeout as sleep } from "node:timers/promises";
import { createMemoryAdapter } from "../../adapters/memory.js";
import { NotFoundError } from "../../adapters/errors.js";
import type { StorageAdapter } from "../../adapters/types.js";
import { withDryRun } from "../../adapters/wrap/withDryRun.js";
import { withLimit } from "../../adapters/wrap/withLimit.js";
import { withLogging } from "../../adapters/wrap/withLogging.js";
import { bufferSource, readAll } from "../helpers/blob.js";

async function listKeys(a: StorageAdapter, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of a.list(prefix)) keys.push(o.key);
  return keys;
}

describe("withDryRun", () => {
  it("passes reads through and reports writes instead of making them", async () => {
    const mem = createMemoryAdapter();
    await mem.put("db/kept", bufferSource("kept"));
    const writes: string[] = [];
    const dry = withDryRun(mem, (op, key) => writes.push(`${op} ${key}`));
    expect((await dry.put("db/new", bufferSource("new"))).size).toBe(3);
    await dry.delete("db/kept");
    expect(await dry.sweepTemporary("db/", new Date())).toEqual([]);
    expect(writes).toEqual(["put db/new", "delete db/kept", "sweepTemporary db/"]);
    expect((await readAll(await dry.get("db/kept"))).toString()).toBe("kept");
    expect((await dry.stat("db/kept")).size).toBe(4);
    expect(await listKeys(dry, "db/")).toEqual(["db/kept"]);
    expect(mem.calls.map((c) => c.op)).toEqual(["put", "get", "stat", "list"]);
    await dry.close();
    expect(mem.closed).toBe(true);
  });
});

describe("withLimit", () => {
  it("lets no more than `limit` calls run at once", async () => {
    const mem = createMemoryAdapter({ maxConnections: 2 });
    await mem.put("db/x", bufferSource("x"));
    let running = 0;
    let most = 0;
    const slow: StorageAdapter = {
      ...mem,
      stat: async (key, signal) => {
        most = Math.max(most, ++running);
        await sleep(5);
        running--;
        return mem.stat(key, signal);
      },
    };
    const limited = withLimit(slow);
    await Promise.all(Array.from({ length: 6 }, () => limited.stat("db/x")));
    expect(most).toBe(2);
    // Downloads hold their slot while their stream is open: test/unit/withLimit.test.ts.
  });
});

describe("withLogging", () => {
  it("logs each call at debug level with its duration, under the adapter's id", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const logged = withLogging(createMemoryAdapter({ name: "log" }), logger);
    await logged.put("db/x", bufferSource("abc"));
    await expect(logged.stat("db/missing")).rejects.toBeInstanceOf(NotFoundError);
    expect(await listKeys(logged, "db/")).toEqual(["db/x"]);
    const seen = lines.map(({ level, adapter, op, key, prefix, bytes, count, msg, err }) => ({ level, adapter, op, key, prefix, bytes, count, msg, err }));
    expect(seen).toEqual([
      { level: 20, adapter: "memory:log", op: "put", key: "db/x", bytes: 3, msg: "put ok" },
      {
        level: 20, adapter: "memory:log", op: "stat", key: "db/missing", msg: "stat failed",
        err: expect.objectContaining({ message: "memory:log stat db/missing: no such object", code: "NOT_FOUND" }),
      },
      { level: 20, adapter: "memory:log", op: "list", prefix: "db/", count: 1, msg: "list ok" },
    ].map((l) => ({ key: undefined, prefix: undefined, bytes: undefined, count: undefined, err: undefined, ...l })));
    expect(lines.slice(0, 2).every((l) => typeof l.ms === "number")).toBe(true);
  });
});
