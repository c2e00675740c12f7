import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/** Issue 11, F: a configured destination that lost every copy is a finding, whatever the copy count says. */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-wiped-")));
afterEach(async () => cleanup());

describe("audit after a destination was wiped", () => {
  it("is not compliant, and names the destination, though 2 copies are still met", async () => {
    createSampleDb(path.join(dir, "app.db"), 50);
    const cfg = path.join(dir, "triplicate.yml");
    await writeFile(
      cfg,
      [
        `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]`,
        "destinations:",
        ...["disk", "usb", "nas"].map((n) => `  - { name: ${n}, type: local, medium: ${n}, path: ${JSON.stringify(path.join(dir, n))} }`),
        "policy: { copies: 2, media: 1, offsite: 0 }",
        `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
      ].join("\n"),
    );
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
    expect((await runCli(["audit", "--config", cfg, "--format", "json"])).code).toBe(0);
    await rm(path.join(dir, "usb", "app"), { recursive: true });
    const r = await runCli(["audit", "--config", cfg, "--format", "json"]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const rep = r.json();
    expect(rep.verdict).toBe("not-compliant");
    expect(rep.databases[0].policy.pass).toBe(true);
    expect(rep.findings).toEqual(["app: usb holds no good copy of app (it holds no snapshot of it at all)"]);
  });
});
