import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { killWhenStaged } from "../helpers/staging.js";

let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-modes-"));
  createSampleDb(path.join(dir, "app.db"), 100_000);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    [
      "databases:",
      `  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }`,
      "destinations:",
      `  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "backups", "disk"))} }`,
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
      "policy: { copies: 1, media: 1, offsite: 0 }",
    ].join("\n"),
  );
});
afterEach(async () => cleanup());

const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);

describe("modes whatever the umask", () => {
  it("under umask 000: folders 0700 and files 0600 on the destination, in staging and for the lock", async () => {
    const staging = path.join(dir, "staging");
    const seen = await killWhenStaged(staging, ["backup", "--init", "--config", cfg], { umask: "000" });
    expect(seen.fileModes.map((m) => m.toString(8))).toEqual(seen.fileModes.map(() => "600"));
    expect(seen.lockMode?.toString(8)).toBe("600");

    const r = await runCli(["backup", "--init", "--config", cfg], { umask: "000" });
    expect(r.code, r.stderr).toBe(0);
    const root = path.join(dir, "backups", "disk");
    for (const folder of [path.join(dir, "backups"), root, path.join(root, "app"), staging, path.join(staging, "app")]) {
      expect(`${folder}: ${await mode(folder)}`).toBe(`${folder}: 700`);
    }
    const files = (await readdir(root, { recursive: true })).map((f) => path.join(root, f));
    let count = 0;
    for (const f of files) {
      if ((await stat(f)).isFile()) {
        count++;
        expect(`${path.relative(root, f)}: ${await mode(f)}`).toBe(`${path.relative(root, f)}: 600`);
      }
    }
    expect(count).toBeGreaterThanOrEqual(3); // marker, artifact, manifest, proof
  }, 60_000);
});
