import { createHook } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { withRetry } from "../../adapters/wrap/withRetry.js";
import { NotFoundError, PermanentError, TransientError } from "../../adapters/errors.js";
import { createMemoryAdapter } from "../../adapters/memory.js";
import { bufferSource, readAll } from "../helpers/blob.js";

const ctx = { adapter: "memory:flaky", op: "get", key: "db/a.zst" };
const fast = { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 };

/** A store whose i-th download delivers `data` up to byte `cutAt[i]` (from where it was asked to start), then fails with `error(i)`. */
async function flakyStore(data: Buffer, cutAt: number[], error: (i: number) => Error = () => new TransientError("connection lost", ctx)) {
  let opens = 0;
  const adapter = createMemoryAdapter({
    name: "flaky",
    fault: (call) => {
      if (call.op !== "get") return undefined;
      const i = opens++;
      const cut = cutAt[i] ?? data.length;
      return cut < data.length ? { at: cut, error: error(i) } : undefined;
    },
  });
  await adapter.put("db/a.zst", bufferSource(data));
  return { adapter, opens: () => opens, froms: () => adapter.calls.filter((c) => c.op === "get").map((c) => c.from) };
}

/**
 * Counts the timers made from now on that are still pending. Counting every
 * active timer was flaky: vitest's own throttled task-update timer, made
 * before the test, sometimes fired during it (3 runs in 40).
 */
function timersMadeFromNow(): { pending: () => number; stop: () => void } {
  const ids = new Set<number>();
  const hook = createHook({
    init: (id, type) => void (type === "Timeout" && ids.add(id)),
    destroy: (id) => void ids.delete(id),
  }).enable();
  return { pending: () => ids.size, stop: () => void hook.disable() };
}

describe("withRetry: a download that breaks off", () => {
  it("is opened again from where it stopped: the consumer sees every byte once, in order", async () => {
    const data = randomBytes(1_000_003);
    const store = await flakyStore(data, [300_000, 700_001]);
    const retries: string[] = [];
    const got = await readAll(await withRetry(store.adapter, { ...fast, onRetry: ({ op, attempt }) => retries.push(`${op} #${attempt}`) }).get("db/a.zst"));
    expect(got.equals(data)).toBe(true);
    expect(store.opens()).toBe(3);
    expect(store.froms()).toEqual([0, 300_000, 700_001]);
    expect(retries).toEqual(["get (resuming) #1", "get (resuming) #2"]);
  });

  it("keeps backpressure across resumes: a slow consumer larger than the buffers still gets every byte", async () => {
    const data = randomBytes(5 * 1024 * 1024 + 17);
    const store = await flakyStore(data, [3 * 1024 * 1024 + 5]);
    const stream = await withRetry(store.adapter, fast).get("db/a.zst");
    const chunks: Buffer[] = [];
    for await (const c of stream) {
      chunks.push(c as Buffer);
      await new Promise((r) => setImmediate(r)); // a consumer slower than the source
    }
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(store.opens()).toBe(2);
  });

  it("a consumer that gives up during the backoff stops it: no reopen, no timer left running", async () => {
    const store = await flakyStore(randomBytes(200_000), [100_000]);
    const timers = timersMadeFromNow();
    let retrying!: () => void;
    const backingOff = new Promise<void>((resolve) => (retrying = resolve));
    const stream = await withRetry(store.adapter, { retries: 3, minTimeoutMs: 60_000, maxTimeoutMs: 60_000, onRetry: () => retrying() }).get("db/a.zst");
    stream.resume();
    await backingOff;
    await new Promise((r) => setImmediate(r));
    expect(timers.pending()).toBe(1); // the 60 s backoff
    stream.destroy();
    await new Promise((r) => setImmediate(r));
    expect(timers.pending()).toBe(0);
    timers.stop();
    expect(store.opens()).toBe(1);
  });

  it("a raw socket error (not an adapter error) counts as network trouble and is resumed", async () => {
    const data = randomBytes(200_000);
    const store = await flakyStore(data, [100_000], () => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
    expect((await readAll(await withRetry(store.adapter, fast).get("db/a.zst"))).equals(data)).toBe(true);
  });

  it("gives up after `retries` resumes with the last error", async () => {
    const data = randomBytes(200_000);
    const store = await flakyStore(data, [10, 20, 30, 40, 50]);
    await expect(readAll(await withRetry(store.adapter, fast).get("db/a.zst"))).rejects.toThrow(TransientError);
    expect(store.opens()).toBe(4);
  });

  it("an error that is not worth retrying fails at once", async () => {
    for (const err of [new PermanentError("disk says no", ctx), new NotFoundError("gone", ctx)]) {
      const store = await flakyStore(randomBytes(200_000), [100_000], () => err);
      await expect(readAll(await withRetry(store.adapter, fast).get("db/a.zst"))).rejects.toBe(err);
      expect(store.opens()).toBe(1);
    }
  });
});
