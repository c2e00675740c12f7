import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { loadConfig } from "../../src/config/load.js";

/** Issue 14 "the CLI": every command's --help has examples and exit codes; init writes a config its own destinations can satisfy. */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-help-")));
afterEach(async () => cleanup());

describe("--help", () => {
  it("every command lists examples and its exit codes", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Exit codes (every command):");
    const commands = [...top.stdout.split("Commands:")[1].split("\n\n")[0].matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]).filter((c) => c !== "help");
    expect(commands).toEqual(expect.arrayContaining(["backup", "list", "prune", "forget", "restore", "verify", "audit", "schedule", "init"]));
    for (const c of commands) {
      const r = await runCli([c, "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/\nExamples:\n {2}triplicate /);
      expect(r.stdout, c).toMatch(/\nExit codes:\n {2}0 /);
    }
  }, 60_000);
});

describe("init", () => {
  it("writes a config whose policy its own two destinations meet on the first backup", async () => {
    const cfg = path.join(dir, "triplicate.yml");
    const wrote = await runCli(["init", "--config", cfg]);
    expect(wrote.code, wrote.stderr).toBe(0);
    const text = await readFile(cfg, "utf8");
    createSampleDb(path.join(dir, "app.db"), 100);
    await writeFile(
      cfg,
      text
        .replace("/var/lib/app/app.db", path.join(dir, "app.db"))
        .replace("/backup/sqlite", path.join(dir, "local"))
        .replace("/mnt/usb/sqlite", path.join(dir, "usb")) + `staging: ${JSON.stringify(path.join(dir, "staging"))}\n`,
    );
    const r = await runCli(["backup", "--init", "--config", cfg, "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json().databases[0].policy.pass).toBe(true);
  }, 60_000);

  it("its commented SFTP and S3 examples are valid destinations once uncommented", async () => {
    const cfg = path.join(dir, "triplicate.yml");
    await runCli(["init", "--config", cfg]);
    const text = await readFile(cfg, "utf8");
    expect(text).toMatch(/# - name: nas\n\s+#\s+type: sftp/);
    expect(text).toMatch(/# - name: offsite\n\s+#\s+type: s3/);
    // Uncomment the two example blocks (from "# - name:" to the first line that is not a "  #" line).
    let inBlock = false;
    const uncommented = text
      .split("\n")
      .map((line) => {
        if (/^ {2}# - name: (nas|offsite)$/.test(line)) inBlock = true;
        else if (!line.startsWith("  #   ")) inBlock = false;
        return inBlock ? line.replace(/^ {2}# /, "  ") : line;
      })
      .join("\n")
      .replace('"SHA256:..."', `"SHA256:${"A".repeat(43)}"`);
    await writeFile(cfg, uncommented);
    const loaded = await loadConfig(cfg, { S3_ACCESS_KEY_ID: "k", S3_SECRET_ACCESS_KEY: "s" });
    expect(loaded.destinations.map((d) => `${d.name}:${d.type}`)).toEqual(["local:local", "usb:local", "nas:sftp", "offsite:s3"]);
  });
});
