/**
 * Issue 13 row 3 (first measured for issue 4): restore with full
 * verification from each destination (local, SFTP, S3) against the hand
 * recipe: fetch (`cp`, OpenSSH's `sftp`, the AWS SDK), `zstd -d`,
 * `integrity_check`. Alternated; every timed run starts after an untimed
 * sync, since each contender leaves the other ~1.5x the database dirty.
 */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { alternate, ensureDatabase, median, ratio, warm, type Row } from "./lib.js";
import { byHand, triplicate, type BenchContext, type BenchResult } from "./context.js";
import { handRestore } from "./handmade.js";
import { writeBenchConfig } from "./servers.js";

export async function restoreBench(ctx: BenchContext): Promise<BenchResult> {
  const { sizeMB, runs } = ctx.opts;
  const { sshd } = ctx.servers;
  const work = path.join(ctx.opts.dir, `restore-${sizeMB}mb`);
  await mkdir(work, { recursive: true });
  const db = path.join(work, "src.db");
  ensureDatabase(db, sizeMB);
  const out = path.join(work, "out");
  const cfg = path.join(work, "bench.yml");
  const env = await writeBenchConfig(cfg, db, work, [{ kind: "local", name: "local" }, { kind: "sftp", name: "nas", place: "restore-nas" }, { kind: "s3", name: "s3", place: "restore-s3" }], ctx.servers, { extra: ["unchanged: upload"] });
  await rm(path.join(work, "local"), { recursive: true, force: true });
  await rm(path.join(sshd.root, "restore-nas"), { recursive: true, force: true });
  warm(db);
  const backup = await triplicate(["backup", "--init", "--config", cfg], env);
  const run = backup.report.databases[0];
  const key: string = run.artifact.key;

  const fetch: Record<string, string> = {
    local: `cp '${path.join(work, "local", key)}' '${out}/hand.zst'`,
    nas: `echo 'get ${path.join(sshd.root, "restore-nas", key)} ${out}/hand.zst' | ${ctx.tools.sftp}`,
    s3: `${ctx.tools.s3} get 'restore-s3/${key}' '${out}/hand.zst'`,
  };
  const fresh = async () => {
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
  };
  const rows: Row[] = [];
  const json: unknown[] = [];
  for (const dest of ["local", "nas", "s3"]) {
    const r = await alternate(
      runs,
      async () => (await fresh(), triplicate(["restore", "bench", "--config", cfg, "--from", dest, "--to", path.join(out, "restored.db")], env)),
      async () => (await fresh(), byHand(handRestore(fetch[dest], out))),
    );
    const t = median(r.a.map((m) => m.seconds));
    const h = median(r.b.map((m) => m.seconds));
    console.error(`restore from ${dest}: triplicate ${r.a.map((m) => m.seconds).join(", ")} s; by hand ${r.b.map((m) => m.seconds).join(", ")} s`);
    rows.push({
      job: `restore with full verification from ${dest === "nas" ? "SFTP" : dest}, ${sizeMB} MiB`, "hand-made / baseline": `${h} s`, triplicate: `${t} s`, ratio: ratio(t, h),
      "peak RSS MB": `${Math.max(...r.a.map((m) => m.peakRssMB))} (anon ${Math.max(...r.a.map((m) => m.peakAnonMB))})`, notes: "target ≤ 1.0",
    });
    json.push({ from: dest, triplicate: r.a.map(({ report, ...m }) => m), byHand: r.b, ratio: ratio(t, h), handScript: handRestore(fetch[dest], out) });
  }
  await rm(out, { recursive: true, force: true });
  return { rows, json: { sizeMB, runs, artifactBytes: run.artifact.size, from: json } };
}
