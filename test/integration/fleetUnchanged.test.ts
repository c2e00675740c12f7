import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { flipByte } from "../helpers/damage.js";

/**
 * Issue 15, fleets: a database whose raw bytes equal its latest complete
 * snapshot is not uploaded again. The night is recorded beside that
 * snapshot (`<id>.unchanged-<time>-<rand>.json`), so freshness and the audit
 * see a current copy, and retention can never delete the only bytes.
 */
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
const dbFile = () => path.join(dir, "app.db");
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-unchanged-"));
  createSampleDb(dbFile(), 200);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    `databases: [{ name: app, path: ${JSON.stringify(dbFile())} }]
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}, retention: { keepLast: 1 } }
  - { name: usb, type: local, path: ${JSON.stringify(path.join(dir, "usb"))}, medium: usb, retention: { keepLast: 1 } }
policy: { copies: 3, media: 2, offsite: 0, maxAge: 26h }
staging: ${JSON.stringify(path.join(dir, "staging"))}
`,
  );
});
afterEach(async () => cleanup());

const night = (n: number) => `2026-11-${String(10 + n).padStart(2, "0")}T02:00:00Z`;
const backup = (n: number, extra: string[] = []) => runCli(["backup", ...extra, "--json", "--config", cfg], { env: { TRIPLICATE_NOW: night(n) } });
const files = async (dest: string) => (await readdir(path.join(dir, dest, "app"))).sort();
const sha = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

describe("unchanged databases are not uploaded again", () => {
  it("a rotted copy is never stood on: once verify --deep marks it damaged, the unchanged source ships in full", async () => {
    const first = await backup(1, ["--init"]);
    expect(first.code, first.stderr).toBe(0);
    const baseId = first.json().databases[0].snapshotId as string;
    await flipByte(path.join(dir, "disk", "app", `${baseId}.sqlite.zst`));
    const deep = await runCli(["verify", "--deep", "--json", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-11T12:00:00Z" } });
    expect(deep.code).not.toBe(0);
    const r = await backup(2);
    const db = r.json().databases[0];
    expect(db.unchanged, r.stdout).toBeUndefined();
    expect(db.snapshotId).not.toBe(baseId);
    expect(db.destinations.map((d: any) => d.status)).toEqual(["verified", "verified"]);
    // The damaged copy is kept (never deleted, never counted), beside the new one.
    expect(await files("disk")).toContain(`${baseId}.sqlite.zst`);
  });

  it("four unchanged nights: one artifact, a record per night, fresh for maxAge and the audit; prune keepLast 1, restore and verify still work", async () => {
    const first = await backup(1, ["--init"]);
    expect(first.code, first.stderr).toBe(0);
    const baseId = first.json().databases[0].snapshotId as string;
    for (let n = 2; n <= 5; n++) {
      const r = await backup(n);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const db = r.json().databases[0];
      expect(db.unchanged).toMatchObject({ snapshotId: baseId });
      expect(db.snapshotId).toBe(baseId);
      expect(db.destinations.map((d: any) => d.status)).toEqual(["unchanged", "unchanged"]);
      expect(db.destinations.every((d: any) => d.bytes === 0)).toBe(true);
      // maxAge 26h is judged against the night the bytes were seen equal, not the snapshot's own date.
      expect(db.policy.pass).toBe(true);
    }
    for (const dest of ["disk", "usb"]) {
      const names = await files(dest);
      expect(names.filter((f) => /\.sqlite\./.test(f))).toEqual([`${baseId}.sqlite.zst`]);
      expect(names.filter((f) => f.includes(".unchanged-"))).toHaveLength(4);
    }

    const prune = await runCli(["prune", "--json", "--config", cfg], { env: { TRIPLICATE_NOW: night(5) } });
    expect(prune.code, prune.stdout + prune.stderr).toBe(0);
    expect((await files("disk")).filter((f) => /\.sqlite\./.test(f))).toEqual([`${baseId}.sqlite.zst`]);

    const audit = await runCli(["audit", "--format", "json", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-15T12:00:00Z" } });
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    const a = audit.json().databases[0];
    expect(a.latest).toMatchObject({ snapshotId: baseId, unchangedAt: new Date(night(5)).toISOString() });
    expect(a.policy.pass).toBe(true);

    const verify = await runCli(["verify", "--deep", "--config", cfg], { env: { TRIPLICATE_NOW: night(5) } });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    const to = path.join(dir, "restored.db");
    const restore = await runCli(["restore", "app", "--to", to, "--json", "--config", cfg], { env: { TRIPLICATE_NOW: night(5) } });
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    expect(restore.json().restored.snapshotId).toBe(baseId);
    const manifest = JSON.parse(await readFile(path.join(dir, "disk", "app", `${baseId}.manifest.json`), "utf8"));
    expect(await sha(to)).toBe(manifest.raw.sha256);
  });

  it("a change after unchanged nights ships a new snapshot; keepLast 1 then removes the old one with its records", async () => {
    expect((await backup(1, ["--init"])).code).toBe(0);
    expect((await backup(2)).code).toBe(0);
    const w = new Database(dbFile());
    w.prepare("INSERT INTO authors (name) VALUES ('new')").run();
    w.close();
    const r = await backup(3);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = r.json().databases[0];
    expect(db.unchanged).toBeUndefined();
    expect(db.destinations.map((d: any) => d.status)).toEqual(["verified", "verified"]);
    const names = await files("disk");
    expect(names.every((f) => f.startsWith(db.snapshotId))).toBe(true);
    expect(names.filter((f) => /\.sqlite\./.test(f))).toHaveLength(1);
  });

  it("a destination that lacks the latest snapshot gets a full copy: nothing is recorded as unchanged where the bytes are not", async () => {
    const first = await backup(1, ["--init"]);
    const baseId = first.json().databases[0].snapshotId as string;
    // The usb disk lost its copy (wiped by hand, marker kept).
    for (const f of await files("usb")) await import("node:fs/promises").then((fs) => fs.rm(path.join(dir, "usb", "app", f)));
    const r = await backup(2);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = r.json().databases[0];
    expect(db.unchanged).toBeUndefined();
    expect(db.snapshotId).not.toBe(baseId);
    expect(db.destinations.map((d: any) => d.status)).toEqual(["verified", "verified"]);
  });
});
