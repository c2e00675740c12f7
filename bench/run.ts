/**
 * npm run bench -- [--quick] [--only backup,restore,fleet,memory,writer]
 *   [--size MB] [--runs N] [--fleet 100,300,1000] [--fleet-db-mb 1]
 *   [--rss-sizes 1024,4096 | --big] [--writer-sync full|normal] [--dir D]
 *
 * Every comparison of issue 13 in one invocation: starts sshd and s3rver on
 * loopback, runs each bench, prints one table (medians of alternated runs,
 * ratios, peak RSS) and writes bench/results/bench-<stamp>.json (and
 * bench/results/latest.json). The older single benches still run alone:
 * `--only network` or `--only encryption` (issues 3 and 15).
 */
import os from "node:os";
import { spawnSync } from "node:child_process";
import { flag, printTable, requireTools, writeResult, type Row } from "./lib.js";
import { benchOptions } from "./options.js";
import { startServers } from "./servers.js";
import { handTools } from "./handmade.js";
import type { BenchContext, BenchResult } from "./context.js";
import { backupBench } from "./backup.js";
import { restoreBench } from "./restore.js";
import { fleetBench } from "./fleet.js";
import { memoryBench } from "./memory.js";
import { writerBench } from "./writer.js";

const benches: Record<string, (ctx: BenchContext) => Promise<BenchResult>> = {
  backup: backupBench, restore: restoreBench, fleet: fleetBench, memory: memoryBench, writer: writerBench,
};
const legacy = ["network", "encryption"];
const only = flag("only", Object.keys(benches).join(",")).split(",");
const unknown = only.filter((n) => !benches[n] && !legacy.includes(n));
if (unknown.length) {
  console.error(`unknown bench ${unknown.join(", ")}; choose from ${[...Object.keys(benches), ...legacy].join(", ")}`);
  process.exit(2);
}
for (const name of only.filter((n) => legacy.includes(n))) await import(`./${name}.js`);
const chosen = only.filter((n) => benches[n]);
if (chosen.length) await main(chosen);

async function main(names: string[]): Promise<void> {
  requireTools({ sqlite3: "sqlite3", zstd: "zstd", sha256sum: "coreutils", sftp: "openssh-client", "/usr/sbin/sshd": "openssh-server", "/usr/bin/time": "time", ionice: "util-linux" });
  const opts = benchOptions();
  spawnSync("mkdir", ["-p", opts.dir]);
  const started = new Date();
  console.error(`bench: ${names.join(", ")}; ${JSON.stringify(opts)}`);
  const servers = await startServers();
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  try {
    const ctx: BenchContext = { opts, servers, tools: await handTools(opts.dir, servers) };
    for (const name of names) {
      console.error(`\n== bench: ${name} ==`);
      const r = await benches[name](ctx);
      rows.push(...r.rows);
      results[name] = r.json;
    }
  } finally {
    await servers.stop();
  }
  console.log(`\nTriplicate against the hand-made pipeline (${opts.quick ? "--quick: proves the bench works, figures mean little" : `${opts.sizeMB} MiB, medians of ${opts.runs} alternated runs`})`);
  printTable(rows);
  const host = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadavg: os.loadavg() };
  console.log(`host: ${host.cpus} cores (${host.cpuModel}), ${host.memGiB} GiB, Node ${host.node}, load ${host.loadavg.map((l) => l.toFixed(1)).join(" ")}`);
  const data = { bench: "issue-13", started: started.toISOString(), seconds: Math.round((Date.now() - started.getTime()) / 1000), options: opts, host, rows, results };
  await writeResult("latest", data);
  console.log(`wrote ${await writeResult(`bench-${started.toISOString().replace(/[:.]/g, "-")}`, data)} (and bench/results/latest.json)`);
}
