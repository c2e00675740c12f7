import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { flipByte } from "../helpers/damage.js";
import { createSampleDb } from "../helpers/sqlite.js";

/** Rows of the fault matrix (issue 12) that need no server: README "Faults tried, and what held". */
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
const DESTS = ["disk", "usb", "cloud"];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-faults-"));
  // Big enough (~6 MB) that a backup takes a while, so two started together overlap.
  createSampleDb(path.join(dir, "app.db"), 20_000);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    [
      "databases:",
      `  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }`,
      "destinations:",
      ...DESTS.map((d, i) => `  - { name: ${d}, type: local, medium: m${i}${i === 2 ? ", offsite: true" : ""}, path: ${JSON.stringify(path.join(dir, d))} }`),
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
    ].join("\n"),
  );
  expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
});
afterEach(async () => cleanup());

describe("fault matrix: local rows", () => {
  it("two runs of one config at once: one is refused with a clear message (or they ran one after the other); nothing is corrupted", async () => {
    const [a, b] = await Promise.all([runCli(["backup", "--config", cfg, "--json"]), runCli(["backup", "--config", cfg, "--json"])]);
    const codes = [a.code, b.code].sort();
    if (codes[1] !== 0) {
      expect(codes[0]).toBe(0);
      const refused = a.code !== 0 ? a : b;
      expect(refused.stderr + refused.stdout).toMatch(/another triplicate run \(pid \d+\) is using .*; wait for it to finish/);
    }
    // Whatever the interleaving, every copy on every destination is whole and restorable.
    const deep = await runCli(["verify", "--config", cfg, "--deep", "--budget", "1TB", "--json"]);
    expect(deep.code, deep.stdout).toBe(0);
    expect(deep.json().errors).toBe(0);
  });

  it("a bit flipped in one copy and another truncated: restore comes from the third, names both reasons, exit 3", async () => {
    const list = (await runCli(["list", "--config", cfg, "--json"])).json();
    const copy = list.destinations[0].copies[0];
    await flipByte(path.join(dir, "disk", copy.artifactKey));
    await truncate(path.join(dir, "usb", copy.artifactKey), 1000);
    const r = await runCli(["restore", "app", "--config", cfg, "--to", path.join(dir, "back.db"), "--json"]);
    expect(r.code, r.stderr).toBe(3);
    const rep = r.json();
    expect(rep.restored).toMatchObject({ destination: "cloud", snapshotId: copy.snapshotId });
    const reasons = Object.fromEntries(rep.attempts.filter((t: any) => !t.ok).map((t: any) => [t.destination, t.reason]));
    expect(reasons.usb).toMatch(/size-mismatch/);
    expect(reasons.disk).toMatch(/sha256|checksum|hash/i);
  });
});
