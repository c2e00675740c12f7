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
