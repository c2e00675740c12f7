import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/** Issue 14: a repeated --db means several databases, in every command that takes it; prune takes it too. */
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-multidb-"));
  for (const n of ["a", "b", "c"]) createSampleDb(path.join(dir, `${n}.db`), 50);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    `databases:
${["a", "b", "c"].map((n) => `  - { name: ${n}, path: ${JSON.stringify(path.join(dir, `${n}.db`))} }`).join("\n")}
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}, retention: { keepLast: 1 } }
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
`,
  );
});
afterEach(async () => cleanup());

describe("--db, repeated", () => {
  it("backup, list, verify and prune act on exactly the named databases; a typo is exit 2", async () => {
    const first = await runCli(["backup", "--init", "--db", "a", "--db", "b", "--config", cfg, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json().databases.map((d: any) => d.db)).toEqual(["a", "b"]);
    await runCli(["backup", "--config", cfg]);
    const list = await runCli(["list", "--db", "b", "--db", "c", "--config", cfg, "--json"]);
    expect([...new Set(list.json().destinations[0].copies.map((c: any) => c.db))].sort()).toEqual(["b", "c"]);
    const verify = await runCli(["verify", "--db", "a", "--db", "c", "--config", cfg, "--json"]);
    expect(verify.code, verify.stderr).toBe(0);
    const prune = await runCli(["prune", "--db", "a", "--dry-run", "--config", cfg, "--json"]);
    expect(prune.code, prune.stderr).toBe(0);
    const dbs = prune.json().destinations[0].databases;
    expect(dbs.map((d: any) => d.db)).toEqual(["a"]);
    for (const cmd of [["backup"], ["list"], ["verify"], ["prune", "--dry-run"]]) {
      const typo = await runCli([...cmd, "--db", "a", "--db", "bb", "--config", cfg]);
      expect(typo.code, cmd[0]).toBe(2);
      expect(typo.stderr, cmd[0]).toContain('no database named "bb"');
    }
  }, 90_000);
});
