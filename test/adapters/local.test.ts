import { mkdtemp, rm, writeFile, utimes, readdir, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import pino from "pino";
import { createLocalAdapter } from "../../adapters/local/index.js";
import { DestinationConfigError, NotFoundError } from "../../adapters/errors.js";
import { describeAdapterContract } from "./contract.js";
import { bufferSource, readAll } from "../helpers/blob.js";

const logger = pino({ level: "silent" });

describeAdapterContract("local", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tri-local-"));
  return { adapter: await createLocalAdapter({ path: dir }, { logger }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe("local adapter specifics", () => {
  it("hides and sweeps temp files left by a crash, but only old ones", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-local-"));
    try {
      const a = await createLocalAdapter({ path: dir }, { logger });
      await a.put("app/real.bin", bufferSource("real"));
      const old = path.join(dir, "app", ".x.sqlite.zst.tmp-123-abc");
      const fresh = path.join(dir, "app", ".y.sqlite.zst.tmp-456-def");
      await writeFile(old, "partial");
      await writeFile(fresh, "in progress");
      const past = new Date(Date.now() - 3 * 86_400_000);
      await utimes(old, past, past);
      const listed = [];
      for await (const o of a.list("app/")) listed.push(o.key);
      expect(listed).toEqual(["app/real.bin"]);
      const removed = await a.sweepTemporary("app/", new Date(Date.now() - 86_400_000));
      expect(removed).toEqual(["app/.x.sqlite.zst.tmp-123-abc"]);
      expect((await readdir(path.join(dir, "app"))).sort()).toEqual([".y.sqlite.zst.tmp-456-def", "real.bin"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() === 0)("maps an unwritable folder to DestinationConfigError", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-local-"));
    try {
      await chmod(dir, 0o500);
      const a = await createLocalAdapter({ path: dir }, { logger });
      await expect(a.put("app/x", bufferSource("x"))).rejects.toBeInstanceOf(DestinationConfigError);
    } finally {
      await chmod(dir, 0o700);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a root that is a file", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-local-"));
    try {
      await writeFile(path.join(dir, "file"), "x");
      await expect(createLocalAdapter({ path: path.join(dir, "file") }, { logger })).rejects.toBeInstanceOf(DestinationConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("local adapter: a missing root", () => {
  it("is created for a backup, and is an error naming the folder for everything else", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-local-"));
    try {
      const root = path.join(dir, "not-mounted", "backups");
      const err = await createLocalAdapter({ path: root }, { logger, createRoot: false }).catch((e) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toContain(`the folder ${root} does not exist`);
      expect(await readdir(dir)).toEqual([]);
      await createLocalAdapter({ path: root }, { logger, createRoot: true });
      expect(await readdir(root)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("local adapter: sources that are files on this machine", () => {
  it("copies through the kernel, fsyncs, and refuses a size that does not match", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-local-"));
    try {
      const a = await createLocalAdapter({ path: path.join(dir, "dest") }, { logger });
      const file = path.join(dir, "artifact.bin");
      await writeFile(file, "staged artifact bytes");
      const ok = bufferSource("staged artifact bytes", { localPath: file });
      expect((await a.put("app/x.bin", ok)).size).toBe(21);
      expect((await readAll(await a.get("app/x.bin"))).toString()).toBe("staged artifact bytes");
      await expect(a.put("app/y.bin", bufferSource("staged artifact bytes", { localPath: file, size: 5 }))).rejects.toThrow(/copied 21 bytes, expected 5/);
      expect(await readdir(path.join(dir, "dest", "app"))).toEqual(["x.bin"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
