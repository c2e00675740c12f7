import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { garbleTablePage, hashFileSet, makeDoctorDb, rotIndexEntry, truncateDb, withCommittedWal, withHotJournal, PAGE } from "../helpers/damagedDb.js";
import { statSync } from "node:fs";

/**
 * doctor on real damaged files: each diagnosis names the damage, the
 * salvage gets the readable rows back (counted), and the examined files are
 * byte for byte what they were (no -shm, no rollback, no checkpoint).
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-doctor-")));
afterEach(async () => cleanup());

function count(file: string, table: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return Number(db.prepare(`SELECT count(*) FROM ${table}`).pluck().get());
  } finally {
    db.close();
  }
}

async function doctor(file: string, extra: string[] = []) {
  const before = await hashFileSet(file);
  const res = await runCli(["doctor", file, "--json", "--config", path.join(dir, "none.yml"), ...extra]);
  expect(await hashFileSet(file), "the examined files changed").toEqual(before);
  return res;
}

const rowsOf = (rep: any, t: string) => rep.salvage.tables.find((x: any) => x.table === t).recovered;

describe("doctor", () => {
  it("a healthy database: exit 0, no options, and a salvage is a full copy", async () => {
    const db = path.join(dir, "ok.db");
    makeDoctorDb(db, 500);
    const res = await doctor(db, ["--full", "--salvage", path.join(dir, "out.db")]);
    expect(res.code, res.stderr).toBe(0);
    const rep = res.json();
    expect(rep.verdict).toBe("healthy");
    expect(rep.examinedCopyBecause).toBeUndefined();
    expect(rep.options).toEqual([]);
    expect(rowsOf(rep, "items")).toBe(500);
    expect(rep.salvage.integrityCheck).toBe("ok");
  });

  it("a table page overwritten with garbage: the table is named, salvage skips only that page's rows", async () => {
    const db = path.join(dir, "app.db");
    const n = makeDoctorDb(db);
    const { lostRows } = await garbleTablePage(db, "items");
    const out = path.join(dir, "salvaged.db");
    const res = await doctor(db, ["--salvage", out, "--method", "rows"]);
    expect(res.code).toBe(1);
    const rep = res.json();
    expect(rep.verdict).toBe("damaged");
    expect(rep.findings.join("\n")).toMatch(/table items: damaged/);
    expect(rep.damage.indexOnly).toBe(false);
    expect(rep.options.map((o: any) => o.kind)).toContain("salvage");
    expect(rowsOf(rep, "items")).toBe(n.items - lostRows);
    expect(rowsOf(rep, "notes")).toBe(n.notes);
    expect(count(out, "items")).toBe(n.items - lostRows);
    const check = new Database(out, { readonly: true });
    expect(check.pragma("integrity_check", { simple: true })).toBe("ok");
    check.close();
  });

  it("index-only damage: REINDEX is offered (it was tried on a copy) and nothing is lost", async () => {
    const db = path.join(dir, "app.db");
    const n = makeDoctorDb(db);
    await rotIndexEntry(db, "items_name");
    const res = await doctor(db, ["--full", "--salvage", path.join(dir, "out.db")]);
    expect(res.code).toBe(1);
    const rep = res.json();
    expect(rep.verdict).toBe("index-damage");
    expect(rep.damage.damagedIndexes).toEqual([{ name: "items_name", table: "items" }]);
    expect(rep.damage.reindexFixes).toBe(true);
    expect(rep.options.find((o: any) => o.kind === "reindex").command).toContain("REINDEX");
    expect(rowsOf(rep, "items")).toBe(n.items);
  });

  it("a truncated file: the cut is named, the rows on the pages kept come back", async () => {
    const db = path.join(dir, "app.db");
    const n = makeDoctorDb(db);
    const pages = statSync(db).size / PAGE;
    const { keptRows } = await truncateDb(db, Math.floor(pages * 0.7), "items");
    const res = await doctor(db, ["--salvage", path.join(dir, "out.db")]);
    expect(res.code).toBe(1);
    const rep = res.json();
    expect(rep.header.truncated).toBe(true);
    expect(rep.findings[0]).toMatch(/^truncated: the header says \d+ pages, the file holds \d+/);
    expect(rowsOf(rep, "items")).toBe(keptRows);
    expect(rowsOf(rep, "notes")).toBe(n.notes);
  });

  it("a hot journal: named as such, examined on a copy (rolled back there, not here), every committed row salvaged", async () => {
    const src = path.join(dir, "src.db");
    const n = makeDoctorDb(src);
    const db = path.join(dir, "app.db");
    await withHotJournal(src, db);
    const res = await doctor(db, ["--salvage", path.join(dir, "out.db")]);
    expect(res.code).toBe(1);
    const rep = res.json();
    expect(rep.verdict).toBe("hot-journal");
    expect(rep.sideFiles.journal.hot).toBe(true);
    expect(rep.examinedCopyBecause).toMatch(/hot journal/);
    expect(rep.findings.join("\n")).toMatch(/hot journal: .*never delete it/);
    expect(rowsOf(rep, "items")).toBe(n.items);
    expect(existsSync(`${db}-journal`)).toBe(true);
  });

  it("a WAL database whose -wal holds committed rows: frames counted, no -shm made, the rows salvaged", async () => {
    const src = path.join(dir, "src.db");
    const n = makeDoctorDb(src, 1000);
    const db = path.join(dir, "app.db");
    await withCommittedWal(src, db, 250);
    const res = await doctor(db, ["--full", "--salvage", path.join(dir, "out.db")]);
    expect(res.code, res.stdout).toBe(0);
    const rep = res.json();
    expect(rep.sideFiles.wal.committedFrames).toBeGreaterThan(0);
    expect(rep.sideFiles.wal.transactions).toBe(1);
    expect(rep.findings.join("\n")).toMatch(/-wal holds \d+ committed frame/);
    expect(rowsOf(rep, "items")).toBe(n.items + 250);
    expect(existsSync(`${db}-shm`)).toBe(false);
  });

  it("never writes over an existing OUT (exit 2), and a path needs no config", async () => {
    const db = path.join(dir, "app.db");
    makeDoctorDb(db, 10);
    const out = path.join(dir, "taken.db");
    await writeFile(out, "mine");
    const res = await runCli(["doctor", db, "--salvage", out], { cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/exists; doctor never writes over a file/);
    const ok = await runCli(["doctor", db], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/HEALTHY/);
  });

  it("--method recover says plainly when sqlite3 .recover cannot work here", async () => {
    const db = path.join(dir, "app.db");
    makeDoctorDb(db, 10);
    const res = await runCli(["doctor", db, "--salvage", path.join(dir, "o.db"), "--method", "recover"], { cwd: dir });
    // Either this sqlite3 shell can recover (exit 0), or the refusal names the shell and the way out.
    if (res.code !== 0) expect(res.stderr).toMatch(/--method recover: .*use --method rows/);
  });
});
