import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * Issue 14, "History": every command that changes or proves something leaves
 * one small record per run on every destination it reached, beside the data,
 * so an audit from any host can give success rates, trends and RTO. The
 * records are not copies: list, prune and retention never count or touch them.
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-history-"));
  createSampleDb(path.join(dir, "app.db"), 300);
});
afterEach(async () => cleanup());

const root = (name: string) => path.join(dir, name);
const records = async (name: string) => (await readdir(path.join(root(name), "history")).catch(() => [] as string[])).filter((f) => f.endsWith(".json")).sort();

async function config(extra = ""): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases:
  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(root("disk"))}, retention: { keepLast: 1 } }
  - { name: usb, type: local, path: ${JSON.stringify(root("usb"))} }
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
${extra}`,
  );
  return file;
}

describe("run history on the destinations", () => {
  it("backup, verify --deep, prune and restore each leave one record per destination; list and retention leave them alone", async () => {
    const cfg = await config();
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
    expect((await runCli(["backup", "--config", cfg])).code).toBe(0);
    expect((await runCli(["verify", "--deep", "--config", cfg])).code).toBe(0);
    expect((await runCli(["prune", "--config", cfg])).code).toBe(0);
    const restored = await runCli(["restore", "app", "--config", cfg, "--to", path.join(dir, "back.db")]);
    expect(restored.code, restored.stderr).toBe(0);
    // Dry runs change and prove nothing: no record.
    expect((await runCli(["backup", "--dry-run", "--config", cfg])).code).toBe(0);
    expect((await runCli(["prune", "--dry-run", "--config", cfg])).code).toBe(0);

    for (const d of ["disk", "usb"]) {
      const names = await records(d);
      const bodies = await Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(root(d), "history", n), "utf8"))));
      expect(bodies.map((b) => b.kind).sort(), d).toEqual(["backup", "backup", "prune", "restore", "verify-deep"]);
      expect(bodies.find((b) => b.kind === "backup")).toMatchObject({ format: "triplicate.history/v1", verdict: "ok", exitCode: 0 });
    }
    // The same run has the same id everywhere, so an audit counts it once.
    expect(await records("disk")).toEqual(await records("usb"));
    // keepLast: 1 pruned snapshots on disk, but no history record.
    const list = await runCli(["list", "--config", cfg, "--json"]);
    expect(JSON.stringify(list.json())).not.toContain("history/");
    expect(list.json().destinations.every((d: any) => (d.foreign ?? []).length === 0)).toBe(true);

    const all = await Promise.all((await records("usb")).map(async (n) => JSON.parse(await readFile(path.join(root("usb"), "history", n), "utf8"))));
    const deep = all.find((b) => b.kind === "verify-deep");
    // One record for the run, with every destination's restore test (the RTO per destination).
    expect(deep.restoreTests.map((t: any) => t.destination).sort()).toEqual(["disk", "usb"]);
    expect(deep.restoreTests[0]).toMatchObject({ db: "app", ok: true, durationMs: expect.any(Number) });
  });

  it("the audit reads the history from the destinations: success rate, trends, RTO and free space, in every format", async () => {
    const cfg = await config();
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
    expect((await runCli(["backup", "--config", cfg])).code).toBe(0);
    expect((await runCli(["verify", "--deep", "--config", cfg])).code).toBe(0);
    // A failed night: the source is gone, nothing ships; still recorded as failed.
    await rm(path.join(dir, "app.db"));
    expect((await runCli(["backup", "--config", cfg])).code).toBe(1);

    const audit = await runCli(["audit", "--config", cfg, "--json"]);
    const h = audit.json().runHistory;
    expect(h.backups.last30d).toMatchObject({ runs: 3, ok: 2, failed: 1 });
    expect(h.backups.last30d.successRate).toBeCloseTo(2 / 3, 5);
    expect(h.backups.last90d.runs).toBe(3);
    expect(h.trend.find((t: any) => t.db === "app").points.filter((p: any) => p.rawBytes).length).toBe(2);
    expect(h.restoreTests.find((r: any) => r.destination === "disk")).toMatchObject({ tests: 1, passed: 1, lastRtoMs: expect.any(Number) });
    expect(h.destinations.find((d: any) => d.destination === "disk")).toMatchObject({ records: 4, freeBytes: expect.any(Number) });

    const md = (await runCli(["audit", "--config", cfg])).stdout;
    expect(md).toContain("## Run history");
    expect(md).toMatch(/Backup success rate.*67%/s);
    const html = (await runCli(["audit", "--config", cfg, "--format", "html"])).stdout;
    expect(html).toContain(`<section class="run-history"`);
    expect(html).toMatch(/<svg[^>]*class="history-chart"/);
  });
});
