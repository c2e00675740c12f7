/**
 * SQLite's own recovery: the sqlite3 shell's `.recover` reads every page it
 * can, also rows no b-tree leads to any more (put in lost_and_found). It
 * needs the sqlite_dbpage table in the shell's SQLite, which some builds
 * leave out (Debian 12's 3.40.1 prints "SQL logic error"): so it is tried on
 * a small good database first, and used only when that works.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";

export interface RecoverAvailability {
  available: boolean;
  /** The shell's version, or why it cannot be used. */
  detail: string;
}

function run(args: string[], opts: { stdinFrom?: ReturnType<typeof spawn> } = {}): { child: ReturnType<typeof spawn>; done: Promise<{ code: number; stderr: string }> } {
  const child = spawn("sqlite3", args, { stdio: [opts.stdinFrom ? "pipe" : "ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  if (opts.stdinFrom) opts.stdinFrom.stdout!.pipe(child.stdin!);
  const done = new Promise<{ code: number; stderr: string }>((resolve) => {
    child.on("error", (err) => resolve({ code: -1, stderr: err.message }));
    child.on("close", (code) => resolve({ code: code ?? -1, stderr }));
  });
  return { child, done };
}

/** `.recover` from `source` (opened -readonly) straight into a new database `out`. */
export async function recoverInto(source: string, out: string): Promise<{ ok: boolean; error?: string }> {
  const reader = run(["-readonly", source, ".recover"]);
  const writer = run([out], { stdinFrom: reader.child });
  const [r, w] = await Promise.all([reader.done, writer.done]);
  if (r.code !== 0) return { ok: false, error: `sqlite3 .recover exited ${r.code}: ${r.stderr.trim()}` };
  if (w.code !== 0) return { ok: false, error: `sqlite3 (writing ${out}) exited ${w.code}: ${w.stderr.trim()}` };
  return { ok: true };
}

/** Whether `sqlite3 .recover` works here: a small good database must come back whole. */
export async function recoverAvailable(): Promise<RecoverAvailability> {
  const version = run(["-version"]);
  let text = "";
  version.child.stdout!.on("data", (d) => (text += d));
  if ((await version.done).code !== 0) return { available: false, detail: "no sqlite3 shell on PATH" };
  const shell = `sqlite3 ${text.split(" ")[0]}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), "triplicate-recover-probe-"));
  try {
    const good = path.join(dir, "good.db");
    const db = new Database(good);
    db.exec("CREATE TABLE t (a); INSERT INTO t VALUES (1), (2), (3);");
    db.close();
    const res = await recoverInto(good, path.join(dir, "out.db"));
    if (!res.ok) return { available: false, detail: `${shell}: .recover does not work in this build (${res.error})` };
    const back = new Database(path.join(dir, "out.db"), { readonly: true });
    try {
      const n = Number(back.prepare("SELECT count(*) FROM t").pluck().get());
      return n === 3 ? { available: true, detail: shell } : { available: false, detail: `${shell}: .recover lost rows of a good database` };
    } finally {
      back.close();
    }
  } catch (err) {
    return { available: false, detail: `${shell}: .recover does not work in this build (${(err as Error).message})` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
