import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdir, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * A file that looks like a snapshot but is not one of ours (issue 11, F): an
 * impossible date in its name, a hand-made copy. Every command lists it as
 * `foreign` or passes it by, none crashes, and nothing ever deletes it.
 */
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
const FOREIGN = [
  "app/20261399T020000Z-deadbeef.manifest.json", // month 13
  "app/20261131T020000Z-0badc0de.sqlite.zst", //    30 days hath November: not 1 December
  "app/before-upgrade.sqlite.gz", //                 someone's copy by hand
];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("tri-foreign-"));
  createSampleDb(path.join(dir, "app.db"), 100);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    [
      `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]`,
      `destinations: [{ name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}, retention: { keepLast: 1 } }]`,
      "policy: { copies: 2, media: 1, offsite: 0 }",
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
      "unchanged: upload # each run ships its own snapshot, so the test can count them",
    ].join("\n"),
  );
  const first = await runCli(["backup", "--init", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-24T02:00:00Z" } });
  expect(first.code, first.stdout + first.stderr).toBe(0);
  // Old enough that an orphan of ours with such a name would be cleaned up.
  const old = new Date(Date.now() - 5 * 86_400_000);
  for (const key of FOREIGN) {
    await writeFile(path.join(dir, "disk", key), key.endsWith(".json") ? "{}" : "not ours");
    await utimes(path.join(dir, "disk", key), old, old);
  }
}, 60_000);
afterAll(async () => cleanup?.());

const run = (args: string[]) => runCli([...args, "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-25T12:00:00Z" } });
const onDisk = async () => (await readdir(path.join(dir, "disk", "app"))).map((f) => `app/${f}`);

describe("a foreign file on a destination", () => {
  it("list shows it as foreign, beside the real copy", async () => {
    const r = await run(["list", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const d = r.json().destinations[0];
    expect(d.copies.map((c: any) => c.state)).toEqual(["complete"]);
    expect(d.foreign.map((f: any) => f.key).sort()).toEqual([...FOREIGN].sort());
    expect(d.foreign[0]).toMatchObject({ state: "foreign" });
    const text = await run(["list"]);
    expect(text.stdout).toMatch(/app\/20261399T020000Z-deadbeef\.manifest\.json\s+foreign/);
  });

  it("audit lists it and does not crash (exit 0: it takes nothing away)", async () => {
    const r = await run(["audit", "--format", "json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = r.json().databases[0];
    expect(db.foreign.map((f: any) => f.key).sort()).toEqual([...FOREIGN].sort());
    expect(db.damaged).toEqual([]);
    expect(db.orphans).toEqual([]);
    for (const format of ["md", "html"]) {
      const out = await run(["audit", "--format", format]);
      expect(out.code, out.stdout + out.stderr).toBe(0);
      expect(out.stdout).toContain("20261399T020000Z-deadbeef");
    }
  });

  it("verify, restore, prune and backup with retention pass it by and never delete it", async () => {
    const v = await run(["verify", "--deep", "--json"]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const restore = await run(["restore", "app", "--to", path.join(dir, "back.db"), "--json"]);
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    const prune = await run(["prune", "--json"]);
    expect(prune.code, prune.stdout + prune.stderr).toBe(0);
    const backup = await run(["backup", "--json"]);
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);
    expect(backup.json().databases[0].destinations[0].retention.deleted.length).toBe(1);
    const left = await onDisk();
    for (const key of FOREIGN) expect(left).toContain(key);
    expect(left.filter((k) => /^app\/\d{8}T\d{6}Z-[0-9a-f]{8}\.manifest\.json$/.test(k) && !FOREIGN.includes(k))).toHaveLength(1);
  });
});
