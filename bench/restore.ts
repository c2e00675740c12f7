/**
 * Issue 4: restore the database from each destination (local, SFTP, S3)
 * against doing it by hand: download + `zstd -d` + `sqlite3 "PRAGMA
 * integrity_check"`. Target: ratio ≤ 1.2 and flat memory.
 * npm run bench -- --only restore [--size 1024] [--runs 3]
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BIN, ensureDatabase, flag, median, printTable, requireTools, settleDisk, timed, writeResult } from "./lib.js";
import { startServers, writeBenchConfig } from "./servers.js";

requireTools({ "/usr/bin/time": "time", "/usr/sbin/sshd": "openssh-server", sqlite3: "sqlite3", zstd: "zstd", sftp: "openssh-client" });
const sizeMB = Number(flag("size", "256"));
const runs = Number(flag("runs", "3"));
const work = path.join(os.tmpdir(), `triplicate-bench-restore-${sizeMB}mb`);
await mkdir(work, { recursive: true });
const db = path.join(work, "src.db");
ensureDatabase(db, sizeMB);
const servers = await startServers();
const out = path.join(work, "out");

try {
  const cfg = path.join(work, "bench.yml");
  const env = await writeBenchConfig(cfg, db, work, [{ kind: "local", name: "local" }, { kind: "sftp", name: "nas" }, { kind: "s3", name: "s3" }], servers);
  const backup = await timed(BIN, ["backup", "--config", cfg, "--json", "--log-level", "warn"], env);
  const run = JSON.parse(backup.stdout).databases[0];
  if (run.exitCode !== 0) throw new Error(`backup failed: ${backup.stdout}`);
  const key: string = run.artifact.key;

  const knownHosts = path.join(work, "known_hosts");
  await writeFile(knownHosts, `[127.0.0.1]:${servers.sshd.port} ${servers.sshd.hostPublicKey}\n`);
  const s3Get = path.join(work, "s3get.mjs");
  await writeFile(
    s3Get,
    `import { S3Client, GetObjectCommand } from ${JSON.stringify(path.join(process.cwd(), "node_modules/@aws-sdk/client-s3/dist-cjs/index.js"))};
import { createWriteStream } from "node:fs"; import { pipeline } from "node:stream/promises";
const c = new S3Client({ endpoint: process.env.EP, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: process.env.K, secretAccessKey: process.env.S }, requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" });
const r = await c.send(new GetObjectCommand({ Bucket: process.env.B, Key: process.env.KEY }));
await pipeline(r.Body, createWriteStream(process.argv[2]));`,
  );
  const check = `zstd -q -d -f "$W/hand.zst" -o "$W/hand.db" && test "$(sqlite3 "$W/hand.db" 'PRAGMA integrity_check')" = ok`;
  const byHand: Record<string, string> = {
    local: `cp '${path.join(work, "local", key)}' "$W/hand.zst" && ${check}`,
    nas: `echo 'get ${path.join(servers.sshd.root, "nas", key)} '"$W/hand.zst" | sftp -q -b - -i '${servers.sshd.privateKeyPath}' -P ${servers.sshd.port} -o UserKnownHostsFile='${knownHosts}' ${servers.sshd.username}@127.0.0.1 >/dev/null && ${check}`,
    s3: `EP='${servers.s3.endpoint}' K='${servers.s3.accessKeyId}' S='${servers.s3.secretAccessKey}' B='${servers.s3.bucket}' KEY='s3/${key}' node '${s3Get}' "$W/hand.zst" && ${check}`,
  };

  const rows: Record<string, string | number>[] = [];
  for (const dest of ["local", "nas", "s3"]) {
    const ours: number[] = [];
    const hand: number[] = [];
    let rss = 0;
    let anon = 0;
    let handRss = 0;
    const runOurs = async () => {
      await rm(out, { recursive: true, force: true });
      await mkdir(out, { recursive: true });
      settleDisk();
      const t = await timed(BIN, ["restore", "bench", "--config", cfg, "--from", dest, "--to", path.join(out, "restored.db"), "--json", "--log-level", "warn"], env);
      if (JSON.parse(t.stdout).exitCode !== 0) throw new Error(`restore from ${dest} failed: ${t.stdout}`);
      ours.push(t.seconds);
      rss = Math.max(rss, t.peakRssMB);
      anon = Math.max(anon, t.peakAnonMB);
      return t;
    };
    const runHand = async () => {
      await rm(out, { recursive: true, force: true });
      await mkdir(out, { recursive: true });
      settleDisk();
      const h = await timed("bash", ["-c", `set -e; W='${out}'; ${byHand[dest]}`]);
      hand.push(h.seconds);
      handRss = Math.max(handRss, h.peakRssMB);
      return h;
    };
    for (let i = 0; i < runs; i++) {
      // Alternate who goes first, so neither always inherits the other's warm or cold caches.
      const oursFirst = i % 2 === 0 ? await runOurs() : undefined;
      const h = await runHand();
      const ourRun = oursFirst ?? (await runOurs());
      console.error(`restore from ${dest}: triplicate ${ourRun.seconds}s (RSS ${ourRun.peakRssMB} MB, anon ${ourRun.peakAnonMB} MB), by hand ${h.seconds}s`);
    }
    rows.push({
      from: dest, "triplicate s": median(ours), "by hand s": median(hand), ratio: Math.round((median(ours) / median(hand)) * 100) / 100,
      "peak RSS MB": rss, "peak anon MB": anon, "by hand peak RSS MB": handRss,
    });
  }
  printTable(rows);
  console.log(`target: ratio ≤ 1.2, flat memory; median of ${runs} runs, disk synced (untimed) before each; anon = peak anonymous memory (RssAnon, sampled); ${sizeMB} MiB database (${Math.round(run.artifact.size / 2 ** 20)} MiB artifact)`);
  console.log(`wrote ${await writeResult(`restore-${sizeMB}mb`, { bench: "restore", sizeMB, runs, artifactBytes: run.artifact.size, rows, byHand, targets: { ratio: 1.2 } })}`);
} finally {
  await servers.stop();
  await rm(out, { recursive: true, force: true });
}
