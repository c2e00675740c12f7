import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { chmod, chown, lstat, mkdir, readdir, readFile, rm, symlink, truncate, writeFile, stat } from "node:fs/promises";
import { spawn, spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { BIN, runCli, tempDir } from "../helpers/cli.js";
import { countPosts as rows, createSampleDb } from "../helpers/sqlite.js";
import { flipByte } from "../helpers/damage.js";

let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
let snaps: string[];
const DESTS = ["disk", "usb", "cloud"];

/** Two snapshots a day apart on three local destinations; the second has more rows. */
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-restore-"));
  const db = path.join(dir, "app.db");
  createSampleDb(db, 500);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    [
      "databases:",
      `  - { name: app, path: ${JSON.stringify(db)} }`,
      "destinations:",
      ...DESTS.map((d, i) => `  - { name: ${d}, type: local, path: ${JSON.stringify(path.join(dir, d))}, medium: m${i}${i === 2 ? ", offsite: true" : ""} }`),
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
    ].join("\n"),
  );
  snaps = [];
  for (const [now, extra] of [["2026-11-20T02:00:00Z", 0], ["2026-11-21T02:00:00Z", 100]] as const) {
    if (extra) {
      const live = new Database(db);
      live.prepare("INSERT INTO posts (author_id, body) SELECT 1, 'later' FROM posts LIMIT ?").run(extra);
      live.close();
    }
    const r = await runCli(["backup", ...(extra ? [] : ["--init"]), "--config", cfg, "--json"], { env: { TRIPLICATE_NOW: now } });
    expect(r.code, r.stderr).toBe(0);
    snaps.push(r.json().databases[0].snapshotId);
  }
});
afterEach(async () => cleanup());

const artifact = (dest: string, snap: string) => path.join(dir, dest, "app", `${snap}.sqlite.zst`);
const restore = (args: string[], env: NodeJS.ProcessEnv = { TRIPLICATE_NOW: "2026-11-22T00:00:00Z" }) =>
  runCli(["restore", "app", "--config", cfg, "--json", ...args], { env });


// chattr +i (immutable) is how a test makes rename() or a folder fail for root too; it needs root and ext4-like file systems.
const canChattr = (() => {
  const probe = path.join(os.tmpdir(), `.triplicate-chattr-probe-${process.pid}`);
  try {
    spawnSync("touch", [probe]);
    return spawnSync("chattr", ["+i", probe]).status === 0 && spawnSync("chattr", ["-i", probe]).status === 0;
  } finally {
    spawnSync("rm", ["-f", probe]);
  }
})();

