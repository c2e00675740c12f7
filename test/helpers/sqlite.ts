import Database from "better-sqlite3";
import { fork, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";

/** How many rows createSampleDb's `posts` table holds in `file` (opened read-only). */
export function countPosts(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM posts").pluck().get() as number;
  } finally {
    db.close();
  }
}

/** A small database with related tables, in WAL mode. Returns its row counts. */
export function createSampleDb(file: string, rows = 2000): Record<string, number> {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec(`
    CREATE TABLE IF NOT EXISTS authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors(id), body BLOB);
  `);
  const a = db.prepare("INSERT INTO authors (name) VALUES (?)");
  const p = db.prepare("INSERT INTO posts (author_id, body) VALUES (?, randomblob(300))");
  db.transaction(() => {
    for (let i = 1; i <= 50; i++) a.run(`author ${i}`);
    for (let i = 1; i <= rows; i++) p.run(1 + (i % 50));
  })();
  db.close();
  return { authors: 50, posts: rows };
}

/**
 * Another process that keeps committing to `file` until stopped, as a live
 * application does. Resolves once it has committed at least once.
 */
export async function startWriter(file: string, dir: string): Promise<{ stop: () => Promise<number> }> {
  const script = path.join(dir, "writer.cjs");
  await writeFile(
    script,
    `const Database = require(${JSON.stringify(require_resolve("better-sqlite3"))});
const db = new Database(process.argv[2]);
db.pragma("busy_timeout = 5000");
const ins = db.prepare("INSERT INTO posts (author_id, body) VALUES (1, randomblob(300))");
let n = 0;
const t = setInterval(() => { db.transaction(() => { for (let i = 0; i < 20; i++) ins.run(); })(); n += 20; if (n === 20) process.send("started"); }, 2);
process.on("message", () => { clearInterval(t); db.close(); process.send(n, () => process.exit(0)); });
`,
  );
  const child: ChildProcess = fork(script, [file], { stdio: "inherit" });
  await new Promise<void>((resolve) => child.once("message", () => resolve()));
  return {
    stop: () =>
      new Promise<number>((resolve) => {
        child.once("message", (n) => resolve(n as number));
        child.send("stop");
      }),
  };
}

function require_resolve(name: string): string {
  return new URL(import.meta.resolve(name)).pathname;
}
