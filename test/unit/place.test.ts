import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { link, mkdtemp, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { placeAtomically, type PlaceOps } from "../../src/restore/place.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tri-place-"));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const log = pino({ level: "silent" });
const now = new Date("2026-11-22T00:00:00Z");

/** Real file operations that check, before and after each one, that something is at the database's path. */
function watching(target: string, gaps: string[], overrides: Partial<PlaceOps> = {}): PlaceOps & { calls: string[] } {
  const calls: string[] = [];
  const step = <A extends unknown[]>(name: string, fn: (...a: A) => Promise<void>) => async (...a: A) => {
    calls.push(name);
    if (!existsSync(target)) gaps.push(`before ${name}(${a.map((x) => path.basename(String(x))).join(", ")})`);
    await fn(...a);
    if (!existsSync(target)) gaps.push(`after ${name}(${a.map((x) => path.basename(String(x))).join(", ")})`);
  };
  return {
    calls,
    rename: step("rename", overrides.rename ?? rename),
    link: step("link", overrides.link ?? link),
    unlink: step("unlink", overrides.unlink ?? unlink),
  };
}

describe("placing a restored database", () => {
  it("never leaves the path without a file: the old one is hard-linked aside, then the new one renamed over it", async () => {
    const target = path.join(dir, "app.db");
    const temp = path.join(dir, ".app.db.restore-1-ab");
    await writeFile(target, "old database");
    await writeFile(`${target}-wal`, "old wal");
    await writeFile(temp, "restored database");
    const gaps: string[] = [];
    const ops = watching(target, gaps);
    const moved = await placeAtomically(temp, target, now, "x", log, ops);
    expect(ops.calls.length).toBeGreaterThan(0);
    expect(gaps).toEqual([]);
    expect(await readFile(target, "utf8")).toBe("restored database");
    expect(moved.map((m) => path.basename(m))).toEqual(["app.db.pre-restore-20261122T000000Z", "app.db.pre-restore-20261122T000000Z-wal"]);
    expect(await readFile(moved[0], "utf8")).toBe("old database");
    expect(await readFile(moved[1], "utf8")).toBe("old wal");
    expect(existsSync(`${target}-wal`)).toBe(false);
    expect(existsSync(temp)).toBe(false);
  });

  it("where hard links are refused (some network shares), falls back to moving the old file aside", async () => {
    const target = path.join(dir, "app.db");
    const temp = path.join(dir, ".app.db.restore-1-ab");
    await writeFile(target, "old database");
    await writeFile(temp, "restored database");
    const refuse = async () => {
      throw Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" });
    };
    const moved = await placeAtomically(temp, target, now, "x", log, watching(target, [], { link: refuse }));
    expect(await readFile(target, "utf8")).toBe("restored database");
    expect(await readFile(moved[0], "utf8")).toBe("old database");
  });

  it("a failed final rename leaves the old database at its path and removes the extra name", async () => {
    const target = path.join(dir, "app.db");
    const temp = path.join(dir, ".app.db.restore-1-ab");
    await writeFile(target, "old database");
    await writeFile(`${target}-wal`, "old wal");
    await writeFile(temp, "restored database");
    const failOnTemp = async (from: string, to: string) => {
      if (from === temp) throw Object.assign(new Error("EIO: i/o error, rename"), { code: "EIO" });
      await rename(from, to);
    };
    await expect(placeAtomically(temp, target, now, "x", log, watching(target, [], { rename: failOnTemp }))).rejects.toThrow(/EIO.*Nothing was changed there/);
    expect(await readFile(target, "utf8")).toBe("old database");
    expect(await readFile(`${target}-wal`, "utf8")).toBe("old wal");
    expect(existsSync(path.join(dir, "app.db.pre-restore-20261122T000000Z"))).toBe(false);
  });
});
