import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, readdir, utimes, writeFile, open, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb, startWriter } from "../helpers/sqlite.js";
import { codecFor } from "../../src/artifact/codecs.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-it-")));
afterEach(async () => cleanup());

interface Dest {
  name: string;
  medium?: string;
  offsite?: boolean;
  retention?: string;
  path?: string;
}

async function writeConfig(opts: { dbs?: { name: string; path: string }[]; dests?: Dest[]; policy?: string; extra?: string } = {}): Promise<string> {
  const dbs = opts.dbs ?? [{ name: "app", path: path.join(dir, "app.db") }];
  const dests = opts.dests ?? [
    { name: "disk", medium: "disk" },
    { name: "usb", medium: "usb" },
    { name: "cloud", medium: "cloud", offsite: true },
  ];
  const yaml = [
    "databases:",
    ...dbs.map((d) => `  - { name: ${d.name}, path: ${JSON.stringify(d.path)} }`),
    "destinations:",
    ...dests.map(
      (d) =>
        `  - { name: ${d.name}, type: local, path: ${JSON.stringify(d.path ?? path.join(dir, "dest", d.name))}` +
        `${d.medium ? `, medium: ${d.medium}` : ""}${d.offsite ? ", offsite: true" : ""}${d.retention ? `, retention: ${d.retention}` : ""} }`,
    ),
    `policy: ${opts.policy ?? "{ copies: 3, media: 2, offsite: 1 }"}`,
    `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
    // Every run here is a new night with the same source: a new snapshot each time, as these tests count them.
    "unchanged: upload",
    opts.extra ?? "",
  ].join("\n");
  const file = path.join(dir, "triplicate.yml");
  await writeFile(file, yaml);
  return file;
}

async function filesUnder(root: string): Promise<string[]> {
  try {
    return (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name))).sort();
  } catch {
    return [];
  }
}

/** Decompress an artifact and open it: the proof that a copy is a usable database. */
async function openArtifact(file: string, algorithm: "zstd" | "gzip" | "none"): Promise<Database.Database> {
  const out = `${file}.restored.db`;
  await pipeline(createReadStream(file), codecFor(algorithm).decompress(), createWriteStream(out));
  return new Database(out, { readonly: true });
}

describe("triplicate backup (CLI, local destinations)", () => {
  it("backs up a database another process keeps writing, to every destination, with proof", async () => {
    const db = path.join(dir, "app.db");
    createSampleDb(db, 3000);
    const cfg = await writeConfig();
    const writer = await startWriter(db, dir);
    let res;
    try {
      res = await runCli(["backup", "--init", "--config", cfg, "--json", "--tag", "nightly"]);
    } finally {
      const written = await writer.stop();
      expect(written).toBeGreaterThan(0);
    }
    expect(res.code, res.stderr).toBe(0);
    const report = res.json();
    const run = report.databases[0];
    expect(run.destinations.map((d: any) => [d.destination, d.status])).toEqual([
      ["disk", "verified"],
      ["usb", "verified"],
      ["cloud", "verified"],
    ]);
    expect(run.policy.pass).toBe(true);
    // The snapshot's counts were taken in the copy's own read transaction: they include the writer's rows so far.
    expect(run.snapshot.facts.rowCounts.posts).toBeGreaterThanOrEqual(3000);

    for (const dest of ["disk", "usb", "cloud"]) {
      const root = path.join(dir, "dest", dest);
      const files = await filesUnder(root);
      // The artifact, its manifest, the record of the read-back that proved it, and the destination's marker.
      expect(files).toEqual([
        `app/${run.snapshotId}.manifest.json`,
        expect.stringMatching(new RegExp(`^app/${run.snapshotId}\\.proof-\\d{8}T\\d{6}Z-read-back-ok-[0-9a-f]{8}\\.json$`)),
        `app/${run.snapshotId}.sqlite.zst`,
        // The run's record (README "Run history").
        expect.stringMatching(/^history\/\d{8}T\d{6}Z-backup-[A-Za-z0-9-]+-[0-9a-f]{8}\.json$/),
        "triplicate-destination.json",
      ]);
      const proofFile = path.join(root, files[1]);
      expect(JSON.parse(await readFile(proofFile, "utf8"))).toMatchObject({ format: "triplicate.proof/v1", level: "read-back", ok: true, snapshotId: run.snapshotId });
      const manifest = JSON.parse(await readFile(path.join(root, "app", `${run.snapshotId}.manifest.json`), "utf8"));
      expect(manifest).toMatchObject({ format: 1, db: "app", snapshotId: run.snapshotId, tags: ["nightly"], compression: { algorithm: "zstd" } });
      const artifactPath = path.join(root, manifest.artifact.key);
      const bytes = await readFile(artifactPath);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(manifest.artifact.sha256);
      const copy = await openArtifact(artifactPath, "zstd");
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(copy.pragma("journal_mode", { simple: true })).toBe("delete");
      expect(copy.prepare("SELECT count(*) FROM posts").pluck().get()).toBe(manifest.sqlite.rowCounts.posts);
      copy.close();
    }
  });

  it("includes committed rows that are still only in the -wal file", async () => {
    const db = path.join(dir, "app.db");
    createSampleDb(db, 10);
    const live = new Database(db);
    live.pragma("wal_autocheckpoint = 0");
    live.prepare("INSERT INTO posts (author_id, body) VALUES (1, 'in the wal')").run();
    expect((await stat(`${db}-wal`)).size).toBeGreaterThan(0);
    const res = await runCli(["backup", "--init", "--config", await writeConfig({ dests: [{ name: "disk" }], policy: "{ copies: 2, media: 1, offsite: 0 }" }), "--json"]);
    live.close();
    expect(res.code, res.stderr).toBe(0);
    expect(res.json().databases[0].snapshot.facts.rowCounts.posts).toBe(11);
  });

  it("refuses a corrupt database: exit 1, nothing shipped, nothing deleted", async () => {
    const db = path.join(dir, "app.db");
    createSampleDb(db, 3000);
    const cfg = await writeConfig({ dests: [{ name: "disk", retention: "{ keepLast: 1 }" }], policy: "{ copies: 2, media: 1, offsite: 0 }" });
    const first = await runCli(["backup", "--init", "--config", cfg, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const before = await filesUnder(path.join(dir, "dest/disk"));

    // Scribble over pages in the middle of the file (not the header): a damaged b-tree.
    const conv = new Database(db);
    conv.pragma("journal_mode = DELETE");
    conv.close();
    const h = await open(db, "r+");
    const { size } = await h.stat();
    await h.write(Buffer.alloc(8192, 0xa5), 0, 8192, Math.floor(size / 2 / 4096) * 4096);
    await h.close();

    const res = await runCli(["backup", "--config", cfg, "--json"]);
    expect(res.code).toBe(1);
    const run = res.json().databases[0];
    expect(run.error).toMatch(/failed verification|malformed|corrupt/i);
    expect(run.destinations).toEqual([]);
    // Nothing shipped, nothing deleted; only the failed night's run record was added (README "Run history").
    const after = await filesUnder(path.join(dir, "dest/disk"));
    expect(after.filter((f) => !f.startsWith("history/"))).toEqual(before.filter((f) => !f.startsWith("history/")));
    expect(after.filter((f) => f.startsWith("history/")).length).toBe(2);
    expect(await filesUnder(path.join(dir, "staging", "app"))).toEqual([]);
  });

  it("refuses a file that is not a database, and a missing one, naming the path", async () => {
    await writeFile(path.join(dir, "app.db"), "this is not sqlite at all, just text that is long enough".repeat(100));
    const cfg = await writeConfig({ dbs: [{ name: "app", path: path.join(dir, "app.db") }, { name: "gone", path: path.join(dir, "gone.db") }] });
    const res = await runCli(["backup", "--config", cfg]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/database app: .*not a database/);
    expect(res.stdout).toContain(`database gone: source ${path.join(dir, "gone.db")} does not exist`);
    expect(await filesUnder(path.join(dir, "dest"))).toEqual([]);
  });

  it("a destination that cannot be written: the others get their copy, exit 3, the report says why", async () => {
    createSampleDb(path.join(dir, "app.db"));
    const blocker = path.join(dir, "not-a-folder");
    await writeFile(blocker, "a file where a folder should be");
    const cfg = await writeConfig({
      dests: [{ name: "disk", medium: "disk" }, { name: "usb", medium: "usb" }, { name: "cloud", medium: "cloud", offsite: true, path: path.join(blocker, "sub") }],
    });
    const res = await runCli(["backup", "--init", "--config", cfg, "--json"]);
    expect(res.code, res.stderr).toBe(3);
    const run = res.json().databases[0];
    expect(run.destinations.map((d: any) => d.status)).toEqual(["verified", "verified", "failed"]);
    expect(run.destinations[2].error).toMatch(/not a folder/);
    expect(run.policy.rules.find((r: any) => r.rule === "offsite")).toMatchObject({ pass: false });
    expect(run.policy.rules.find((r: any) => r.rule === "offsite").reason).toMatch(/cloud \(unreachable/);
    expect((await filesUnder(path.join(dir, "dest/disk"))).length).toBe(5); // artifact, manifest, proof, destination marker, the run's history record
  });

  it("after a crash: temp files never count as copies, and old leftovers are cleaned", async () => {
    createSampleDb(path.join(dir, "app.db"));
    const cfg = await writeConfig({ dests: [{ name: "disk" }], policy: "{ copies: 2, media: 1, offsite: 0 }" });
    const appDir = path.join(dir, "dest/disk/app");
    await mkdir(appDir, { recursive: true });
    const old = new Date(Date.now() - 3 * 86_400_000);
    const crashTemp = path.join(appDir, ".20261120T020000Z-0badc0de.sqlite.zst.tmp-4242-abcdef");
    const orphan = path.join(appDir, "20261120T020000Z-0badc0de.sqlite.zst");
    const freshTemp = path.join(appDir, ".20261125T020000Z-11111111.sqlite.zst.tmp-4343-abcdef");
    for (const f of [crashTemp, orphan, freshTemp]) await writeFile(f, "partial upload");
    await utimes(crashTemp, old, old);
    await utimes(orphan, old, old);

    const list1 = await runCli(["list", "--config", cfg, "--json"]);
    const copies1 = list1.json().destinations[0].copies;
    expect(copies1.map((c: any) => c.state)).toEqual(["orphan"]);

    const res = await runCli(["backup", "--config", cfg, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const retention = res.json().databases[0].destinations[0].retention;
    expect(retention.temporarySwept).toEqual(["app/.20261120T020000Z-0badc0de.sqlite.zst.tmp-4242-abcdef"]);
    expect(retention.orphansDeleted).toEqual(["app/20261120T020000Z-0badc0de.sqlite.zst"]);
    const left = await readdir(appDir);
    expect(left).toContain(path.basename(freshTemp)); // may belong to a run in progress: left alone
    expect(left).not.toContain(path.basename(crashTemp));
    const list2 = (await runCli(["list", "--config", cfg, "--json"])).json();
    expect(list2.destinations[0].copies.map((c: any) => c.state)).toEqual(["complete"]);
  });

  it("applies each destination's retention over many runs (injected clock)", async () => {
    createSampleDb(path.join(dir, "app.db"), 50);
    const cfg = await writeConfig({
      dests: [
        { name: "daily3", retention: "{ keepDaily: 3 }" },
        { name: "last5", medium: "usb", retention: "{ keepLast: 5 }" },
        { name: "all", medium: "cloud", offsite: true },
      ],
    });
    const days = Array.from({ length: 8 }, (_, i) => `2026-11-${String(10 + i).padStart(2, "0")}T02:00:00Z`);
    // A second run on the last day: daily keeps only the newest of that day.
    days.push("2026-11-17T14:00:00Z");
    for (const now of days) {
      const r = await runCli(["backup", ...(now === days[0] ? ["--init"] : []), "--config", cfg, "--json"], { env: { TRIPLICATE_NOW: now } });
      expect(r.code, r.stderr).toBe(0);
    }
    const ids = async (d: string) => (await filesUnder(path.join(dir, "dest", d, "app"))).filter((f) => f.endsWith(".manifest.json")).map((f) => f.slice(0, 16));
    expect(await ids("daily3")).toEqual(["20261115T020000Z", "20261116T020000Z", "20261117T140000Z"]);
    expect(await ids("last5")).toEqual(["20261114T020000Z", "20261115T020000Z", "20261116T020000Z", "20261117T020000Z", "20261117T140000Z"]);
    expect((await ids("all")).length).toBe(9);
    // Every manifest deleted took its artifact with it.
    // Three snapshots kept, each an artifact, a manifest and its read-back proof: deleted snapshots took their proofs along.
    expect((await filesUnder(path.join(dir, "dest/daily3/app"))).length).toBe(9);

    const plan = await runCli(["prune", "--config", cfg, "--dry-run"], { env: { TRIPLICATE_NOW: "2026-11-17T15:00:00Z" } });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("keep   20261117T140000Z");
    expect(plan.stdout).toMatch(/newest snapshot, daily snapshot/);
  });

  it("--dry-run snapshots and verifies but writes nothing (more in dryRun.test.ts)", async () => {
    createSampleDb(path.join(dir, "app.db"));
    const cfg = await writeConfig();
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
    const before = await filesUnder(path.join(dir, "dest"));
    const res = await runCli(["backup", "--config", cfg, "--dry-run", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json().databases[0].destinations.map((d: any) => d.status)).toEqual(["would-ship", "would-ship", "would-ship"]);
    expect(await filesUnder(path.join(dir, "dest"))).toEqual(before);
  });

  it("--db picks one database; an unknown one is a usage error", async () => {
    createSampleDb(path.join(dir, "app.db"));
    const cfg = await writeConfig();
    const res = await runCli(["backup", "--config", cfg, "--db", "nope"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('no database named "nope"');
  });

  it("gzip and none work too, and the artifacts decompress", async () => {
    const db = path.join(dir, "app.db");
    createSampleDb(db);
    for (const algorithm of ["gzip", "none"] as const) {
      const cfg = await writeConfig({ dests: [{ name: algorithm }], policy: "{ copies: 2, media: 1, offsite: 0 }", extra: `compression: { algorithm: ${algorithm} }` });
      const res = await runCli(["backup", "--init", "--config", cfg, "--json"]);
      expect(res.code, res.stderr).toBe(0);
      const key = res.json().databases[0].artifact.key as string;
      expect(key.endsWith(algorithm === "gzip" ? ".sqlite.gz" : ".sqlite.raw")).toBe(true);
      const copy = await openArtifact(path.join(dir, "dest", algorithm, key), algorithm);
      expect(copy.prepare("SELECT count(*) FROM posts").pluck().get()).toBe(2000);
      copy.close();
    }
  });
});

describe("triplicate CLI basics", () => {
  it("a bad config is exit 2 with the field and the fix", async () => {
    await writeFile(path.join(dir, "bad.yml"), "databases: [{ name: '../x', path: a.db }]\ndestinations: [{ name: d, type: local, path: b }]\n");
    const res = await runCli(["backup", "--config", path.join(dir, "bad.yml")]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/databases\[0\]\.name .*may only use letters/);
  });

  it("a missing config file is exit 2 and says how to make one", async () => {
    const res = await runCli(["list", "--config", path.join(dir, "none.yml")]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("triplicate init");
  });

  it("init writes a commented config that validates, and never overwrites one", async () => {
    const file = path.join(dir, "triplicate.yml");
    expect((await runCli(["init", "--config", file])).code).toBe(0);
    expect(await readFile(file, "utf8")).toMatch(/^# triplicate.yml/);
    const again = await runCli(["init", "--config", file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists");
  });

  it("--help and --version work; an unknown command is a usage error", async () => {
    expect((await runCli(["--help"])).stdout).toContain("backup");
    expect((await runCli(["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await runCli(["nonsense"])).code).toBe(2);
  });
});
