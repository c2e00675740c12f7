import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createMemoryAdapter, type MemoryOptions } from "../../adapters/memory.js";
import { TransientError } from "../../adapters/errors.js";
import { withLimit } from "../../adapters/wrap/withLimit.js";
import { withRetry } from "../../adapters/wrap/withRetry.js";
import { withTimeout } from "../../adapters/wrap/withTimeout.js";
import { bufferSource, readAll } from "../helpers/blob.js";

/** Issue 17.2: maxConnections bounds downloads too, for as long as their bytes flow. */
const data = randomBytes(300_000);
async function store(maxConnections: number, fault?: MemoryOptions["fault"]) {
  const mem = createMemoryAdapter({ maxConnections, fault });
  await mem.put("db/a", bufferSource(data));
  const gets = () => mem.calls.filter((c) => c.op === "get").length;
  return { mem, gets };
}
/** Settled within a few event-loop turns, or not (a queued call stays pending). */
const settles = async (p: Promise<unknown>) => Promise.race([p.then(() => true, () => true), sleep(30).then(() => false)]);

describe("withLimit holds a download's slot until its stream is done", () => {
  it("a third download waits while two streams are open, and starts when one is read to the end", async () => {
    const { mem, gets } = await store(2);
    const limited = withLimit(mem);
    const [a, b] = await Promise.all([limited.get("db/a"), limited.get("db/a")]);
    const third = limited.get("db/a");
    expect(await settles(third)).toBe(false);
    expect(gets()).toBe(2);
    expect((await readAll(a)).equals(data)).toBe(true);
    expect((await readAll(await third)).equals(data)).toBe(true);
    expect(gets()).toBe(3);
    b.destroy();
  });

  it("a consumer that abandons a stream (destroys it) gives the slot back", async () => {
    const { mem } = await store(1);
    const limited = withLimit(mem);
    const first = await limited.get("db/a");
    first.read(); // a little read, then given up
    const next = limited.get("db/a");
    expect(await settles(next)).toBe(false);
    first.destroy();
    expect(await settles(next)).toBe(true);
    (await next).destroy();
  });

  it("a consumer that breaks out of for-await gives the slot back", async () => {
    const { mem } = await store(1);
    const limited = withLimit(mem);
    for await (const _chunk of await limited.get("db/a")) break;
    expect(await settles(limited.stat("db/a"))).toBe(true);
  });

  it("a stream that fails mid-way gives the slot back, and so does a get that fails to open", async () => {
    let n = 0;
    const { mem } = await store(1, (call) => (call.op === "get" && n++ === 0 ? { at: 70_000, error: new TransientError("connection lost", { adapter: "memory:default", op: "get", key: "db/a" }) } : undefined));
    const limited = withLimit(mem);
    await expect(readAll(await limited.get("db/a"))).rejects.toThrow(/connection lost/);
    mem.failNext("get");
    await expect(limited.get("db/a")).rejects.toThrow(/injected fault/);
    expect((await readAll(await limited.get("db/a"))).equals(data)).toBe(true);
  });

  it("retry's resuming get does not deadlock with maxConnections 1, and the stack gives the slot back", async () => {
    let n = 0;
    const { mem, gets } = await store(1, (call) => (call.op === "get" && n++ < 2 ? { at: 65_536 * (n + 1), error: new TransientError("reset", { adapter: "memory:default", op: "get", key: "db/a" }) } : undefined));
    const stack = withRetry(withTimeout(withLimit(mem), 5_000, 5_000), { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 });
    expect((await readAll(await stack.get("db/a"))).equals(data)).toBe(true);
    expect(gets()).toBe(3);
    // Abandoned through every wrapper: the slot comes back for the next call.
    const abandoned = await stack.get("db/a");
    abandoned.destroy();
    expect(await settles(stack.stat("db/a"))).toBe(true);
  }, 10_000);
});
