/**
 * Issue 13, rows 1 and 2: `triplicate backup` against the hand-made pipeline
 * (handmade.ts), alternated, the page cache warmed and the disk synced before
 * every timed run.
 *  - 3-2-1: local + SFTP (sshd) + S3 (s3rver), against snapshot, check,
 *    compress, hash, then cp ∥ sftp ∥ S3 put.
 *  - three local folders, against the same with three cp at once.
 * Every triplicate run goes to fresh places (`--init`), so nothing is
 * "unchanged"; `unchanged: upload` makes sure of it.
 */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { alternate, ensureDatabase, median, ratio, warm, type Row } from "./lib.js";
import { byHand, triplicate, type BenchContext, type BenchResult } from "./context.js";
import { handBackup321, handBackupLocal } from "./handmade.js";
import { writeBenchConfig, type BenchDest } from "./servers.js";

export async function backupBench(ctx: BenchContext): Promise<BenchResult> {
  const { sizeMB, runs } = ctx.opts;
  const work = path.join(ctx.opts.dir, `backup-${sizeMB}mb`);
  await mkdir(work, { recursive: true });
  const db = path.join(work, "src.db");
  console.error(`bench backup: preparing a ${sizeMB} MiB database in ${work}`);
  ensureDatabase(db, sizeMB);
  const sftpRoot = ctx.servers.sshd.root;

  let n = 0;
  const ours = async (dests: (i: number) => BenchDest[]) => {
    const i = n++;
    await rm(path.join(work, "dests"), { recursive: true, force: true });
    await rm(sftpRoot, { recursive: true, force: true }).then(() => mkdir(sftpRoot, { recursive: true }));
    const cfg = path.join(work, "bench.yml");
    const env = await writeBenchConfig(cfg, db, work, dests(i), ctx.servers, { extra: ["unchanged: upload"] });
    warm(db);
    return triplicate(["backup", "--init", "--config", cfg], env);
  };
  const hand = async (script: (i: number) => string) => {
    const i = n++;
    await rm(path.join(work, "hand-dests"), { recursive: true, force: true });
    await rm(path.join(work, "hand-local"), { recursive: true, force: true });
    warm(db);
    return byHand(script(i));
  };

  const three: (i: number) => BenchDest[] = (i) => [
    { kind: "local", name: "local", place: `dests/local-${i}` },
    { kind: "sftp", name: "nas", place: `nas-${i}` },
    { kind: "s3", name: "s3", place: `s3-${i}` },
  ];
  const locals: (i: number) => BenchDest[] = (i) => ["d1", "d2", "d3"].map((d) => ({ kind: "local" as const, name: d, place: `dests/${d}-${i}` }));
  const handDirs = ["h1", "h2", "h3"].map((d) => path.join(work, "hand-dests", d));

  const jobs = [
    { job: `3-2-1 backup, local + SFTP + S3, ${sizeMB} MiB`, ours: () => ours(three), hand: () => hand((i) => handBackup321(db, work, ctx.tools, path.join(sftpRoot, "hand"), i)) },
    { job: `backup to three local folders, ${sizeMB} MiB`, ours: () => ours(locals), hand: () => hand(() => handBackupLocal(db, work, handDirs)) },
  ];
  const rows: Row[] = [];
  const json: unknown[] = [];
  for (const j of jobs) {
    const r = await alternate(runs, j.ours, j.hand);
    const t = median(r.a.map((m) => m.seconds));
    const h = median(r.b.map((m) => m.seconds));
    const rss = Math.max(...r.a.map((m) => m.peakRssMB));
    console.error(`${j.job}: triplicate ${r.a.map((m) => m.seconds).join(", ")} s; by hand ${r.b.map((m) => m.seconds).join(", ")} s`);
    rows.push({ job: j.job, "hand-made / baseline": `${h} s`, triplicate: `${t} s`, ratio: ratio(t, h), "peak RSS MB": `${rss} (hand ${Math.max(...r.b.map((m) => m.peakRssMB))})`, notes: "target ≤ 0.6" });
    json.push({ job: j.job, triplicate: r.a.map(({ report, ...m }) => m), byHand: r.b, medianTriplicate: t, medianByHand: h, ratio: ratio(t, h) });
  }
  return { rows, json: { sizeMB, runs, jobs: json, handScripts: { "3-2-1": handBackup321(db, work, ctx.tools, path.join(sftpRoot, "hand"), 0), local: handBackupLocal(db, work, handDirs) } } };
}
