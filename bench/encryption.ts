/**
 * Issue 15: what age encryption costs a backup and a restore, and the `age`
 * CLI on the same artifact for scale. Target: flat memory, and wall time
 * that grows by no more than the cipher's cost.
 * npm run bench -- --only encryption [--size 200] [--runs 3]
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { BIN, ensureDatabase, flag, median, printTable, requireTools, timed, writeResult } from "./lib.js";

requireTools({ "/usr/bin/time": "time", age: "age", "age-keygen": "age" });
const sizeMB = Number(flag("size", "200"));
const runs = Number(flag("runs", "3"));
const work = path.join(os.tmpdir(), `triplicate-bench-encryption-${sizeMB}mb`);
await mkdir(work, { recursive: true });
const db = path.join(work, "src.db");
ensureDatabase(db, sizeMB);
const key = path.join(work, "key.txt");
await rm(key, { force: true });
const recipient = /age1[0-9a-z]+/.exec(spawnSync("age-keygen", ["-o", key], { encoding: "utf8" }).stderr)![0];

const rows: Record<string, string | number>[] = [];
try {
  for (const mode of ["zstd", "zstd+age"] as const) {
    const dest = path.join(work, `dest-${mode}`);
    await rm(dest, { recursive: true, force: true });
    const cfg = path.join(work, `${mode}.yml`);
    await writeFile(cfg, [
      "databases:", `  - { name: bench, path: ${JSON.stringify(db)} }`,
      "destinations:", `  - { name: disk, type: local, path: ${JSON.stringify(dest)} }`,
      "policy: { copies: 2, media: 1, offsite: 0 }", `staging: ${JSON.stringify(path.join(work, "staging"))}`,
      // Every run ships and encrypts in full; the default would record the unchanged database instead.
      "unchanged: upload",
      mode === "zstd+age" ? `encryption: { recipients: [${JSON.stringify(recipient)}] }` : "",
    ].join("\n"));
    const backups = [];
    for (let i = 0; i < runs; i++) backups.push(await timed(BIN, ["backup", ...(i === 0 ? ["--init"] : []), "--config", cfg, "--json", "--log-level", "warn"]));
    const out = path.join(work, `restored-${mode}.db`);
    await rm(out, { force: true });
    const restore = await timed(BIN, ["restore", "bench", "--config", cfg, "--to", out, "--log-level", "warn", ...(mode === "zstd+age" ? ["--identity", key] : [])]);
    const artifact = JSON.parse(backups[0].stdout).databases[0].artifact;
    rows.push({
      mode, artifactMB: Math.round(artifact.size / 2 ** 20), backupS: median(backups.map((b) => b.seconds)), backupPeakRssMB: Math.max(...backups.map((b) => b.peakRssMB)),
      backupPeakAnonMB: Math.max(...backups.map((b) => b.peakAnonMB)), restoreS: restore.seconds, restorePeakRssMB: restore.peakRssMB,
    });
  }
  // The age CLI on the unencrypted artifact: what the cipher costs in Go, for scale.
  const plainDir = path.join(work, "dest-zstd", "bench");
  const zst = path.join(plainDir, (await readdir(plainDir)).find((f) => f.endsWith(".sqlite.zst"))!);
  const cli = await timed("age", ["-r", recipient, "-o", path.join(work, "cli.age"), zst]);
  rows.push({ mode: "age CLI (encrypt the zstd artifact)", artifactMB: "", backupS: cli.seconds, backupPeakRssMB: cli.peakRssMB, backupPeakAnonMB: cli.peakAnonMB, restoreS: "", restorePeakRssMB: "" });
  printTable(rows);
  console.log(`load average: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} (${os.cpus().length} cores)`);
  console.log(`written: ${await writeResult("encryption", { sizeMB, runs, loadavg: os.loadavg(), rows })}`);
} finally {
  await rm(path.join(work, "staging"), { recursive: true, force: true });
}
