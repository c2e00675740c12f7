import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/** Issue 17.1: restic 0.17 keeps the oldest snapshot while a period rule has slots left. */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-oldest-")));
afterEach(async () => cleanup());

describe("the oldest snapshot, kept while slots remain", () => {
  it("a young destination keeps its first backup, and prune says why", async () => {
    const dbFile = path.join(dir, "app.db");
    createSampleDb(dbFile, 200);
    const cfg = path.join(dir, "triplicate.yml");
    await writeFile(
      cfg,
      `databases: [{ name: app, path: ${JSON.stringify(dbFile)} }]
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}, retention: { keepDaily: 7 } }
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# every run here ships its own snapshot (the test counts what retention keeps)
unchanged: upload
`,
    );
    // Three backups on the first day: keepDaily 7 has six slots left, so the first one stays.
    for (const [i, at] of ["2026-11-01T02:00:00Z", "2026-11-01T10:00:00Z", "2026-11-01T18:00:00Z"].entries()) {
      const r = await runCli(["backup", ...(i === 0 ? ["--init"] : []), "--config", cfg], { env: { TRIPLICATE_NOW: at } });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const manifests = (await readdir(path.join(dir, "disk", "app"))).filter((f) => f.endsWith(".manifest.json")).sort();
    expect(manifests.map((f) => f.slice(0, 16))).toEqual(["20261101T020000Z", "20261101T180000Z"]);

    const text = await runCli(["prune", "--dry-run", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-01T19:00:00Z" } });
    expect(text.code, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).toMatch(/keep\s+20261101T020000Z\S*\s+\(oldest snapshot, kept while slots remain\)/);
    const json = await runCli(["prune", "--dry-run", "--json", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-01T19:00:00Z" } });
    const kept = json.json().destinations[0].databases[0].kept;
    expect(kept.map((k: { reasons: string[] }) => k.reasons)).toEqual([["newest snapshot", "daily snapshot"], ["oldest snapshot, kept while slots remain"]]);
  });
});
