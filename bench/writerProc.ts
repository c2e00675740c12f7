/**
 * The application in the writer row (bench/writer.ts): commits one small
 * row every 5 ms until the stop file appears, timing each commit, then
 * writes every sample (epoch ms, latency ms; latency -1 for SQLITE_BUSY) to
 * the result file. A tight synchronous loop on purpose: the event loop adds
 * no latency of its own. Args: db stopFile resultFile synchronous busyTimeoutMs.
 */
import Database from "better-sqlite3";
import { existsSync, writeFileSync } from "node:fs";

const [file, stopFile, resultFile, sync, busyMs] = process.argv.slice(2);
const db = new Database(file, { timeout: Number(busyMs) });
db.pragma("journal_mode = WAL");
db.pragma(`synchronous = ${sync === "normal" ? "NORMAL" : "FULL"}`);
db.exec("CREATE TABLE IF NOT EXISTS writer_log (id INTEGER PRIMARY KEY, at REAL, note TEXT)");
const ins = db.prepare("INSERT INTO writer_log (at, note) VALUES (?, ?)");
const commit = db.transaction((at: number) => ins.run(at, "order placed; basket of three items; paid by card"));
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const samples: [number, number][] = [];
process.stdout.write("ready\n");
let next = performance.now();
while (!existsSync(stopFile)) {
  const t0 = performance.now();
  try {
    commit(Date.now());
    samples.push([performance.timeOrigin + t0, performance.now() - t0]);
  } catch (e) {
    if (!String((e as { code?: string }).code).startsWith("SQLITE_BUSY")) throw e;
    samples.push([performance.timeOrigin + t0, -1]);
  }
  next += 5;
  const wait = next - performance.now();
  if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
  else next = performance.now();
}
db.close();
writeFileSync(resultFile, JSON.stringify(samples));
