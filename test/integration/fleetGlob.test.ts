import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * Issue 15, fleets: `databases:` entries may be globs (`path: tenants/*.db`),
 * each matched file named from its file name, expanded at every run; a
 * failed database never stops the others.
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-fleet-"));
  await mkdir(path.join(dir, "tenants"));
  for (const t of ["acme", "globex", "initech"]) createSampleDb(path.join(dir, "tenants", `${t}.db`), 50);
  createSampleDb(path.join(dir, "app.db"), 50);
});
afterEach(async () => cleanup());

async function config(databases: string, extra = ""): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases:
${databases}
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}, retention: { keepLast: 1 } }
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
${extra}`,
  );
  return file;
}
const GLOB = `  - { path: tenants/*.db }\n  - { name: app, path: app.db }`;
const names = (r: { json(): any }) => r.json().databases.map((d: any) => d.db);

describe("fleets: globs in databases", () => {
  it("each matched file is a database named from its file name, mixed with explicit entries; a tenant added later is picked up", async () => {
    const cfg = await config(GLOB, "concurrency: { snapshots: 2, uploads: 3 }\n");
    const r = await runCli(["backup", "--init", "--json", "--config", cfg]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(names(r)).toEqual(["acme", "globex", "initech", "app"]);
    expect((await readdir(path.join(dir, "disk"))).sort()).toEqual(["acme", "app", "globex", "history", "initech", "triplicate-destination.json"]);

    createSampleDb(path.join(dir, "tenants", "hooli.db"), 50);
    const again = await runCli(["backup", "--json", "--config", cfg]);
    expect(again.code, again.stderr).toBe(0);
    expect(names(again)).toEqual(["acme", "globex", "hooli", "initech", "app"]);
    expect((await runCli(["backup", "--db", "hooli", "--json", "--config", cfg])).code).toBe(0);
  });

  it("two files that map to one name are a config error naming both", async () => {
    createSampleDb(path.join(dir, "tenants", "acme.sqlite"), 10);
    const cfg = await config(`  - { path: "tenants/acme.*" }`);
    const r = await runCli(["backup", "--init", "--config", cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path.join(dir, "tenants", "acme.db"));
    expect(r.stderr).toContain(path.join(dir, "tenants", "acme.sqlite"));
    expect(r.stderr).toContain(`"acme"`);
  });

  it("a glob match that collides with an explicit entry of another file is a config error; the same file is one database", async () => {
    const clash = await config(`  - { path: tenants/*.db }\n  - { name: acme, path: app.db }`);
    const r = await runCli(["backup", "--init", "--config", clash]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path.join(dir, "app.db"));
    expect(r.stderr).toContain(path.join(dir, "tenants", "acme.db"));

    const same = await config(`  - { path: tenants/*.db }\n  - { name: acme, path: tenants/acme.db }`);
    const ok = await runCli(["backup", "--init", "--json", "--config", same]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(names(ok)).toEqual(["globex", "initech", "acme"]);
  });

  it("a file whose name breaks the name rules is a config error that names it", async () => {
    createSampleDb(path.join(dir, "tenants", "NUL.db"), 10);
    const r = await runCli(["backup", "--init", "--config", await config(GLOB)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path.join(dir, "tenants", "NUL.db"));
    expect(r.stderr).toContain("reserved device name");
  });

  it("a glob with a name, or a name-less entry without a wildcard, is refused", async () => {
    const r = await runCli(["backup", "--config", await config(`  - { name: x, path: tenants/*.db }`)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("glob");
  });

  it("a broken tenant fails alone: the others are backed up, exit 1 covers it", async () => {
    await writeFile(path.join(dir, "tenants", "globex.db"), "this is not a database");
    const r = await runCli(["backup", "--init", "--json", "--config", await config(GLOB)]);
    expect(r.code).toBe(1);
    const byName = Object.fromEntries(r.json().databases.map((d: any) => [d.db, d]));
    expect(byName.globex.exitCode).toBe(1);
    for (const ok of ["acme", "initech", "app"]) expect(byName[ok].exitCode, ok).toBe(0);
  });

  it("a glob that matches nothing (an unmounted tenant folder) fails loudly and deletes no tenant's copies", async () => {
    const cfg = await config(GLOB);
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
    const before = (await readdir(path.join(dir, "disk", "acme"))).sort();
    await rename(path.join(dir, "tenants"), path.join(dir, "tenants.unmounted"));
    await mkdir(path.join(dir, "tenants"));
    const r = await runCli(["backup", "--json", "--config", cfg]);
    expect(r.code).toBe(1);
    const failed = r.json().databases.find((d: any) => d.exitCode === 1);
    expect(failed.error).toContain("matched no file");
    expect(r.json().databases.find((d: any) => d.db === "app").exitCode).toBe(0);
    const prune = await runCli(["prune", "--json", "--config", cfg]);
    expect(prune.code, prune.stderr).toBe(0);
    expect((await readdir(path.join(dir, "disk", "acme"))).sort()).toEqual(before);
  });
});
