/**
 * Issue 13 row 6: an application committing every 5 ms (writerProc.ts)
 * while `triplicate backup` runs to three local folders, against the same
 * writer with no backup. Writer p99 / max commit latency and SQLITE_BUSY
 * count, per variant, to tell CPU from I/O from locks:
 *  - plain; `nice -n 19` (CPU priority only); `ionice -c 3` (I/O only);
 *    both; staging on tmpfs (/dev/shm: no staging write-back to disk).
 * The check workers are always niced to 10 by the backup itself.
 * Local destinations on purpose: the whole load is then the backup's own
 * process tree, which is what the priorities reach (loopback sshd and
 * s3rver would compete for the cores as no real NAS or S3 does).
 * Variants are interleaved, one of each per round.
 */
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ensureDatabase, median, ratio, ROOT, warm, type Row } from "./lib.js";
import { triplicate, type BenchContext, type BenchResult } from "./context.js";
import { writeBenchConfig } from "./servers.js";

interface Window { p50: number; p99: number; max: number; commits: number; busy: number }

function summarize(samples: [number, number][], from: number, to: number): Window {
  const inside = samples.filter(([t]) => t >= from && t <= to);
  const ok = inside.map(([, l]) => l).filter((l) => l >= 0).sort((a, b) => a - b);
  const q = (p: number) => Math.round((ok[Math.min(ok.length - 1, Math.floor(ok.length * p))] ?? 0) * 100) / 100;
  return { p50: q(0.5), p99: q(0.99), max: q(1), commits: ok.length, busy: inside.length - ok.length };
}

/** Starts the writer, lets it settle, runs `during`, and returns its commits inside that window. */
async function withWriter<T>(db: string, work: string, sync: string, during: () => Promise<T>): Promise<{ w: Window; out: T }> {
  const stop = path.join(work, "stop");
  const result = path.join(work, "writer.json");
  await rm(stop, { force: true });
  const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "bench/writerProc.ts"), db, stop, result, sync, "5000"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  await new Promise((r) => setTimeout(r, 500));
  const from = Date.now();
  const out = await during();
  const to = Date.now();
  await writeFile(stop, "");
  if ((await exited) !== 0) throw new Error("the writer failed (see its stderr above)");
  return { w: summarize(JSON.parse(readFileSync(result, "utf8")), from, to), out };
}

export async function writerBench(ctx: BenchContext): Promise<BenchResult> {
  const { sizeMB, runs, writerSync } = ctx.opts;
  const work = path.join(ctx.opts.dir, `writer-${sizeMB}mb`);
  await mkdir(work, { recursive: true });
  const db = path.join(work, "app.db");
  ensureDatabase(db, sizeMB);
  const backup = async (wrap: string[], staging?: string) => {
    await rm(path.join(work, "dests"), { recursive: true, force: true });
    const cfg = path.join(work, "bench.yml");
    const env = await writeBenchConfig(cfg, db, work, ["d1", "d2", "d3"].map((d) => ({ kind: "local" as const, name: d, place: `dests/${d}` })), ctx.servers, { staging, extra: ["unchanged: upload"] });
    warm(db);
    return triplicate(["backup", "--init", "--config", cfg], env, wrap);
  };
  const tmpfs = "/dev/shm/triplicate-bench-staging";
  const variants: { name: string; wrap: string[]; staging?: string }[] = [
    { name: "plain", wrap: [] },
    { name: "nice -n 19 (CPU)", wrap: ["nice", "-n", "19"] },
    { name: "ionice -c 3 (I/O)", wrap: ["ionice", "-c", "3"] },
    { name: "nice -n 19 ionice -c 3", wrap: ["nice", "-n", "19", "ionice", "-c", "3"] },
    { name: "staging on tmpfs", wrap: [], staging: tmpfs },
  ];
  const got: Record<string, { w: Window; seconds: number; rss: number }[]> = { baseline: [] };
  let lastSeconds = 2;
  // --quick: one round (five backups and a baseline) is enough to prove the row works.
  const rounds = ctx.opts.quick ? 1 : runs;
  for (let round = 0; round < rounds; round++) {
    for (const v of variants) {
      const r = await withWriter(db, work, writerSync, () => backup(v.wrap, v.staging));
      (got[v.name] ??= []).push({ w: r.w, seconds: r.out.seconds, rss: r.out.peakRssMB });
      if (v.name === "plain") lastSeconds = r.out.seconds;
      console.error(`writer, ${v.name}: backup ${r.out.seconds} s; p99 ${r.w.p99} ms, max ${r.w.max} ms, ${r.w.busy} BUSY in ${r.w.commits}`);
      if (v.name === "plain") {
        const b = await withWriter(db, work, writerSync, () => new Promise((res) => setTimeout(res, lastSeconds * 1000)));
        got.baseline.push({ w: b.w, seconds: lastSeconds, rss: 0 });
        console.error(`writer, no backup: p99 ${b.w.p99} ms, max ${b.w.max} ms`);
      }
    }
  }
  await rm(tmpfs, { recursive: true, force: true });
  const p99 = (name: string) => median(got[name].map((g) => g.w.p99));
  const base = p99("baseline");
  const rows: Row[] = variants.map((v) => {
    const g = got[v.name];
    const busy = g.reduce((s, x) => s + x.w.busy, 0);
    const commits = g.reduce((s, x) => s + x.w.commits, 0);
    return {
      job: `writer every 5 ms during backup, ${v.name}`, "hand-made / baseline": `p99 ${base} ms (no backup)`,
      triplicate: `p99 ${p99(v.name)} ms, max ${Math.max(...g.map((x) => x.w.max))} ms`, ratio: ratio(p99(v.name), base),
      "peak RSS MB": Math.max(...g.map((x) => x.rss)), notes: `${busy} SQLITE_BUSY in ${commits} commits; backup ${median(g.map((x) => x.seconds))} s; target p99 ≤ 2× baseline`,
    };
  });
  const scheduler = readdirSync("/sys/block").filter((d) => !d.startsWith("loop")).map((d) => { try { return `${d}: ${readFileSync(`/sys/block/${d}/queue/scheduler`, "utf8").trim()}`; } catch { return ""; } }).filter(Boolean);
  return { rows, json: { sizeMB, rounds, writerSync, ioScheduler: scheduler, variants: got } };
}
