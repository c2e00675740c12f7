import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, statfs, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { killWhenStaged, stagedFiles } from "../helpers/staging.js";
import { createSampleDb } from "../helpers/sqlite.js";

let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
let staging: string;

function writeConfig(stagingDir: string): Promise<void> {
  staging = stagingDir;
  return writeFile(
    cfg,
    [
      "databases:",
      `  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }`,
      "destinations:",
      `  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }`,
      `staging: ${JSON.stringify(stagingDir)}`,
      "policy: { copies: 1, media: 1, offsite: 0 }",
    ].join("\n"),
  );
}

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-staging-"));
  // Large enough (~30 MB) that the run spends a visible moment with files staged.
  createSampleDb(path.join(dir, "app.db"), 100_000);
  cfg = path.join(dir, "triplicate.yml");
  await writeConfig(path.join(dir, "staging"));
});
afterEach(async () => cleanup());

describe("the staging folder", () => {
  it("a run sweeps the staged files of runs that were killed, and keeps a live run's", async () => {
    await killWhenStaged(staging, ["backup", "--init", "--config", cfg]);
    await killWhenStaged(staging, ["backup", "--init", "--config", cfg]);
    const left = await stagedFiles(staging);
    expect(left.length).toBeGreaterThan(0);
    // A file named for a process that is alive (this test runner) is not ours to remove.
    const live = `20261120T020000Z-0badc0de.pid${process.pid}.sqlite.zst`;
    await writeFile(path.join(staging, "app", live), "a live run's artifact");

    const r = await runCli(["backup", "--init", "--config", cfg, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed \d+ staged file\(s\) .* left by runs that died/);
    expect(await stagedFiles(staging), r.stderr).toEqual([live]);
  }, 60_000);

  it("warns when staging is on tmpfs (RAM): a large snapshot there competes with the applications for memory", async (ctx) => {
    const shm = "/dev/shm";
    const fs = await statfs(shm).catch(() => undefined);
    if (fs?.type !== 0x01021994) ctx.skip(); // no tmpfs to try on this machine
    const onTmpfs = path.join(shm, path.basename(dir));
    await mkdir(onTmpfs);
    try {
      await writeConfig(onTmpfs);
      const r = await runCli(["backup", "--init", "--config", cfg]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/staging folder .* is on tmpfs \(memory\).*set staging:/);
    } finally {
      const { rm } = await import("node:fs/promises");
      await rm(onTmpfs, { recursive: true, force: true });
    }
  }, 60_000);
});
