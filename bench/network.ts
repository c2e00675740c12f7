/**
 * Issue 3: a database streamed through the network adapters (SFTP on real
 * OpenSSH, S3 on s3rver, both on loopback). Peak RSS must stay under 150 MB;
 * SFTP parallel (fastPut, OpenSSH) against sequential streaming.
 * npm run bench -- --only network [--size 200] [--runs 2]
 */
import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BIN, ensureDatabase, flag, median, printTable, requireTools, timed, warm, writeResult } from "./lib.js";
import { startServers, writeBenchConfig, type BenchDest } from "./servers.js";

requireTools({ "/usr/bin/time": "time", "/usr/sbin/sshd": "openssh-server" });
const sizeMB = Number(flag("size", "200"));
const runs = Number(flag("runs", "2"));
const work = path.join(os.tmpdir(), `triplicate-bench-net-${sizeMB}mb`);
await mkdir(work, { recursive: true });
const db = path.join(work, "src.db");
ensureDatabase(db, sizeMB);
const servers = await startServers();

const scenarios: { label: string; dests: BenchDest[] }[] = [
  { label: "sftp, transfer: auto (parallel on OpenSSH)", dests: [{ kind: "sftp", name: "nas-auto", transfer: "auto" }] },
  { label: "sftp, transfer: sequential", dests: [{ kind: "sftp", name: "nas-seq", transfer: "sequential" }] },
  { label: "s3 (s3rver, multipart)", dests: [{ kind: "s3", name: "s3only" }] },
  { label: "sftp + s3 in parallel (both network adapters)", dests: [{ kind: "sftp", name: "nas2" }, { kind: "s3", name: "s3b" }] },
  { label: "local + sftp + s3 in parallel", dests: [{ kind: "local", name: "local" }, { kind: "sftp", name: "nas" }, { kind: "s3", name: "s3" }] },
];

const pick = flag("scenario", "");
const chosen = pick ? scenarios.filter((s) => s.label.includes(pick)) : scenarios;
const rows: Record<string, string | number>[] = [];
const results: unknown[] = [];
try {
  for (const sc of chosen) {
    const cfg = path.join(work, "bench.yml");
    // Every run ships in full: the same database again would otherwise be recorded as unchanged.
    const env = await writeBenchConfig(cfg, db, work, sc.dests, servers, { extra: ["unchanged: upload"] });
    const samples: { seconds: number; peakRssMB: number; perDest: Record<string, number | null> }[] = [];
    for (let i = 0; i < runs; i++) {
      await rm(path.join(servers.sshd.root), { recursive: true, force: true }).then(() => mkdir(servers.sshd.root, { recursive: true }));
      warm(db);
      // --init: the SFTP folders were just removed, and a destination without its marker is refused.
      const t = await timed(BIN, ["backup", "--init", "--config", cfg, "--json", "--log-level", "warn"], env);
      const report = JSON.parse(t.stdout);
      if (report.exitCode !== 0) throw new Error(`${sc.label}: exit ${report.exitCode}: ${JSON.stringify(report.databases[0].destinations)}`);
      const perDest = Object.fromEntries(report.databases[0].destinations.map((d: any) => [d.destination, d.mbPerSec]));
      samples.push({ seconds: t.seconds, peakRssMB: t.peakRssMB, perDest });
      console.error(`${sc.label}: run ${i + 1}: ${t.seconds}s, ${t.peakRssMB} MB, MB/s per destination ${JSON.stringify(perDest)}`);
    }
    const row = {
      scenario: sc.label,
      "median s": median(samples.map((s) => s.seconds)),
      "peak RSS MB": Math.max(...samples.map((s) => s.peakRssMB)),
      "MB/s (upload+read-back) per destination": Object.entries(samples.at(-1)!.perDest).map(([k, v]) => `${k} ${v}`).join(", "),
    };
    rows.push(row);
    results.push({ ...row, samples });
  }
} finally {
  await servers.stop();
}
printTable(rows);
const maxRss = Math.max(...rows.map((r) => Number(r["peak RSS MB"])));
console.log(`peak RSS ${maxRss} MB (target < 150 MB); ${sizeMB} MiB database`);
console.log(`wrote ${await writeResult(`network-${sizeMB}mb`, { bench: "network", sizeMB, runs, scenarios: results, targets: { peakRssMB: 150 } })}`);
