import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdir, readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/cli.js";

/**
 * Issue 14 "Installing": the tarball `npm pack` makes installs globally and
 * `triplicate` then runs from anywhere, with nothing from the checkout.
 *
 * The install skips install scripts (--ignore-scripts) and prefers npm's
 * cache (--prefer-offline: `npm ci` cached every tarball; package metadata
 * may still come from the npm registry, which a fresh machine reaches after
 * `npm ci` anyway; --offline failed there with ENOTCACHED, because the
 * lockfile here records no resolved URLs): building the native addons (better-sqlite3, zstd-napi)
 * from source takes over five minutes on this 2-core machine, and no prebuilt
 * binaries can be downloaded here. Commands that need no addon (--version,
 * --help, init) run; a backup from the installed copy needs the addons built
 * (a plain `npm install -g` does that), and is not part of this test.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const run = (cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) =>
  spawnSync(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: "utf8", timeout: 120_000 });

describe("npm pack → npm install -g → triplicate", () => {
  it("installs into a fresh prefix and runs outside the checkout", async () => {
    const { dir, cleanup } = await tempDir("tri-install-");
    try {
      // --ignore-scripts: `prepare` would rebuild dist/ while other test files run the CLI from it.
      const pack = run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], { cwd: ROOT });
      expect(pack.status, pack.stderr).toBe(0);
      const tgz = (await readdir(dir)).find((f) => /^triplicate-.*\.tgz$/.test(f))!;
      expect(tgz).toBeDefined();
      const listing = run("tar", ["tzf", path.join(dir, tgz)], { cwd: dir }).stdout.split("\n");
      expect(listing).toContain("package/dist/bin/triplicate.js");
      expect(listing.filter((f) => f.startsWith("package/test/") || f.startsWith("package/src/"))).toEqual([]);

      const prefix = path.join(dir, "prefix");
      const elsewhere = path.join(dir, "elsewhere");
      await mkdir(elsewhere);
      const install = run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", path.join(dir, tgz)], { cwd: elsewhere });
      expect(install.status, install.stderr).toBe(0);
      const bin = path.join(prefix, "bin", "triplicate");
      expect((await stat(bin)).mode & 0o111).not.toBe(0);

      const env = { PATH: `${path.join(prefix, "bin")}:${path.dirname(process.execPath)}:/usr/bin:/bin`, NODE_PATH: "" };
      const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8"));
      const version = run("triplicate", ["--version"], { cwd: elsewhere, env });
      expect(version.status, version.stderr).toBe(0);
      expect(version.stdout.trim()).toBe(pkg.version);
      const help = run("triplicate", ["backup", "--help"], { cwd: elsewhere, env });
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toContain("Exit codes:");
      const init = run("triplicate", ["init", "--config", "triplicate.yml"], { cwd: elsewhere, env });
      expect(init.status, init.stderr).toBe(0);
      expect(await readFile(path.join(elsewhere, "triplicate.yml"), "utf8")).toContain("destinations:");
      // Resolved from the install, not from the checkout.
      const real = run("node", ["-e", "console.log(require('fs').realpathSync(process.argv[1]))", bin], { cwd: elsewhere, env });
      expect(real.stdout.trim().startsWith(prefix)).toBe(true);
    } finally {
      await cleanup();
    }
  }, 120_000);
});
