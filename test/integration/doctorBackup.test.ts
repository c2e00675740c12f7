import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { garbleTablePage, hashFileSet, makeDoctorDb } from "../helpers/damagedDb.js";

/**
 * The night a backup meets a damaged source: nothing ships, nothing is
 * deleted, and the report points at doctor and the last good snapshot.
 * And doctor's emergency snapshot: shipped everywhere, no retention run.
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-docbk-")));
afterEach(async () => cleanup());

/** Every file of the copies (the run-history records under history/ grow with each run, failed ones too). */
async function files(root: string): Promise<string[]> {
  const all = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  return all.filter((f) => !f.startsWith(path.join(root, "history") + path.sep)).sort();
}

async function setup(): Promise<{ cfg: string; db: string; snaps: string[] }> {
  const db = path.join(dir, "app.db");
  makeDoctorDb(db);
  const cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    [
      "databases:",
      `  - { name: app, path: ${JSON.stringify(db)} }`,
      "destinations:",
      `  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}, retention: { keepLast: 1 } }`,
      "policy: { copies: 2, media: 1, offsite: 0 }",
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
      "unchanged: upload # each run ships its own snapshot, so the test can count them",
    ].join("\n"),
  );
  const snaps: string[] = [];
  for (const [i, t] of ["2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z"].entries()) {
    const r = await runCli(["backup", ...(i === 0 ? ["--init"] : []), "--config", cfg, "--json"], { env: { TRIPLICATE_NOW: t } });
    expect(r.code, r.stderr).toBe(0);
    snaps.push(r.json().databases[0].snapshotId);
  }
  return { cfg, db, snaps };
}

describe("backup meets a damaged source", () => {
  it("refuses to ship, deletes nothing, names doctor and the latest good snapshot with its age", async () => {
    const { cfg, db, snaps } = await setup();
    const before = await files(path.join(dir, "disk"));
    await garbleTablePage(db, "items");
    const res = await runCli(["backup", "--config", cfg, "--json"], { env: { TRIPLICATE_NOW: "2026-11-22T02:00:00Z" } });
    expect(res.code).toBe(1);
    const run = res.json().databases[0];
    expect(run.destinations).toEqual([]);
    expect(run.damagedSource, run.error).toBeDefined();
    expect(run.damagedSource.doctor).toBe(`triplicate doctor app --full --config ${cfg}`);
    expect(run.damagedSource.latestGood).toMatchObject({ snapshotId: snaps[1], destination: "disk", age: "24.0h" });
    expect(await files(path.join(dir, "disk"))).toEqual(before);
    const text = await runCli(["backup", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-22T02:00:00Z" } });
    expect(text.stdout).toContain(`run triplicate doctor app --full --config ${cfg}`);
    expect(text.stdout).toContain(`latest good snapshot: ${snaps[1]} on disk, 24.0h old`);
  });

  it("doctor --salvage --backup-emergency: an emergency snapshot everywhere, retention untouched", async () => {
    const { cfg, db, snaps } = await setup();
    const { lostRows } = await garbleTablePage(db, "items");
    const before = await hashFileSet(db);
    const out = path.join(dir, "app.salvaged.db");
    const res = await runCli(["doctor", "app", "--config", cfg, "--salvage", out, "--backup-emergency", "--json"], { env: { TRIPLICATE_NOW: "2026-11-22T03:00:00Z" } });
    expect(res.code, res.stderr).toBe(1);
    const rep = res.json();
    expect(await hashFileSet(db)).toEqual(before);
    expect(rep.salvage.comparedWith.snapshotId).toBe(snaps[1]);
    const items = rep.salvage.tables.find((t: any) => t.table === "items");
    expect(items).toMatchObject({ recovered: 3000 - lostRows, inSnapshot: 3000, lostSinceSnapshot: lostRows });
    expect(rep.options.find((o: any) => o.kind === "restore").loses).toContain(snaps[1]);
    expect(rep.emergency.retention).toBe("skipped");
    expect(rep.emergency.destinations).toEqual([{ destination: "disk", status: "verified" }]);
    // keepLast: 1 would have deleted snaps[1]: it is still there, beside the emergency copy.
    const list = await runCli(["list", "--config", cfg, "--json"]);
    const copies = list.json().destinations[0].copies.map((c: any) => c.snapshotId);
    expect(copies).toEqual([snaps[1], rep.emergency.snapshotId]);
    const m = list.json().destinations[0].copies[1].manifest;
    expect(m.tags).toEqual(["emergency"]);
  });
});
