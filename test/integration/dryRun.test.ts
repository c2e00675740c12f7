import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * Dry-run proves nothing (issue 11, A.4): it says what would ship, judges no
 * rule as met, and exits 0 only when the run would be possible (snapshot
 * verified, every destination reachable).
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-dry-")));
afterEach(async () => cleanup());

async function setup(opts: { paths?: Record<string, string>; create?: boolean; policy?: string } = {}): Promise<string> {
  createSampleDb(path.join(dir, "app.db"), 100);
  const dests = ["disk", "usb", "cloud"].map((n) => ({ n, p: opts.paths?.[n] ?? path.join(dir, "dest", n) }));
  if (opts.create !== false) for (const d of dests) if (!opts.paths?.[d.n]) await mkdir(d.p, { recursive: true });
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    [
      `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]`,
      "destinations:",
      ...dests.map((d) => `  - { name: ${d.n}, type: local, medium: ${d.n}, path: ${JSON.stringify(d.p)}, retention: { keepLast: 1 }${d.n === "cloud" ? ", offsite: true" : ""} }`),
      `policy: ${opts.policy ?? "{ copies: 3, media: 2, offsite: 1 }"}`,
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
    ].join("\n"),
  );
  return file;
}

async function everything(): Promise<string[]> {
  // Not the staging folder, nor the -wal/-shm SQLite keeps beside the source while it is read.
  return (await readdir(dir, { recursive: true })).filter((f) => !f.startsWith("staging") && !/^app\.db-/.test(f)).sort();
}

describe("backup --dry-run", () => {
  it("says would ship, judges nothing as met, exits 0 because the run would be possible, and writes nothing", async () => {
    const cfg = await setup();
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
    const before = await everything();
    const r = await runCli(["backup", "--config", cfg, "--dry-run", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const run = r.json().databases[0];
    expect(run.destinations.map((d: any) => d.status)).toEqual(["would-ship", "would-ship", "would-ship"]);
    expect(run.policy).toBeUndefined();
    expect(run.policyNotJudged.reason).toMatch(/dry run/);
    expect(run.policyNotJudged.wouldJudge.map((x: any) => `${x.rule} ${x.required}`)).toEqual(["copies ≥ 3", "media ≥ 2", "offsite ≥ 1"]);
    // Retention is planned, never applied.
    expect(run.destinations[0].retention).toMatchObject({ dryRun: true });
    expect(await everything()).toEqual(before);

    const text = await runCli(["backup", "--config", cfg, "--dry-run"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/disk\s+WOULD SHIP/);
    expect(text.stdout).toMatch(/3-2-1 NOT JUDGED/);
    expect(text.stdout).toMatch(/copies ≥ 3, media ≥ 2, offsite ≥ 1/);
    expect(text.stdout).not.toMatch(/VERIFIED|3-2-1 MET|\bpass\b/);
  });

  it("a policy no destination could meet is not reported met either (and the run is still possible)", async () => {
    const cfg = await setup({ policy: "{ copies: 5, media: 2, offsite: 1 }" });
    await runCli(["backup", "--init", "--config", cfg]); // a real first run marks the destinations
    const r = await runCli(["backup", "--config", cfg, "--dry-run", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json().databases[0].policy).toBeUndefined();
  });

  it("an unreachable destination: exit 3, as the real run would be degraded", async () => {
    const blocker = path.join(dir, "not-a-folder");
    await writeFile(blocker, "a file where a folder should be");
    const cfg = await setup({ paths: { cloud: path.join(blocker, "sub") } });
    await runCli(["backup", "--init", "--config", cfg]); // marks disk and usb; cloud cannot exist
    const r = await runCli(["backup", "--config", cfg, "--dry-run", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.json().databases[0].destinations.map((d: any) => d.status)).toEqual(["would-ship", "would-ship", "failed"]);
  });

  it("a snapshot that fails verification: exit 1, as the real run would fail", async () => {
    const cfg = await setup();
    await writeFile(path.join(dir, "app.db"), "not a database ".repeat(100));
    const r = await runCli(["backup", "--config", cfg, "--dry-run", "--json"]);
    expect(r.code).toBe(1);
  });

  it("creates nothing, not even a missing destination folder", async () => {
    const cfg = await setup({ create: false });
    const before = await everything();
    const r = await runCli(["backup", "--config", cfg, "--dry-run", "--json"]);
    expect(r.code).not.toBe(0);
    expect(r.json().databases[0].destinations.every((d: any) => d.status === "failed")).toBe(true);
    expect(await everything()).toEqual(before);
  });
});
