import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { freePort } from "../helpers/s3rver.js";

/** Issue 14, "Cron and terminals": cron mail means trouble. */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-quiet-"));
  createSampleDb(path.join(dir, "app.db"), 50);
});
afterEach(async () => cleanup());

async function config(extra = ""): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases:
  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }
${extra}
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
`,
  );
  return file;
}

describe("the AWS SDK's Node-version warning", () => {
  it("never reaches stderr, whatever the log level, on a config with an S3 destination", async () => {
    const port = await freePort(); // nothing listens: the client is still built, which is when the SDK warns
    const s3 = `  - { name: cloud, type: s3, bucket: bkt, region: us-east-1, endpoint: "http://127.0.0.1:${port}", forcePathStyle: true, accessKeyId: AK, secretAccessKey: SK, timeoutSeconds: 5, retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1 } }`;
    const cfg = await config(s3);
    for (const level of ["silent", "info"]) {
      const r = await runCli(["list", "--config", cfg, "--log-level", level]);
      expect(r.stdout).toContain("cloud  UNREACHABLE"); // the S3 client was built
      expect(r.stderr).not.toContain("NodeVersionSupportWarning");
      expect(r.stderr).not.toContain("AWS SDK");
      expect(r.stdout).not.toContain("NodeVersionSupportWarning");
    }
  }, 60_000);
});

describe("--quiet: nothing when all is well, everything when not", () => {
  it("prints nothing on exit 0 (report and logs alike), at the default log level", async () => {
    const cfg = await config();
    const first = await runCli(["backup", "--init", "--quiet", "--config", cfg]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe("");
    expect(first.stderr).toBe("");
    const again = await runCli(["backup", "--quiet", "--config", cfg]);
    expect([again.code, again.stdout, again.stderr]).toEqual([0, "", ""]);
    for (const cmd of [["list"], ["verify"], ["prune", "--dry-run"]]) {
      const r = await runCli([...cmd, "--quiet", "--config", cfg]);
      expect([r.code, r.stdout, r.stderr], cmd.join(" ")).toEqual([0, "", ""]);
    }
  }, 60_000);

  it("prints the whole report and the logs when the run is degraded (exit 3) or the config is wrong (exit 2)", async () => {
    await runCli(["backup", "--init", "--config", await config()]);
    const cfg = await config(`  - { name: usb, type: local, path: ${JSON.stringify(path.join(dir, "usb-not-mounted"))} }`);
    const r = await runCli(["backup", "--quiet", "--config", cfg]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("triplicate backup — DEGRADED (exit 3)");
    expect(r.stdout).toContain("usb");
    expect(r.stderr).toContain("destination usb unavailable");
    const json = await runCli(["backup", "--quiet", "--json", "--config", cfg]);
    expect(json.code).toBe(3);
    expect(json.json().exitCode).toBe(3);
    const bad = await runCli(["backup", "--quiet", "--config", path.join(dir, "missing.yml")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("does not exist");
  }, 60_000);
});
