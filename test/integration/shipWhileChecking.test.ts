import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { open, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-ship-")));
afterEach(async () => cleanup());

const DESTS = ["disk", "usb", "nas"];

async function writeConfig(): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    [
      `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]`,
      "destinations:",
      ...DESTS.map((d, i) => `  - { name: ${d}, type: local, path: ${JSON.stringify(path.join(dir, "dest", d))}, medium: m${i} }`),
      "policy: { copies: 3, media: 2, offsite: 0 }",
      // No compression: the artifact is ready long before integrity_check is done, so the
      // uploads are under way (to temporary names) when the check fails.
      "compression: { algorithm: none }",
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
    ].join("\n"),
  );
  return file;
}

/** Every file under a folder, hidden ones (temporaries) included. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name))).sort();
}

describe("ship while checking", () => {
  it("a check that fails after the uploads started publishes nothing: no copy listed, no temporary left, exit 1", async () => {
    const db = path.join(dir, "app.db");
    createSampleDb(db, 20_000);
    const conv = new Database(db);
    conv.pragma("journal_mode = DELETE");
    conv.exec("CREATE INDEX posts_by_author ON posts(author_id)");
    // Damage one leaf of an index: the copy and the row counts pass, only integrity_check sees it.
    const pages = conv.prepare("SELECT pageno FROM dbstat WHERE name = 'posts_by_author' AND pagetype = 'leaf' ORDER BY pageno").pluck().all() as number[];
    conv.close();
    const h = await open(db, "r+");
    await h.write(Buffer.alloc(400, 0xa5), 0, 400, (pages[Math.floor(pages.length / 2)] - 1) * 4096 + 200);
    await h.close();

    const cfg = await writeConfig();
    const res = await runCli(["backup", "--init", "--config", cfg, "--json", "--log-level", "debug"]);
    expect(res.code, res.stderr).toBe(1);
    const run = res.json().databases[0];
    expect(run.error).toMatch(/integrity_check/);
    expect(run.destinations).toEqual([]);
    // The uploads were held at their commit and refused there, on every destination.
    const refused = res.stderr.split("\n").filter((l) => l.includes('"op":"put"') && l.includes("not committed"));
    expect(refused.length).toBe(DESTS.length);
    for (const d of DESTS) expect(await filesUnder(path.join(dir, "dest", d, "app"))).toEqual([]);
    expect(await filesUnder(path.join(dir, "staging", "app"))).toEqual([]);
    const list = await runCli(["list", "--config", cfg, "--json"]);
    expect(JSON.stringify(list.json())).not.toMatch(/"snapshotId"/);
  });

  it("a sound database ships the same way and every copy is read back", async () => {
    createSampleDb(path.join(dir, "app.db"), 2000);
    const res = await runCli(["backup", "--init", "--config", await writeConfig(), "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const run = res.json().databases[0];
    expect(run.destinations.map((d: { status: string; proof: { level: string } }) => [d.status, d.proof.level])).toEqual(DESTS.map(() => ["verified", "read-back"]));
  });
});
