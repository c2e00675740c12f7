/**
 * npm run bench -- [--size MB] [--runs N]
 *
 * Times `triplicate backup` to three local destinations against doing the
 * same by hand: `sqlite3 .backup` + `zstd -3 -T0` + `sha256sum` + three `cp`.
 * Prints a table and writes bench/results/backup-<size>mb.json.
 * Targets (issue 2): ratio ≤ 1.5 and peak RSS ≤ 150 MB on 1 GiB.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BIN, ensureDatabase, flag, median, printTable, requireTools, timed, warm, writeResult } from "./lib.js";

requireTools({ sqlite3: "sqlite3", zstd: "zstd", sha256sum: "coreutils", "/usr/bin/time": "time" });
const sizeMB = Number(flag("size", "256"));
const runs = Number(flag("runs", "3"));
const work = path.join(flag("dir", os.tmpdir()), `triplicate-bench-${sizeMB}mb`);
await mkdir(work, { recursive: true });
const db = path.join(work, "src.db");
console.error(`bench: preparing a ${sizeMB} MiB database in ${work}`);
ensureDatabase(db, sizeMB);

const dests = ["d1", "d2", "d3"].map((d) => path.join(work, d));
const cfg = path.join(work, "triplicate.yml");
await writeFile(
  cfg,
  [
    "databases:",
    `  - { name: bench, path: ${JSON.stringify(db)} }`,
    "destinations:",
    ...dests.map((d, i) => `  - { name: ${path.basename(d)}, type: local, path: ${JSON.stringify(d)}, medium: m${i}${i === 2 ? ", offsite: true" : ""} }`),
    "compression: { algorithm: zstd, level: 3 }",
    `staging: ${JSON.stringify(path.join(work, "staging"))}`,
  ].join("\n"),
);
const byHand = [
  `set -e`,
  `sqlite3 '${db}' ".backup '${work}/hand.db'"`,
  `zstd -q -f -3 -T0 '${work}/hand.db' -o '${work}/hand.db.zst'`,
  `sha256sum '${work}/hand.db.zst' > /dev/null`,
  ...dests.map((d) => `mkdir -p '${d}-hand' && cp '${work}/hand.db.zst' '${d}-hand/'`),
  `rm -f '${work}/hand.db'`,
].join("\n");

const ours: { seconds: number; peakRssMB: number }[] = [];
const hand: { seconds: number; peakRssMB: number }[] = [];
for (let i = 0; i < runs; i++) {
  for (const d of dests) await rm(d, { recursive: true, force: true }), await rm(`${d}-hand`, { recursive: true, force: true });
  warm(db);
  const t = await timed(BIN, ["backup", "--config", cfg, "--json", "--log-level", "warn"]);
  const report = JSON.parse(t.stdout);
  if (report.exitCode !== 0) throw new Error(`triplicate exited ${report.exitCode}`);
  ours.push({ seconds: t.seconds, peakRssMB: t.peakRssMB });
  warm(db);
  hand.push(await timed("bash", ["-c", byHand]));
  console.error(`run ${i + 1}/${runs}: triplicate ${t.seconds}s (${t.peakRssMB} MB), by hand ${hand[i].seconds}s`);
}

const result = {
  bench: "backup",
  sizeMB,
  runs,
  host: { cpus: os.cpus().length, node: process.version },
  triplicate: { medianSeconds: median(ours.map((m) => m.seconds)), peakRssMB: Math.max(...ours.map((m) => m.peakRssMB)), runs: ours },
  byHand: { medianSeconds: median(hand.map((m) => m.seconds)), peakRssMB: Math.max(...hand.map((m) => m.peakRssMB)), runs: hand, script: byHand },
  ratio: 0,
  targets: { ratio: 1.5, peakRssMB: 150 },
};
result.ratio = Math.round((result.triplicate.medianSeconds / result.byHand.medianSeconds) * 100) / 100;
printTable([
  { contender: "triplicate backup (3 local, verified)", "median s": result.triplicate.medianSeconds, "peak RSS MB": result.triplicate.peakRssMB },
  { contender: "sqlite3 .backup + zstd -3 -T0 + sha256sum + 3x cp", "median s": result.byHand.medianSeconds, "peak RSS MB": result.byHand.peakRssMB },
]);
console.log(`ratio ${result.ratio} (target ≤ ${result.targets.ratio}); ${sizeMB} MiB database, ${runs} runs`);
console.log(`wrote ${await writeResult(`backup-${sizeMB}mb`, result)}`);
