import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * Issue 15, leftovers of fleets: a tenant a glob matched before whose file is
 * gone today. Its copies are kept, the backup says so loudly (exit 3, a
 * `vanished` entry), prune never touches them, and restore, list and verify
 * accept its name.
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-vanished-"));
  await mkdir(path.join(dir, "tenants"));
  for (const t of ["acme", "globex", "initech"]) createSampleDb(path.join(dir, "tenants", `${t}.db`), 50);
  createSampleDb(path.join(dir, "app.db"), 50);
});
afterEach(async () => cleanup());

const GLOB = `  - { path: tenants/*.db }\n  - { name: app, path: app.db }`;

async function config(databases = GLOB, keepLast = 5): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases:
${databases}
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}, retention: { keepLast: ${keepLast} } }
policy: { copies: 1, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
unchanged: upload
`,
  );
  return file;
}
const night = (d: number) => ({ env: { TRIPLICATE_NOW: `2026-11-${String(20 + d).padStart(2, "0")}T02:00:00Z` } });
const files = async (db: string) => (await readdir(path.join(dir, "disk", db))).sort();

/** Two nights of every tenant, then globex's file is deleted. */
async function twoNightsThenGlobexGone(cfg: string): Promise<string[]> {
  expect((await runCli(["backup", "--init", "--config", cfg], night(1))).code).toBe(0);
  const second = await runCli(["backup", "--config", cfg], night(2));
  expect(second.code, second.stderr).toBe(0);
  await rm(path.join(dir, "tenants", "globex.db"));
  return files("globex");
}

describe("a vanished tenant", () => {
  it("is reported (JSON and a warning line), makes the run degraded, and keeps every copy", async () => {
    const cfg = await config();
    const before = await twoNightsThenGlobexGone(cfg);
    const r = await runCli(["backup", "--json", "--config", cfg], night(3));
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const report = r.json();
    for (const d of report.databases) expect(d.exitCode, d.db).toBe(0);
    expect(report.vanished).toHaveLength(1);
    const v = report.vanished[0];
    expect(v).toMatchObject({ db: "globex", sourcePath: path.join(dir, "tenants", "globex.db"), glob: path.join(dir, "tenants", "*.db"), destinations: ["disk"] });
    expect(v.newest.snapshotId).toMatch(/^20261122T020000Z/);
    expect(v.newest.destination).toBe("disk");
    expect(v.newest.age).toBe("24.0h");
    expect(await files("globex")).toEqual(before);

    const text = await runCli(["backup", "--config", cfg], night(4));
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/WARNING: database globex VANISHED/);
    expect(text.stdout).toContain(path.join(dir, "tenants", "globex.db"));
    expect(text.stdout).toMatch(/2\.0d old/);
    expect(text.stdout).toContain("restore globex --to");
    expect(await files("globex")).toEqual(before);
  });

  it("prune never deletes anything of it, even under a policy that prunes every other tenant", async () => {
    const before = await twoNightsThenGlobexGone(await config());
    const tight = await config(GLOB, 1);
    const prune = await runCli(["prune", "--json", "--config", tight], night(3));
    expect(prune.code, prune.stdout + prune.stderr).toBe(0);
    const disk = prune.json().destinations[0];
    expect(disk.notManaged).toEqual(["globex"]);
    expect(disk.databases.find((d: any) => d.db === "acme").deleted).toHaveLength(1);
    expect(disk.databases.some((d: any) => d.db === "globex")).toBe(false);
    expect(await files("globex")).toEqual(before);
    // Naming it is refused (exit 2), with the reason, and still deletes nothing.
    const named = await runCli(["prune", "--db", "globex", "--config", tight], night(3));
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/no database named "globex".*prune deletes copies only of databases the config names/s);
    expect(await files("globex")).toEqual(before);
    // A backup under the tight policy deletes acme's old copy, never globex's.
    expect((await runCli(["backup", "--config", tight], night(3))).code).toBe(3);
    expect(await files("globex")).toEqual(before);
  });

  it("restore NAME --to PATH brings it back; without --to it says why and writes nothing", async () => {
    const cfg = await config();
    await twoNightsThenGlobexGone(cfg);
    const no = await runCli(["restore", "globex", "--config", cfg]);
    expect(no.code).toBe(2);
    expect(no.stderr).toMatch(/globex is not in .*--to PATH/s);
    expect(await readdir(path.join(dir, "tenants"))).not.toContain("globex.db");

    const to = path.join(dir, "back", "globex.db");
    await mkdir(path.dirname(to));
    const r = await runCli(["restore", "globex", "--to", to, "--json", "--config", cfg]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json().restored.snapshotId).toMatch(/^20261122T020000Z/);
    expect(await readdir(path.dirname(to))).toContain("globex.db");
  });

  it("list --db and verify --db accept its name; a name with no copies anywhere is still a usage error", async () => {
    const cfg = await config();
    await twoNightsThenGlobexGone(cfg);
    const list = await runCli(["list", "--db", "globex", "--json", "--config", cfg]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json().destinations[0].copies.map((c: any) => c.db)).toEqual(["globex", "globex"]);
    const verify = await runCli(["verify", "--db", "globex", "--deep", "--json", "--config", cfg]);
    expect(verify.code, verify.stderr).toBe(0);
    const copies = verify.json().destinations[0].copies;
    expect(copies.map((c: any) => c.db)).toEqual(["globex", "globex"]);
    expect(copies.some((c: any) => c.deep?.ok)).toBe(true);

    for (const cmd of ["list", "verify"]) {
      const typo = await runCli([cmd, "--db", "globx", "--config", cfg]);
      expect(typo.code, cmd).toBe(2);
      expect(typo.stderr, cmd).toMatch(/no database named "globx".*no copies of it on any reachable destination/s);
    }
  });

  it("a database removed from the config on purpose (its path no glob matches) is not reported", async () => {
    const cfg = await config();
    expect((await runCli(["backup", "--init", "--config", cfg], night(1))).code).toBe(0);
    const r = await runCli(["backup", "--json", "--config", await config(`  - { path: tenants/*.db }`)], night(2));
    expect(r.code, r.stdout).toBe(0);
    expect(r.json().vanished).toEqual([]);
  });

  it("a whole fleet unmounted: the glob fails (exit 1) and every tenant is listed as vanished", async () => {
    const cfg = await config();
    expect((await runCli(["backup", "--init", "--config", cfg], night(1))).code).toBe(0);
    await rm(path.join(dir, "tenants"), { recursive: true });
    await mkdir(path.join(dir, "tenants"));
    const r = await runCli(["backup", "--json", "--config", cfg], night(2));
    expect(r.code).toBe(1);
    expect(r.json().vanished.map((v: any) => v.db)).toEqual(["acme", "globex", "initech"]);
    expect(await files("acme")).toHaveLength(3); // artifact, manifest, proof
  });

  it("backup --db names only those databases and looks for no vanished tenant", async () => {
    const cfg = await config();
    await twoNightsThenGlobexGone(cfg);
    const r = await runCli(["backup", "--db", "acme", "--json", "--config", cfg], night(3));
    expect(r.code, r.stdout).toBe(0);
    expect(r.json().vanished).toEqual([]);
  });
});
