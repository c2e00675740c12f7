import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { withTimeout } from "../../adapters/wrap/withTimeout.js";
import { TransientError } from "../../adapters/errors.js";
import { createMemoryAdapter } from "../../adapters/memory.js";
import type { StorageAdapter } from "../../adapters/types.js";
import { bufferSource, readAll } from "../helpers/blob.js";

describe("withTimeout: stalled downloads", () => {
  it("fails a download that stops delivering bytes, with a TransientError", async () => {
    // One chunk, then nothing ever again: a disk in D state behind a live SSH server.
    const hung = createMemoryAdapter({ name: "hung", fault: (c) => (c.op === "get" ? { at: "first bytes".length } : undefined) });
    await hung.put("k", bufferSource("first bytes, and more that never comes"));
    const stream = await withTimeout(hung, 10_000, 200).get("k");
    await expect(readAll(stream)).rejects.toBeInstanceOf(TransientError);
  });
});

describe("withTimeout: long downloads", () => {
  /** Like the S3 SDK: the signal given to get() also aborts the body later. */
  const slowButSteady = (chunks: number, everyMs: number, openMs = 0): StorageAdapter => ({
    ...createMemoryAdapter({ name: "slow" }),
    get: async (_key, signal) => {
      await new Promise((r) => setTimeout(r, openMs));
      signal?.throwIfAborted();
      let sent = 0;
      const body = new Readable({
        read() {
          setTimeout(() => this.push(sent++ < chunks ? Buffer.from("x".repeat(10)) : null), everyMs);
        },
      });
      signal?.addEventListener("abort", () => body.destroy(new Error("aborted by the SDK's signal")), { once: true });
      return body;
    },
  });

  it("lets a download that keeps delivering bytes run past the operation timeout", async () => {
    // 20 chunks, 25 ms apart: ~500 ms of download against a 150 ms timeout.
    const stream = await withTimeout(slowButSteady(20, 25), 150, 1_000).get("k");
    expect((await readAll(stream)).length).toBe(200);
  });

  it("still times out a download that takes too long to open", async () => {
    await expect(withTimeout(slowButSteady(1, 1, 400), 100, 1_000).get("k")).rejects.toBeInstanceOf(TransientError);
  });

  it("the caller can still cancel a download after it opened", async () => {
    const caller = new AbortController();
    const stream = await withTimeout(slowButSteady(100, 20), 10_000, 1_000).get("k", caller.signal);
    setTimeout(() => caller.abort(new Error("operator pressed ^C")), 100);
    await expect(readAll(stream)).rejects.toThrow(/aborted|\^C/);
  });
});
