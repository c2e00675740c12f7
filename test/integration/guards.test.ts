import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * Issue 11 A.1 and A.2: the bad nights on which retention used to eat good
 * history (a source that lost its data, a clock that jumped), through the CLI
 * with TRIPLICATE_NOW moving the host clock.
 */
let dir: string;
let cleanup: () => Promise<void>;
let dbFile: string;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-guard-"));
  dbFile = path.join(dir, "app.db");
  createSampleDb(dbFile, 2000);
  const db = new Database(dbFile);
  db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) SELECT 'n' FROM posts LIMIT 10;");
  db.close();
});
afterEach(async () => cleanup());

async function config(opts: { retention?: string; guard?: string } = {}): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases: [{ name: app, path: ${JSON.stringify(dbFile)} }]
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}${opts.retention ? `, retention: ${opts.retention}` : ""} }
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
unchanged: upload
${opts.guard ? `guard: ${opts.guard}` : ""}
`,
  );
  return file;
}

const day = (d: number) => `2026-11-${String(d).padStart(2, "0")}T02:00:00Z`;
const backup = (cfg: string, now: string, ...args: string[]) => runCli(["backup", "--init", "--config", cfg, "--json", ...args], { env: { TRIPLICATE_NOW: now } });
const prune = (cfg: string, now: string, ...args: string[]) => runCli(["prune", "--config", cfg, "--json", ...args], { env: { TRIPLICATE_NOW: now } });
const snapshots = async () => (await readdir(path.join(dir, "disk", "app"))).filter((f) => f.endsWith(".manifest.json")).map((f) => f.slice(0, 16)).sort();
const manifest = async (id: string) => JSON.parse(await readFile(path.join(dir, "disk", "app", `${id}.manifest.json`), "utf8"));
const sql = (text: string) => {
  const db = new Database(dbFile);
  db.exec(text);
  db.close();
};

async function ok(cfg: string, now: string, ...args: string[]) {
  const r = await backup(cfg, now, ...args);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r.json().databases[0];
}

describe("A.1 a source that suddenly lost its data", () => {
  it("an emptied source ships as an anomaly, deletes nothing anywhere, exits 3 until accepted; later runs compare with the accepted one", async () => {
    const cfg = await config({ retention: "{ keepLast: 3 }" });
    for (const d of [20, 21, 22]) await ok(cfg, day(d));
    const good = await snapshots();
    sql("DELETE FROM posts; DELETE FROM authors; DELETE FROM notes;");

    const r = await backup(cfg, day(23));
    expect(r.code, r.stderr).toBe(3);
    const run = r.json().databases[0];
    expect(run.destinations[0].status).toBe("verified"); // a true copy of the source: shipped
    expect(run.anomaly).toMatchObject({ baseline: expect.stringMatching(/^20261122T/), accepted: false });
    expect(run.anomaly.findings.map((f: any) => f.kind)).toContain("emptied");
    expect(run.anomaly.howToAccept).toMatch(/run "triplicate backup --accept-shrink" once/);
    expect(run.anomaly.howToAccept).not.toMatch(/maxShrink/); // a threshold does not make an emptied database normal
    expect(run.destinations[0].retention.deleted).toEqual([]);
    expect(run.destinations[0].retention.held.map((h: any) => h.guard)).toEqual(["shrink"]);
    expect(r.stderr).toMatch(/every table is empty \(had 2060 rows\)/);
    expect((await manifest(run.snapshotId)).anomaly).toMatchObject({ accepted: false, findings: [expect.objectContaining({ kind: "emptied" })] });
    expect(await snapshots()).toEqual([...good, run.snapshotId.slice(0, 16)]);

    // Still empty the next night: compared with the last good snapshot again, not with the anomaly.
    const again = await backup(cfg, day(24));
    expect(again.code).toBe(3);
    expect(again.json().databases[0].anomaly.baseline).toBe(run.anomaly.baseline);

    // prune on its own holds too: the newest snapshot is an anomaly nobody accepted.
    const p = await prune(cfg, day(24));
    expect(p.code, p.stdout).toBe(3);
    const held = p.json().destinations[0].databases[0];
    expect(held.deleted).toEqual([]);
    expect(held.held[0]).toMatchObject({ guard: "shrink", message: expect.stringMatching(/--accept-shrink/) });
    expect((await snapshots()).length).toBe(5);
    const text = await runCli(["prune", "--config", cfg], { env: { TRIPLICATE_NOW: day(24) } });
    expect(text.stdout).toMatch(/HELD +\(shrink\) the newest snapshot .* is an anomaly: every table is empty/);

    // Accepted: this one becomes the baseline, retention runs again.
    const accepted = await ok(cfg, day(25), "--accept-shrink");
    expect(accepted.anomaly.accepted).toBe(true);
    expect(accepted.destinations[0].retention.deleted.length).toBe(3);
    expect((await manifest(accepted.snapshotId)).anomaly.accepted).toBe(true);
    const later = await ok(cfg, day(26));
    expect(later.anomaly).toBeUndefined();
    expect((await prune(cfg, day(26))).code).toBe(0);
  });

  it("an empty file (which SQLite opens as a valid empty database) is an anomaly", async () => {
    const cfg = await config({ retention: "{ keepLast: 1 }" });
    await ok(cfg, day(20));
    await ok(cfg, day(21));
    for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) await rm(f, { force: true });
    await writeFile(dbFile, "");
    const r = await backup(cfg, day(22));
    expect(r.code, r.stderr).toBe(3);
    const run = r.json().databases[0];
    expect(run.anomaly.findings[0]).toMatchObject({ kind: "emptied", message: expect.stringMatching(/no tables/) });
    expect(run.destinations[0].retention.deleted).toEqual([]);
    expect((await snapshots()).length).toBe(2);
  });

  it("a lost table, or rows far below the last good snapshot, is an anomaly; guard.maxShrink sets how far", async () => {
    const cfg = await config({ retention: "{ keepLast: 1 }" });
    await ok(cfg, day(20));
    sql("DROP TABLE notes;");
    const lost = await backup(cfg, day(21));
    expect(lost.code).toBe(3);
    expect(lost.json().databases[0].anomaly.findings).toEqual([expect.objectContaining({ kind: "table-lost", table: "notes", before: 10, after: 0 })]);

    sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); DELETE FROM posts WHERE id % 10 < 7;");
    const shrunk = await backup(cfg, day(22));
    expect(shrunk.code).toBe(3);
    const kinds = shrunk.json().databases[0].anomaly.findings.map((f: any) => `${f.kind}:${f.table ?? ""}`);
    expect(kinds).toEqual(expect.arrayContaining(["rows:", "table-rows:posts"]));
    expect(shrunk.json().databases[0].anomaly.findings[0].message).toMatch(/2060 → 650 rows in all \(-68\.4%\)/);
    expect(shrunk.json().databases[0].anomaly.howToAccept).toMatch(/--accept-shrink.*or raise guard\.maxShrink \(now 50%\)/);
    expect((await snapshots()).length).toBe(3);

    // A threshold above the shrink: normal again (the notes table is back, empty: only its loss counted).
    const relaxed = await config({ retention: "{ keepLast: 2 }", guard: "{ maxShrink: 80%, maxDelete: 100% }" });
    const r = await ok(relaxed, day(23));
    expect(r.anomaly).toBeUndefined();
    expect(r.destinations[0].retention.deleted.length).toBe(2);
  });

  it("refuses a guard threshold that is not a percentage, naming the field", async () => {
    const cfg = await config({ guard: "{ maxShrink: 0.5 }" });
    const r = await backup(cfg, day(20));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/guard\.maxShrink: must be a percentage from 0% to 100% such as 50%, not 0\.5/);
  });
});

describe("A.2 a clock that jumped", () => {
  it("(c) while a copy is dated after now, its destination's retention deletes nothing, in backup and prune", async () => {
    const cfg = await config({ retention: "{ keepLast: 1 }" });
    const future = await ok(cfg, "2026-12-01T02:00:00Z");
    const r = await backup(cfg, day(25)); // the clock was fixed: the copy above is now in the future
    expect(r.code).toBe(3);
    const retention = r.json().databases[0].destinations[0].retention;
    expect(retention.deleted).toEqual([]);
    expect(retention.held).toEqual([expect.objectContaining({ guard: "future-copy", snapshotId: future.snapshotId })]);
    expect(retention.held[0].message).toMatch(/dated 2026-12-01T02:00:00.000Z, 6\.0d after this host's clock \(2026-11-25T02:00:00.000Z\): check this host's clock/);
    expect((await snapshots()).length).toBe(2);

    const p = await prune(cfg, day(26));
    expect(p.code).toBe(3);
    expect(p.json().destinations[0].databases[0].held[0].guard).toBe("future-copy");
    expect((await snapshots()).length).toBe(2);
    // Once "now" has caught up, retention applies as usual.
    const later = await prune(cfg, "2026-12-02T00:00:00Z");
    expect(later.code, later.stdout).toBe(0);
    expect(await snapshots()).toEqual([future.snapshotId.slice(0, 16)]);
  });

  it("(b) one run never deletes most of a destination's good snapshots; prune --force does, after a dry run shows it", async () => {
    let cfg = await config();
    for (const d of [20, 21, 22, 23, 24]) await ok(cfg, day(d));
    cfg = await config({ retention: "{ keepLast: 1 }" });
    const r = await backup(cfg, day(25));
    expect(r.code).toBe(3);
    const retention = r.json().databases[0].destinations[0].retention;
    expect(retention.deleted).toEqual([]);
    expect(retention.held).toEqual([expect.objectContaining({ guard: "deletion-budget" })]);
    expect(retention.held[0].message).toMatch(/would delete 5 of the 6 good snapshots.*guard\.maxDelete \(50%\).*prune --force/);
    expect(retention.kept.filter((k: any) => k.reasons.includes("held: deletion-budget")).length).toBe(5);
    expect((await snapshots()).length).toBe(6);

    expect((await prune(cfg, day(25))).code).toBe(3);
    const dry = await prune(cfg, day(25), "--force", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.json().destinations[0].databases[0].deleted.length).toBe(5);
    expect((await snapshots()).length).toBe(6);
    const forced = await prune(cfg, day(25), "--force");
    expect(forced.code, forced.stdout).toBe(0);
    expect(forced.json().force).toBe(true);
    expect((await snapshots()).length).toBe(1);
  });

  it("a host clock that jumps months ahead cannot make keepWithin delete the history, nor the copy it wrote mislead later runs", async () => {
    const cfg = await config({ retention: "{ keepWithin: 3d }" });
    for (const d of [20, 21, 22, 23, 24]) await ok(cfg, day(d));
    const before = await snapshots();
    expect(before.length).toBe(4);
    const jumped = await backup(cfg, "2027-03-01T02:00:00Z");
    expect(jumped.code).toBe(3);
    expect(jumped.json().databases[0].destinations[0].retention.held.map((h: any) => h.guard)).toEqual(["deletion-budget"]);
    expect((await snapshots()).length).toBe(5);
    // The clock is fixed: the jumped run's copy is dated months ahead, and holds retention.
    const fixed = await backup(cfg, day(25));
    expect(fixed.code).toBe(3);
    expect(fixed.json().databases[0].destinations[0].retention.held.map((h: any) => h.guard)).toContain("future-copy");
    expect(await snapshots()).toEqual(expect.arrayContaining(before));
  });
});
