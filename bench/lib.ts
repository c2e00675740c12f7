import Database from "better-sqlite3";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Run directly, as `npx triplicate` runs it, so the shebang's Node flags apply. */
export const BIN = path.join(ROOT, "dist/bin/triplicate.js");

export interface Measure {
  seconds: number;
  peakRssMB: number;
}

/** Parses `--name value` flags. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

export function requireTools(tools: Record<string, string>): void {
  const missing = Object.entries(tools).filter(([bin]) => spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0);
  if (missing.length) {
    console.error(`bench needs: ${missing.map(([b]) => b).join(", ")}. Install with: apt-get install -y ${[...new Set(missing.map(([, p]) => p))].join(" ")}`);
    process.exit(2);
  }
}

/**
 * Runs a command as a whole process under GNU time: wall seconds and the
 * peak RSS of the biggest process it waited for, plus the peak anonymous
 * memory (heap, buffers: RssAnon) of its process tree, sampled every 20 ms
 * (peak RSS alone also counts the pages of any memory-mapped file, which
 * are page cache the kernel can drop at will).
 */
export async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measure & { stdout: string; peakAnonMB: number }> {
  const child = spawn("/usr/bin/time", ["-f", "TIME %e %M", cmd, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  let peakAnonKB = 0;
  const sampler = setInterval(() => {
    const kb = descendants(child.pid!).reduce((sum, pid) => sum + anonKB(pid), 0);
    peakAnonKB = Math.max(peakAnonKB, kb);
  }, 20);
  const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(sampler);
  const m = /TIME ([\d.]+) (\d+)/.exec(stderr);
  if (status !== 0 || !m) throw new Error(`${cmd} ${args.join(" ")} failed (${status}):\n${stderr}`);
  return { seconds: Number(m[1]), peakRssMB: Math.round(Number(m[2]) / 1024), peakAnonMB: Math.round(peakAnonKB / 1024), stdout };
}

function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

function anonKB(pid: number): number {
  try {
    return Number(/RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Writes every dirty page to disk, untimed, before a timed run: otherwise a
 * contender pays for writing back what the previous one left in the page
 * cache (the by-hand recipe leaves ~1.5 GB dirty per 1 GiB restore).
 */
export function settleDisk(): void {
  spawnSync("sync");
}

/** Reads a file once so every contender starts from a warm page cache. */
export function warm(file: string): void {
  spawnSync("sh", ["-c", `cat '${file}' > /dev/null`]);
}

/**
 * A database of about `mb` MiB, shaped like real application data: a text
 * column that compresses well and a blob that does not (~60% compressible).
 * Reused across runs when it already has the size.
 */
export function ensureDatabase(file: string, mb: number): void {
  if (existsSync(file) && Math.abs(statSync(file).size / 2 ** 20 - mb) < mb * 0.05) return;
  spawnSync("rm", ["-f", file, `${file}-wal`, `${file}-shm`]);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, note TEXT, payload BLOB); CREATE INDEX items_name ON items(name);");
  const ins = db.prepare("INSERT INTO items (name, note, payload) VALUES (?, ?, randomblob(600))");
  // ~1.3 KB a row: small databases (a fleet's 1 MB tenants) grow in small steps, big ones as before.
  const batch = Math.min(20_000, Math.max(50, Math.round(mb * 100)));
  const note = "status=ok; region=eu-west; owner=team-storage; ".repeat(12);
  let i = 0;
  while (statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0) < mb * 2 ** 20) {
    db.transaction(() => {
      for (let k = 0; k < batch; k++, i++) ins.run(`item-${i % 100_000}`, note + i);
    })();
    db.pragma("wal_checkpoint(TRUNCATE)");
  }
  db.close();
}

/** Runs `a` and `b` `runs` times, alternating who goes first, so neither always inherits the other's caches. */
export async function alternate<A, B>(runs: number, a: () => Promise<A>, b: () => Promise<B>): Promise<{ a: A[]; b: B[] }> {
  const out = { a: [] as A[], b: [] as B[] };
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) out.a.push(await a()), out.b.push(await b());
    else out.b.push(await b()), out.a.push(await a());
  }
  return out;
}

/** A over B to two decimals. */
export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

/** One line of the combined table `npm run bench` prints (bench/run.ts). */
export type Row = {
  job: string;
  "hand-made / baseline": string | number;
  triplicate: string | number;
  ratio: string | number;
  "peak RSS MB": string | number;
  notes: string;
};

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function printTable(rows: Record<string, string | number>[]): void {
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join("  ");
  console.log(line(cols));
  console.log(line(width.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c]))));
}

export async function writeResult(name: string, data: unknown): Promise<string> {
  const dir = path.join(ROOT, "bench/results");
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(data, null, 2) + "\n");
  return file;
}
