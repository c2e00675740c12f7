import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `npm run demo`: the whole job on an embedded default, no servers. Creates a
 * small database in WAL mode with rows still in its -wal file (a writer
 * connection stays open with checkpoints off), writes a config with three
 * local folders labelled as different media, runs `triplicate backup`, and
 * lists what landed.
 */
const dir = path.resolve(process.env.TRIPLICATE_DEMO_DIR ?? ".demo");
// The bundled bin, exactly what `npx triplicate` runs (this file runs from dist/src/cli).
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/triplicate.js");

await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const dbPath = path.join(dir, "shop.db");

const db = new Database(dbPath);
db.pragma("journal_mode = WAL");
db.pragma("wal_autocheckpoint = 0"); // keep committed rows in the -wal file, as on a busy server
db.pragma("foreign_keys = ON");
db.exec(`
  CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), total_cents INTEGER, placed_at TEXT);
  CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, payload BLOB);
  CREATE INDEX orders_by_customer ON orders(customer_id);
`);
const addCustomer = db.prepare("INSERT INTO customers (name, email) VALUES (?, ?)");
const addOrder = db.prepare("INSERT INTO orders (customer_id, total_cents, placed_at) VALUES (?, ?, datetime('now', ?))");
const addEvent = db.prepare("INSERT INTO events (kind, payload) VALUES (?, randomblob(200))");
db.transaction(() => {
  for (let i = 1; i <= 500; i++) addCustomer.run(`Customer ${i}`, `c${i}@example.com`);
  for (let i = 1; i <= 5000; i++) addOrder.run(1 + (i % 500), 100 + ((i * 37) % 9000), `-${i % 90} days`);
  for (let i = 1; i <= 2000; i++) addEvent.run(i % 3 ? "view" : "buy");
})();

const config = `# Written by npm run demo. Three local folders stand in for three media.
databases:
  - { name: shop, path: ${JSON.stringify(dbPath)} }
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "backups/disk"))}, medium: disk, retention: { keepLast: 3, keepDaily: 7 } }
  - { name: usb, type: local, path: ${JSON.stringify(path.join(dir, "backups/usb"))}, medium: usb-disk, retention: { keepDaily: 14 } }
  - { name: cloud, type: local, path: ${JSON.stringify(path.join(dir, "backups/cloud-sync"))}, medium: cloud-sync, offsite: true, retention: { keepWeekly: 8 } }
policy: { copies: 3, media: 2, offsite: 1, maxAge: 26h }
staging: ${JSON.stringify(path.join(dir, "staging"))}
`;
const configPath = path.join(dir, "triplicate.yml");
await writeFile(configPath, config);

const walRows = db.prepare("SELECT count(*) FROM orders").pluck().get();
console.log(`demo: ${dbPath} (WAL, ${walRows} orders, all still in the -wal file); config ${configPath}\n`);

// The writer stays open during the backup, as a live application would. --init: the first run creates
// and marks the three folders; later runs (the "Try next" below) find the marks and need no flag.
const backup = spawnSync(bin, ["backup", "--init", "--config", configPath, "--tag", "demo", "--log-level", "warn"], { stdio: "inherit" });
db.close();
console.log(`\n$ triplicate list --config ${path.relative(process.cwd(), configPath)}`);
spawnSync(bin, ["list", "--config", configPath, "--log-level", "warn"], { stdio: "inherit" });
console.log(`\nTry next: npx triplicate backup --config ${path.relative(process.cwd(), configPath)} (run it a few times), then prune --dry-run`);
process.exitCode = backup.status ?? 1;
