import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { open, readFile, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * What the source checks refuse (issue 11, E): foreign-key violations are the
 * source's own data and become a warning by default; a failed integrity_check
 * still ships nothing and says what to do next.
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-checks-")));
afterEach(async () => cleanup());

async function writeConfig(extra = ""): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    [
      `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]`,
      `destinations: [{ name: disk, type: local, path: ${JSON.stringify(path.join(dir, "dest"))} }]`,
      "policy: { copies: 2, media: 1, offsite: 0 }",
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
      extra,
    ].join("\n"),
  );
  return file;
}

/** Rows whose parent does not exist: SQLite lets them in unless the application turns foreign keys on. */
function addDanglingPosts(file: string, n: number): void {
  const db = new Database(file);
  db.pragma("foreign_keys = OFF"); // better-sqlite3 turns them on; most applications never do
  const ins = db.prepare("INSERT INTO posts (author_id, body) VALUES (?, 'orphaned')");
  for (let i = 0; i < n; i++) ins.run(900 + i);
  db.close();
}

async function manifests(): Promise<any[]> {
  const folder = path.join(dir, "dest", "app");
  const names = (await readdir(folder).catch(() => [])).filter((f) => f.endsWith(".manifest.json"));
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(folder, n), "utf8"))));
}

describe("source checks", () => {
  it("foreign-key violations are a warning by default: shipped, counted in the manifest, the first few named", async () => {
    createSampleDb(path.join(dir, "app.db"), 100);
    addDanglingPosts(path.join(dir, "app.db"), 7);
    const cfg = await writeConfig();
    const res = await runCli(["backup", "--init", "--config", cfg, "--json"]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const run = res.json().databases[0];
    expect(run.destinations.map((d: any) => d.status)).toEqual(["verified"]);
    expect(run.snapshot.foreignKeys).toMatchObject({ mode: "warn", violations: 7 });
    expect(run.snapshot.foreignKeys.first).toHaveLength(5);
    expect(run.snapshot.foreignKeys.first[0]).toMatchObject({ table: "posts", parent: "authors" });
    const [m] = await manifests();
    expect(m.sqlite.foreignKeyViolations).toBe(7);

    const text = await runCli(["backup", "--init", "--config", cfg]);
    expect(text.code, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).toMatch(/WARNING: 7 row\(s\) break foreign keys.*posts rowid \d+ → authors/);
    expect(text.stdout).toMatch(/checks: \{ foreignKeys: fail \}/);

    // The copy is faithful to the source, violations and all: it restores.
    const back = await runCli(["restore", "app", "--config", cfg, "--to", path.join(dir, "back.db"), "--json"]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    const restored = new Database(path.join(dir, "back.db"), { readonly: true });
    expect((restored.pragma("foreign_key_check") as unknown[]).length).toBe(7);
    restored.close();
    const deep = await runCli(["verify", "--deep", "--config", cfg, "--json"]);
    expect(deep.code, deep.stdout + deep.stderr).toBe(0);
  });

  it("checks.foreignKeys: fail refuses the snapshot, ships nothing, and says how to relax it", async () => {
    createSampleDb(path.join(dir, "app.db"), 100);
    addDanglingPosts(path.join(dir, "app.db"), 2);
    const res = await runCli(["backup", "--init", "--config", await writeConfig("checks: { foreignKeys: fail }"), "--json"]);
    expect(res.code).toBe(1);
    const run = res.json().databases[0];
    expect(run.error).toMatch(/foreign_key_check: 2 row\(s\)/);
    expect(run.error).toMatch(/checks\.foreignKeys is "fail"/);
    expect(run.destinations).toEqual([]);
    expect(await manifests()).toEqual([]);
  });

  it("checks.foreignKeys: off skips the check and records no count", async () => {
    createSampleDb(path.join(dir, "app.db"), 100);
    addDanglingPosts(path.join(dir, "app.db"), 2);
    const res = await runCli(["backup", "--init", "--config", await writeConfig("checks: { foreignKeys: off }"), "--json"]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.json().databases[0].snapshot.foreignKeys).toMatchObject({ mode: "off", violations: null, first: [] });
    expect((await manifests())[0].sqlite.foreignKeyViolations).toBeUndefined();
  });

  it("an unknown checks value is a config error naming the choices", async () => {
    createSampleDb(path.join(dir, "app.db"), 10);
    const res = await runCli(["backup", "--init", "--config", await writeConfig("checks: { foreignKeys: maybe }")]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/checks\.foreignKeys.*fail, warn or off/);
  });

  it("a damaged index fails integrity_check: nothing shipped, and the message says what to do next", async () => {
    const db = path.join(dir, "app.db");
    createSampleDb(db, 3000);
    const conv = new Database(db);
    conv.pragma("journal_mode = DELETE");
    conv.exec("CREATE INDEX posts_by_author ON posts(author_id)");
    // Row counts walk the tables, not this index: only integrity_check sees the damage.
    const pages = conv.prepare("SELECT pageno FROM dbstat WHERE name = 'posts_by_author' AND pagetype = 'leaf' ORDER BY pageno").pluck().all() as number[];
    const pageSize = Number(conv.pragma("page_size", { simple: true }));
    conv.close();
    await scribble(db, (pages[Math.floor(pages.length / 2)] - 1) * pageSize + 200, 400);
    const res = await runCli(["backup", "--init", "--config", await writeConfig(), "--json"]);
    expect(res.code).toBe(1);
    const run = res.json().databases[0];
    expect(run.destinations).toEqual([]);
    expect(run.error).toMatch(/integrity_check/);
    expect(run.error).toContain("triplicate doctor app --full");
    expect(run.error).toMatch(/triplicate restore app/);
    expect(run.error).toMatch(/nothing was shipped and nothing was deleted/);
    expect(await manifests()).toEqual([]);
  });

  it("a damaged table found while copying says the same next steps", async () => {
    const db = path.join(dir, "app.db");
    createSampleDb(db, 3000);
    const conv = new Database(db);
    conv.pragma("journal_mode = DELETE");
    conv.close();
    const { size } = await stat(db);
    await scribble(db, Math.floor(size / 2 / 4096) * 4096, 8192);
    const res = await runCli(["backup", "--init", "--config", await writeConfig(), "--json"]);
    expect(res.code).toBe(1);
    const run = res.json().databases[0];
    expect(run.error).toMatch(/malformed/);
    expect(run.error).toContain("triplicate doctor app --full");
    expect(run.error).toMatch(/triplicate restore app/);
    expect(await manifests()).toEqual([]);
  });
});

async function scribble(file: string, at: number, bytes: number): Promise<void> {
  const h = await open(file, "r+");
  await h.write(Buffer.alloc(bytes, 0xa5), 0, bytes, at);
  await h.close();
}
