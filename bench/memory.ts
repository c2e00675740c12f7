/**
 * Issue 13 row 5: peak RSS (and peak anonymous memory) of one backup to
 * local + SFTP + S3 at each size of --rss-sizes (1024 by default; --big adds
 * 4096, opt-in since generating 4 GiB takes minutes and disk). The hand-made
 * 3-2-1 pipeline's peak (its largest process) for scale. Target: ≤ 150 MB,
 * flat. The databases are kept under --dir and reused by the next run.
 */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { ensureDatabase, warm, type Row } from "./lib.js";
import { byHand, triplicate, type BenchContext, type BenchResult } from "./context.js";
import { handBackup321 } from "./handmade.js";
import { writeBenchConfig } from "./servers.js";

export async function memoryBench(ctx: BenchContext): Promise<BenchResult> {
  const rows: Row[] = [];
  const json: unknown[] = [];
  for (const mb of ctx.opts.rssSizesMB) {
    const work = path.join(ctx.opts.dir, `backup-${mb}mb`);
    await mkdir(work, { recursive: true });
    const db = path.join(work, "src.db");
    console.error(`bench memory: preparing a ${mb} MiB database in ${work}`);
    ensureDatabase(db, mb);
    const stamp = Date.now();
    await rm(path.join(work, "dests"), { recursive: true, force: true });
    const cfg = path.join(work, "memory.yml");
    const env = await writeBenchConfig(cfg, db, work, [
      { kind: "local", name: "local", place: "dests/local-mem" },
      { kind: "sftp", name: "nas", place: `mem-${stamp}` },
      { kind: "s3", name: "s3", place: `mem-${stamp}` },
    ], ctx.servers, { extra: ["unchanged: upload"] });
    warm(db);
    const t = await triplicate(["backup", "--init", "--config", cfg], env);
    await rm(path.join(ctx.servers.sshd.root, `mem-${stamp}`), { recursive: true, force: true });
    warm(db);
    const h = await byHand(handBackup321(db, work, ctx.tools, path.join(ctx.servers.sshd.root, "hand"), stamp));
    console.error(`memory ${mb} MiB: triplicate ${t.peakRssMB} MB (anon ${t.peakAnonMB}), ${t.seconds} s; by hand ${h.peakRssMB} MB`);
    rows.push({
      job: `peak RSS, 3-2-1 backup of ${mb} MiB`, "hand-made / baseline": `${h.peakRssMB} MB`, triplicate: `${t.peakRssMB} MB`, ratio: "",
      "peak RSS MB": `${t.peakRssMB} (anon ${t.peakAnonMB})`, notes: `target ≤ 150 MB, flat; backup ${t.seconds} s`,
    });
    json.push({ sizeMB: mb, triplicate: { seconds: t.seconds, peakRssMB: t.peakRssMB, peakAnonMB: t.peakAnonMB }, byHand: h });
  }
  return { rows, json: { sizes: json } };
}