describe("triplicate restore", () => {
  it("restores the newest snapshot and reports what it did", async () => {
    const to = path.join(dir, "out", "restored.db");
    const r = await restore(["--to", to]);
    expect(r.code, r.stderr).toBe(0);
    const rep = r.json();
    expect(rep.restored).toMatchObject({ snapshotId: snaps[1], destination: "disk" });
    expect(rep.restored.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rows(to)).toBe(600);
    expect(await readdir(path.dirname(to))).toEqual(["restored.db"]); // no temp files, no -wal
  });

  it("a bit-flipped newest copy: falls back to the next destination, says why, and exits 3 (a damaged copy is news)", async () => {
    await flipByte(artifact("disk", snaps[1]), 1000);
    const to = path.join(dir, "r.db");
    const r = await restore(["--to", to]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json().exitCode).toBe(3);
    const rep = r.json();
    expect(rep.attempts[0]).toMatchObject({ destination: "disk", ok: false });
    expect(rep.attempts[0].reason).toMatch(/sha256|the artifact is damaged: it does not decode/);
    expect(rep.restored.destination).toBe("usb");
    expect(rows(to)).toBe(600);
  });

  it("one destination down and another truncated: restores from the third", async () => {
    await rm(path.join(dir, "disk"), { recursive: true });
    await writeFile(path.join(dir, "disk"), "the disk died; a file is left where the folder was");
    await truncate(artifact("usb", snaps[1]), 1000);
    const r = await restore(["--to", path.join(dir, "r.db")]);
    expect(r.code, r.stderr).toBe(3); // restored, but the dead disk might have held something newer
    const rep = r.json();
    expect(rep.unreachable.map((u: any) => u.destination)).toEqual(["disk"]);
    expect(rep.attempts[0]).toMatchObject({ destination: "usb", ok: false });
    expect(rep.attempts[0].reason).toMatch(/size-mismatch/);
    expect(rep.restored.destination).toBe("cloud");
  });

  it("a copy whose rows differ from its manifest: named as manifest vs restored, the next copy is used", async () => {
    const file = path.join(dir, "disk", "app", `${snaps[1]}.manifest.json`);
    const manifest = JSON.parse(await readFile(file, "utf8"));
    manifest.sqlite.rowCounts.posts = 599;
    await writeFile(file, JSON.stringify(manifest));
    const r = await restore(["--to", path.join(dir, "r.db")]);
    expect(r.code, r.stderr).toBe(3);
    const rep = r.json();
    expect(rep.attempts[0]).toMatchObject({ destination: "disk", ok: false, reason: expect.stringContaining("row count of posts: manifest 599, restored 600") });
    expect(rep.restored.destination).toBe("usb");
  });

  it("manifest present but artifact missing: the next copy is used", async () => {
    await rm(artifact("disk", snaps[1]));
    const r = await restore(["--to", path.join(dir, "r.db")]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBeTruthy();
    const rep = r.json();
    expect(rep.attempts[0]).toMatchObject({ destination: "disk", ok: false, reason: expect.stringMatching(/missing-artifact/) });
    expect(rep.restored.destination).toBe("usb");
  });

  it("every copy of the newest snapshot bad: restores the older one, loudly, exit 3", async () => {
    for (const d of DESTS) await flipByte(artifact(d, snaps[1]), 500);
    const to = path.join(dir, "r.db");
    const r = await restore(["--to", to]);
    expect(r.code, r.stderr).toBe(3);
    const rep = r.json();
    expect(rep.fellBack).toBe(true);
    expect(rep.newestSnapshotId).toBe(snaps[1]);
    expect(rep.restored.snapshotId).toBe(snaps[0]);
    expect(rep.attempts.filter((a: any) => !a.ok).length).toBe(3);
    expect(rows(to)).toBe(500);
    const human = await runCli(["restore", "app", "--config", cfg, "--to", path.join(dir, "r2.db")], { env: { TRIPLICATE_NOW: "2026-11-22T00:00:00Z" } });
    expect(human.code).toBe(3);
    expect(human.stdout).toMatch(/WARNING: this is OLDER/);
  });

  it("--at picks the newest snapshot at or before that time (ISO or age)", async () => {
    const r = await restore(["--to", path.join(dir, "r.db"), "--at", "2026-11-20T12:00:00Z"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().restored.snapshotId).toBe(snaps[0]);
    const byAge = await restore(["--to", path.join(dir, "r2.db"), "--at", "36h"]);
    expect(byAge.json().restored.snapshotId).toBe(snaps[0]);
    const before = await restore(["--to", path.join(dir, "r3.db"), "--at", "2026-01-01T00:00:00Z"]);
    expect(before.code).toBe(1);
    expect(before.json().error).toMatch(/no snapshot of app at or before/);
  });

  it("--from restricts to one destination", async () => {
    const rep = (await restore(["--to", path.join(dir, "r.db"), "--from", "cloud"])).json();
    expect(rep.restored.destination).toBe("cloud");
  });

  it("an existing database is moved aside with its -wal/-shm, never deleted; a live one needs --force", async () => {
    const target = path.join(dir, "app.db");
    const live = new Database(target);
    live.pragma("wal_autocheckpoint = 0");
    live.prepare("INSERT INTO posts (author_id, body) VALUES (1, 'only in the live wal')").run();
    const refused = await restore([]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/live write-ahead log.*--force/);
    live.close(); // closing checkpoints; make a -wal again by hand to prove it is not applied
    const before = await readFile(target);
    await writeFile(`${target}-wal`, "stale wal bytes that must not be applied");
    const r = await restore(["--force"]);
    expect(r.code, r.stderr).toBe(0);
    const moved = r.json().movedAside as string[];
    expect(moved.map((m) => path.basename(m))).toEqual(["app.db.pre-restore-20261122T000000Z", "app.db.pre-restore-20261122T000000Z-wal"]);
    expect(await readFile(moved[0])).toEqual(before);
    expect(rows(target)).toBe(600);
    await expect(stat(`${target}-wal`)).rejects.toThrow();
  });

  it("a database in rollback-journal mode with a hot -journal is not replaced without --force", async () => {
    const target = path.join(dir, "app.db");
    const plain = new Database(target);
    plain.pragma("journal_mode = DELETE");
    plain.close();
    const before = await readFile(target);
    // The header SQLite writes at the start of a rollback journal that still has to be played back.
    const journal = Buffer.concat([Buffer.from("d9d505f920a163d7", "hex"), Buffer.alloc(1024, 7)]);
    await writeFile(`${target}-journal`, journal);
    const refused = await restore([]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/hot rollback journal.*app\.db-journal.*--force/);
    expect(await readFile(target)).toEqual(before);
    expect(await readFile(`${target}-journal`)).toEqual(journal);
    const r = await restore(["--force"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().movedAside.map((m: string) => path.basename(m))).toEqual(["app.db.pre-restore-20261122T000000Z", "app.db.pre-restore-20261122T000000Z-journal"]);
    expect(rows(target)).toBe(600);
  });

  it("a database another process holds a write lock on is not replaced without --force", async () => {
    const target = path.join(dir, "app.db");
    const plain = new Database(target);
    plain.pragma("journal_mode = DELETE");
    plain.close();
    const script = path.join(dir, "holder.cjs");
    await writeFile(
      script,
      `const Database = require(${JSON.stringify(new URL(import.meta.resolve("better-sqlite3")).pathname)});
const db = new Database(process.argv[2]);
db.exec("BEGIN IMMEDIATE; INSERT INTO posts (author_id, body) VALUES (1, 'uncommitted');");
process.send("locked");
process.on("message", () => { db.exec("ROLLBACK"); db.close(); process.exit(0); });
`,
    );
    const { fork } = await import("node:child_process");
    const holder = fork(script, [target], { stdio: "inherit" });
    try {
      await new Promise<void>((resolve) => holder.once("message", () => resolve()));
      const refused = await restore([]);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toMatch(/locked by another process.*--force/);
    } finally {
      holder.send("stop");
      await new Promise((resolve) => holder.once("exit", resolve));
    }
    const r = await restore([]);
    expect(r.code, r.stderr).toBe(0);
    expect(rows(target)).toBe(600);
  });

  it("a symlinked target: the live-WAL guard looks at the real file, which is replaced; the link stays", async () => {
    await mkdir(path.join(dir, "real"));
    await mkdir(path.join(dir, "links"));
    const real = path.join(dir, "real", "app.db");
    const link = path.join(dir, "links", "app.db");
    createSampleDb(real, 3);
    await symlink("../real/app.db", link);
    const live = new Database(real);
    live.pragma("journal_mode = WAL");
    live.pragma("wal_autocheckpoint = 0");
    live.prepare("INSERT INTO posts (author_id, body) VALUES (1, 'in the live wal')").run();
    const refused = await restore(["--to", link]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${real} has a live write-ahead log`);
    live.close();
    const r = await restore(["--to", link]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ target: real, via: link });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(rows(link)).toBe(600);
  });

  it("a relative symlink reached through a symlinked folder resolves where the kernel would", async () => {
    // app/current -> releases/42, and releases/42/app.db -> ../../shared/app.db (so app/shared/app.db).
    await mkdir(path.join(dir, "app", "releases", "42"), { recursive: true });
    await mkdir(path.join(dir, "app", "shared"));
    const real = path.join(dir, "app", "shared", "app.db");
    await writeFile(real, "the old database");
    await symlink("releases/42", path.join(dir, "app", "current"));
    await symlink("../../shared/app.db", path.join(dir, "app", "releases", "42", "app.db"));
    const r = await restore(["--to", path.join(dir, "app", "current", "app.db")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().target).toBe(real);
    expect(rows(real)).toBe(600);
  });

  it("the restored file keeps the replaced database's permissions (and owner, as root)", async () => {
    const target = path.join(dir, "app.db");
    await chmod(target, 0o600);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await chown(target, 65534, 65534);
    const r = await restore([]);
    expect(r.code, r.stderr).toBe(0);
    const placed = await stat(target);
    expect(placed.mode & 0o777).toBe(0o600);
    if (asRoot) expect([placed.uid, placed.gid]).toEqual([65534, 65534]);
  });

  // An immutable file is the one way to make rename() fail for root too (canChattr, above).
  it.skipIf(!canChattr)("a target that cannot be replaced: one clear error about the target, the copies not blamed, nothing left behind", async () => {
    const target = path.join(dir, "app.db");
    const before = await readFile(target);
    expect(spawnSync("chattr", ["+i", target]).status).toBe(0);
    try {
      const r = await restore([]);
      expect(r.code).toBe(1);
      const rep = r.json();
      // The first copy was good: no other copy or older snapshot was tried.
      expect(rep.attempts).toEqual([expect.objectContaining({ destination: "disk", ok: true })]);
      expect(rep.error).toMatch(new RegExp(`was downloaded and checked, but could not be put in place at ${target}: .*EPERM.*Nothing was changed there.*--to PATH`));
      expect(await readFile(target)).toEqual(before);
      expect((await readdir(dir)).filter((f) => f.includes(".restore-") || f.includes("pre-restore"))).toEqual([]);
    } finally {
      spawnSync("chattr", ["-i", target]);
    }
  });

  it("Ctrl-C mid-restore: the partial temp file is removed, the old database stays; abandoned temps are swept", async () => {
    // Big and incompressible enough that the restore is still running when the signal comes.
    const db = new Database(path.join(dir, "app.db"));
    db.prepare("INSERT INTO posts (author_id, body) SELECT 1, randomblob(1000000) FROM posts LIMIT 48").run();
    db.close();
    expect((await runCli(["backup", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-21T12:00:00Z" } })).code).toBe(0);
    const target = path.join(dir, "live.db");
    await writeFile(target, "the old database");
    const dead = spawnSync("true").pid; // a process that has exited: its temp file is abandoned
    const abandoned = `.live.db.restore-${dead}-0badc0de`;
    await writeFile(path.join(dir, abandoned), "left by a killed restore");

    const child = spawn(process.execPath, [BIN, "restore", "app", "--config", cfg, "--to", target, "--json"], {
      env: { ...process.env, TRIPLICATE_NOW: "2026-11-22T00:00:00Z" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const temps = async () => (await readdir(dir)).filter((f) => f.startsWith(".live.db.restore-"));
    while (child.exitCode === null && !(await temps()).some((f) => f !== abandoned)) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGINT");
    expect(await exited).toBe(1);
    expect(JSON.parse(stdout).error).toMatch(/interrupted by SIGINT .*nothing was changed at .*live\.db/);
    expect(await temps()).toEqual([]);
    expect(await readFile(target, "utf8")).toBe("the old database");

    // verify --deep the same way: its scratch copies go, and an interruption is not recorded as damage.
    const staging = path.join(dir, "staging");
    const verify = spawn(process.execPath, [BIN, "verify", "--config", cfg, "--deep", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let verifyOut = "";
    verify.stdout.on("data", (d) => (verifyOut += d));
    const verifyExited = new Promise<number | null>((resolve) => verify.on("close", resolve));
    const scratchFiles = async () => {
      const dirs = (await readdir(staging)).filter((f) => f.startsWith("verify-"));
      return (await Promise.all(dirs.map((d) => readdir(path.join(staging, d)).catch(() => [])))).flat();
    };
    while (verify.exitCode === null && !(await scratchFiles()).length) await new Promise((r) => setTimeout(r, 5));
    verify.kill("SIGINT");
    expect(await verifyExited).toBe(1);
    expect(JSON.parse(verifyOut).error).toBe("interrupted by SIGINT");
    expect((await readdir(staging)).filter((f) => f.startsWith("verify-"))).toEqual([]);
    const history = await readFile(path.join(staging, "deep-verifications.json"), "utf8").catch(() => "{}");
    expect(history).not.toMatch(/"ok":\s*false/);
  });

  it("a --to below a file: usage error naming the path, nothing changed", async () => {
    const blocker = path.join(dir, "blocker");
    await writeFile(blocker, "not a folder");
    const r = await restore(["--to", path.join(blocker, "app.db")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/part of .*blocker is a file, not a folder; check the --to path; nothing was changed/);
    expect(await readFile(blocker, "utf8")).toBe("not a folder");
  });

  // Root writes through permission bits, so as root the folder is made immutable instead.
  const asRoot = process.getuid?.() === 0;
  it.skipIf(asRoot && !canChattr)("a target folder that is not writable: clear error before any download, nothing changed", async () => {
    const folder = path.join(dir, "readonly");
    await mkdir(folder);
    const target = path.join(folder, "app.db");
    await writeFile(target, "the old database");
    const lock = () => (asRoot ? spawnSync("chattr", ["+i", folder]).status === 0 : (spawnSync("chmod", ["555", folder]), true));
    const unlock = () => (asRoot ? spawnSync("chattr", ["-i", folder]) : spawnSync("chmod", ["755", folder]));
    expect(lock()).toBe(true);
    try {
      const r = await restore(["--to", target]);
      expect(r.code).toBe(1);
      // Refused before the destinations are even listed: the JSON is the bare error, no attempts.
      expect(r.json()).toEqual({
        command: "restore", exitCode: 1,
        error: expect.stringMatching(/cannot write to .*readonly \((EPERM|EACCES)\); choose a writable folder with --to, or fix its permissions; nothing was changed/),
      });
      expect(await readdir(folder)).toEqual(["app.db"]);
      expect(await readFile(target, "utf8")).toBe("the old database");
    } finally {
      unlock();
    }
  });
});

describe("triplicate verify", () => {
  it("passes clean copies; --deep catches a bit flip that sizes cannot see", async () => {
    const clean = await runCli(["verify", "--config", cfg, "--deep", "--json"]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.json().errors).toBe(0);
    await flipByte(artifact("usb", snaps[1]), 2000);
    const shallow = await runCli(["verify", "--config", cfg, "--json"]);
    expect(shallow.json().errors).toBe(0);
    const deep = await runCli(["verify", "--config", cfg, "--deep", "--json"]);
    expect(deep.code).toBe(3);
    expect(deep.json().errors).toBe(1);
    const usb = deep.json().destinations.find((d: any) => d.destination === "usb");
    expect(usb.copies.find((c: any) => c.snapshotId === snaps[1]).deep).toMatchObject({ ok: false });
    // In words: the damaged copy is not shown as "complete", and a shallow verify says what it cannot see.
    const text = (await runCli(["verify", "--config", cfg, "--deep"])).stdout;
    expect(text).toMatch(new RegExp(`${snaps[1]}  damaged .*DEEP CHECK FAILED`));
    expect((await runCli(["verify", "--config", cfg])).stdout).toContain("only --deep reads the bytes back");
  });

  it("--deep: when every newest copy is damaged, says so by name, not only as a count", async () => {
    for (const d of DESTS) await flipByte(artifact(d, snaps[1]), 2000);
    const r = await runCli(["verify", "--config", cfg, "--deep", "--json"]);
    expect(r.code).toBe(3);
    expect(r.json()).toMatchObject({ errors: 3, unprotected: [], failedDeep: ["app"] });
    expect((await runCli(["verify", "--config", cfg, "--deep"])).stdout).toContain("NO COPY of database app PASSED THE DEEP CHECK");
    await flipByte(artifact("disk", snaps[1]), 2000); // one good copy again
    expect((await runCli(["verify", "--config", cfg, "--deep", "--json"])).json().failedDeep).toEqual([]);
  });

  it("reports a truncated copy without downloading it", async () => {
    await truncate(artifact("cloud", snaps[0]), 10);
    const r = await runCli(["verify", "--config", cfg, "--json"]);
    expect(r.code).toBe(3);
    const cloud = r.json().destinations.find((d: any) => d.destination === "cloud");
    expect(cloud.copies.find((c: any) => c.snapshotId === snaps[0]).state).toBe("size-mismatch");
  });
});
