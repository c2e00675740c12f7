import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { copyFile, open } from "node:fs/promises";
import path from "node:path";
import { tempDir } from "../helpers/cli.js";
import { verifyInWorker } from "../../src/snapshot/verify.js";
import { listTables, planPieces } from "../../src/snapshot/checkPieces.js";
import { VerificationError } from "../../src/runtime/errors.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("tri-checks-")));
afterEach(async () => cleanup());

const TABLES = ["alpha", "beta", "gamma"];

/** Three tables, each with an index, so each has leaf pages of its own to damage. */
function makeDb(file: string): Record<string, number> {
  const db = new Database(file);
  db.pragma("journal_mode = DELETE");
  for (const t of TABLES) {
    db.exec(`CREATE TABLE ${t}(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX ${t}_v ON ${t}(v);`);
    db.exec(`WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM x WHERE n<2000) INSERT INTO ${t}(v) SELECT hex(randomblob(40)) FROM x`);
  }
  db.close();
  return Object.fromEntries(TABLES.map((t) => [t, 2000]));
}

/**
 * Overwrites the cell pointers of one leaf page of `object` (a table's index): damage only a check of
 * that table (or the whole-file structure check) sees. Not the cells' bytes: after page splits a page's
 * content area holds freeblocks, which no check reads, so damage written there went unseen in 1 of
 * ~30 runs (random rows decide where they are). Every pointer past the page's end is seen.
 */
async function damage(file: string, object: string): Promise<void> {
  const db = new Database(file, { readonly: true });
  const pages = db.prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno").pluck().all(object) as number[];
  const pageSize = Number(db.pragma("page_size", { simple: true }));
  db.close();
  const h = await open(file, "r+");
  // The b-tree leaf header is 8 bytes; the 2-byte cell pointers follow (these pages hold 30+ cells).
  await h.write(Buffer.alloc(40, 0xa5), 0, 40, (pages[Math.floor(pages.length / 2)] - 1) * pageSize + 8);
  await h.close();
}

const job = (file: string, expectedCounts: Record<string, number>) => ({
  dbName: "app", file, expectedCounts, sourceJournalMode: "wal", foreignKeys: "warn" as const,
});

describe("checks split into pieces", () => {
  it("plans one integrity piece per table (and the schema), a whole-file structure check, foreign keys and facts", () => {
    const file = path.join(dir, "ok.db");
    const counts = makeDb(file);
    const db = new Database(file, { readonly: true });
    const pieces = planPieces(listTables(db), counts, "warn");
    db.close();
    const names = pieces.map((p) => (p.kind === "integrity" ? `integrity:${p.table}` : p.kind));
    expect(names.sort()).toEqual(["facts", "foreignKeys", "integrity:alpha", "integrity:beta", "integrity:gamma", "integrity:sqlite_schema", "structure"].sort());
  });

  it("passes a sound file with its facts", async () => {
    const file = path.join(dir, "ok.db");
    const counts = makeDb(file);
    const checked = await verifyInWorker(job(file, counts));
    expect(checked.facts.rowCounts).toEqual(counts);
    expect(Object.keys(checked.facts)).toEqual(["pageSize", "pageCount", "journalMode", "userVersion", "schemaSha256", "rowCounts", "foreignKeyViolations"]);
  });

  for (const table of TABLES) {
    it(`finds damage in ${table} alone, whichever piece checks it`, async () => {
      const pristine = path.join(dir, "ok.db");
      const counts = makeDb(pristine);
      const file = path.join(dir, `bad-${table}.db`);
      await copyFile(pristine, file);
      await damage(file, `${table}_v`);
      const err = await verifyInWorker(job(file, counts)).catch((e) => e);
      expect(err, `not refused: ${JSON.stringify(err).slice(0, 600)}`).toBeInstanceOf(VerificationError);
      expect((err as VerificationError).failures.join(" ")).toMatch(/^integrity_check: /);
    });
  }

  it("finds a page no b-tree uses, which no per-table check can see", async () => {
    const file = path.join(dir, "ok.db");
    const counts = makeDb(file);
    // Grow the header's page count by one: the last page is then used by nothing and on no freelist.
    const h = await open(file, "r+");
    const header = Buffer.alloc(4);
    await h.read(header, 0, 4, 28);
    const pageSize = 4096;
    await h.write(Buffer.alloc(pageSize), 0, pageSize, header.readUInt32BE(0) * pageSize);
    header.writeUInt32BE(header.readUInt32BE(0) + 1);
    await h.write(header, 0, 4, 28);
    await h.close();
    const err = await verifyInWorker(job(file, counts)).catch((e) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).failures.join(" ")).toMatch(/never used/);
  });
});
