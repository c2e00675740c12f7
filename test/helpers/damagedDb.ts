/**
 * Real damaged SQLite files for the doctor tests, made the way disks and
 * crashes make them: a page of a table overwritten, one index entry rotted,
 * a cut-off file, a transaction that never finished, a -wal never
 * checkpointed. Each returns the rows a careful salvage can still read.
 */
import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { copyFile, open, readFile, truncate } from "node:fs/promises";
import { existsSync } from "node:fs";
import { sqliteFileSet } from "../../src/runtime/sqliteFiles.js";

export const PAGE = 4096;

/** items (rows with a 300-byte blob and an indexed name) and a small notes table, in rollback mode. */
export function makeDoctorDb(file: string, rows = 3000): { items: number; notes: number } {
  const db = new Database(file);
  db.pragma(`page_size = ${PAGE}`);
  db.pragma("journal_mode = DELETE");
  db.exec(`
    CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, body BLOB);
    CREATE INDEX items_name ON items(name);
    CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);
  `);
  const ins = db.prepare("INSERT INTO items (name, body) VALUES (?, randomblob(300))");
  db.transaction(() => {
    for (let i = 1; i <= rows; i++) ins.run(`name-${String(i).padStart(6, "0")}`);
    for (let i = 1; i <= 20; i++) db.prepare("INSERT INTO notes (text) VALUES (?)").run(`note ${i}`);
  })();
  db.close();
  return { items: rows, notes: 20 };
}

interface PageInfo {
  pageno: number;
  ncell: number;
}

/** The leaf pages of one table or index, from the dbstat virtual table (read before the damage is done). */
export function leafPages(file: string, name: string): PageInfo[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT pageno, ncell FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno").all(name) as PageInfo[];
  } finally {
    db.close();
  }
}

/** Overwrites one leaf page of `table` (one in the middle) with garbage. Returns the rows that page held. */
export async function garbleTablePage(file: string, table: string): Promise<{ pageno: number; lostRows: number }> {
  const leaves = leafPages(file, table);
  const victim = leaves[Math.floor(leaves.length / 2)];
  const garbage = Buffer.alloc(PAGE);
  // Seeded, not random: the same garbage every run, so a failure can be replayed.
  for (let i = 0; i < PAGE; i++) garbage[i] = (i * 131 + 7) & 0xff;
  const h = await open(file, "r+");
  try {
    await h.write(garbage, 0, PAGE, (victim.pageno - 1) * PAGE);
  } finally {
    await h.close();
  }
  return { pageno: victim.pageno, lostRows: victim.ncell };
}

/**
 * Rots one key inside a leaf page of `index`: a digit of a name is changed,
 * the page stays well-formed, so only the index disagrees with its table.
 */
export async function rotIndexEntry(file: string, index: string): Promise<void> {
  const leaf = leafPages(file, index)[0];
  const h = await open(file, "r+");
  try {
    const page = Buffer.alloc(PAGE);
    await h.read(page, 0, PAGE, (leaf.pageno - 1) * PAGE);
    // The first live cell (the cell pointer array starts at byte 8 of an index leaf page), not
    // stale bytes in the page's free space, which no check reads.
    const at = page.indexOf("name-", page.readUInt16BE(8), "latin1");
    if (at < 0) throw new Error(`no key found on index page ${leaf.pageno}`);
    page[at + 5] = page[at + 5] === 0x39 ? 0x38 : 0x39;
    await h.write(page, 0, PAGE, (leaf.pageno - 1) * PAGE);
  } finally {
    await h.close();
  }
}

/** Cuts the file to `keepPages` pages. Returns the rows of `table` on the pages kept. */
export async function truncateDb(file: string, keepPages: number, table: string): Promise<{ keptRows: number }> {
  const keptRows = leafPages(file, table)
    .filter((p) => p.pageno <= keepPages)
    .reduce((n, p) => n + p.ncell, 0);
  await truncate(file, keepPages * PAGE);
  return { keptRows };
}

/**
 * A crash in the middle of a transaction: the database file already holds
 * some of its changes (a small cache forces them out) and the -journal the
 * old pages. Copies both while the transaction is open, as a power cut would
 * leave them, to `to` and `to-journal`.
 */
export async function withHotJournal(from: string, to: string): Promise<void> {
  const db = new Database(from);
  try {
    db.pragma("cache_size = 5");
    db.exec("BEGIN IMMEDIATE");
    db.exec("DELETE FROM items WHERE id % 2 = 0");
    db.exec("UPDATE items SET body = randomblob(400)");
    if (!existsSync(`${from}-journal`)) throw new Error("no journal was written");
    await copyFile(from, to);
    await copyFile(`${from}-journal`, `${to}-journal`);
    db.exec("ROLLBACK");
  } finally {
    db.close();
  }
}

/**
 * A WAL database whose last `walRows` committed rows are only in the -wal
 * (no checkpoint ran): copies the file and its -wal, as a crash of the
 * application would leave them (no -shm: that is rebuilt from the -wal).
 */
export async function withCommittedWal(from: string, to: string, walRows: number): Promise<void> {
  const db = new Database(from);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("wal_autocheckpoint = 0");
    db.pragma("wal_checkpoint(TRUNCATE)");
    const ins = db.prepare("INSERT INTO items (name, body) VALUES (?, randomblob(300))");
    db.transaction(() => {
      for (let i = 0; i < walRows; i++) ins.run(`wal-${i}`);
    })();
    await copyFile(from, to);
    await copyFile(`${from}-wal`, `${to}-wal`);
  } finally {
    db.close();
  }
}

/** SHA-256 of each file of the set that exists (absent ones as null): the proof nothing was written. */
export async function hashFileSet(file: string): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const f of sqliteFileSet(file)) {
    out[f] = existsSync(f) ? createHash("sha256").update(await readFile(f)).digest("hex") : null;
  }
  return out;
}
