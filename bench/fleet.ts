/**
 * Issue 13 row 4: fleets. N databases of ~1 MB (one glob entry,
 * `path: dir/*.db`) to local + SFTP + S3 in one run, for each N of --fleet;
 * then a second run with nothing changed, where the default
 * `unchanged: record` writes a small record per destination instead of
 * uploading. Time, time per database, peak RSS; "linear" compares the time
 * per database of each N with that of the smallest. One run per N (a 1000-db
 * run takes minutes); no hand-made side (a shell loop over 1000 files is no
 * standard tool). Connections: every run counts the SSH logins in sshd's log;
 * the S3 connections are counted once, in an extra untimed run of the
 * smallest N through a TCP relay on loopback (a relay in the timed runs would
 * add its own copying to the times).
 */
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { ensureDatabase, ratio, type Row } from "./lib.js";
import { triplicate, type BenchContext, type BenchResult } from "./context.js";
import { writeBenchConfig } from "./servers.js";
import { startFaultProxy } from "../test/helpers/faultProxy.js";

async function makeFleet(dir: string, template: string, n: number): Promise<void> {
  const have = await readdir(dir).catch(() => [] as string[]);
  if (have.filter((f) => f.endsWith(".db")).length === n) return;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) await copyFile(template, path.join(dir, `tenant${String(i).padStart(4, "0")}.db`));
}

/**
 * A config for the fleet in `dir` (one glob) to fresh places on local + SFTP
 * + S3 named after `label`; `servers` may put a relay in front of S3.
 */
async function writeFleetConfig(ctx: BenchContext, work: string, dir: string, label: string, servers = ctx.servers): Promise<{ cfg: string; env: NodeJS.ProcessEnv }> {
  await rm(path.join(ctx.servers.sshd.root, label), { recursive: true, force: true });
  const cfg = path.join(work, `${label}.yml`);
  const env = await writeBenchConfig(cfg, "", work, [
    { kind: "local", name: "local", place: `dests/${label}` },
    { kind: "sftp", name: "nas", place: label },
    { kind: "s3", name: "s3", place: `${label}-${Date.now()}` },
  ], servers, { databaseLine: `  - { path: ${JSON.stringify(path.join(dir, "*.db"))} }`, extra: ["unchanged: record"] });
  return { cfg, env };
}

/** SSH logins sshd accepted while `fn` ran (sshd logs each one). */
async function countingLogins<T>(ctx: BenchContext, fn: () => Promise<T>): Promise<{ result: T; sftpLogins: number }> {
  const logins = async () => ((await ctx.servers.sshd.log()).match(/Accepted publickey/g) ?? []).length;
  const before = await logins();
  const result = await fn();
  return { result, sftpLogins: (await logins()) - before };
}

export async function fleetBench(ctx: BenchContext): Promise<BenchResult> {
  const work = path.join(ctx.opts.dir, "fleet");
  await mkdir(work, { recursive: true });
  const template = path.join(work, "template.db");
  ensureDatabase(template, ctx.opts.fleetDbMB);
  const rows: Row[] = [];
  const json: Record<string, unknown>[] = [];
  let firstPerDb = 0;
  let s3Connections: { n: number; connections: number; sftpLogins: number } | undefined;
  for (const n of ctx.opts.fleet) {
    const dir = path.join(work, `n${n}`);
    await makeFleet(dir, template, n);
    await rm(path.join(work, "dests"), { recursive: true, force: true });
    const { cfg, env } = await writeFleetConfig(ctx, work, dir, `fleet-${n}`);
    const warmAll = () => spawnSync("sh", ["-c", `cat '${dir}'/*.db > /dev/null`]);
    warmAll();
    const { result: changed, sftpLogins } = await countingLogins(ctx, () => triplicate(["backup", "--init", "--config", cfg], env));
    warmAll();
    const { result: same, sftpLogins: sftpLoginsUnchanged } = await countingLogins(ctx, () => triplicate(["backup", "--config", cfg], env));
    const recorded = same.report.databases.filter((d: any) => d.unchanged).length;
    if (n === ctx.opts.fleet[0]) s3Connections = await countS3Connections(n, dir, work, ctx);
    const perDb = changed.seconds / n;
    firstPerDb ||= perDb;
    console.error(`fleet ${n}: ${changed.seconds} s (${perDb.toFixed(3)} s/db, ${changed.peakRssMB} MB); unchanged ${same.seconds} s (${recorded}/${n} recorded)`);
    rows.push({
      job: `fleet: ${n} × ${ctx.opts.fleetDbMB} MB to local + SFTP + S3`, "hand-made / baseline": "", triplicate: `${changed.seconds} s (${(perDb * 1000).toFixed(0)} ms/db)`,
      ratio: `linear ${ratio(perDb, firstPerDb)}`, "peak RSS MB": `${changed.peakRssMB} (anon ${changed.peakAnonMB})`,
      notes: `1000: target ≤ 60 s, ≤ 150 MB; ratio = ms/db over the smallest N's; SSH logins ${sftpLogins}${s3Connections ? `; S3 connections ${s3Connections.connections} (counted at N=${s3Connections.n})` : ""}`,
    });
    rows.push({
      job: `fleet: ${n}, second run, nothing changed`, "hand-made / baseline": `${changed.seconds} s (first run)`, triplicate: `${same.seconds} s`,
      ratio: ratio(same.seconds, changed.seconds), "peak RSS MB": `${same.peakRssMB} (anon ${same.peakAnonMB})`, notes: `${recorded}/${n} recorded as unchanged; SSH logins ${sftpLoginsUnchanged}`,
    });
    const slim = ({ report, ...m }: any) => m;
    json.push({ n, dbMB: ctx.opts.fleetDbMB, changed: { ...slim(changed), sftpLogins }, unchanged: { ...slim(same), recorded, sftpLogins: sftpLoginsUnchanged }, secondsPerDb: perDb });
  }
  return { rows, json: { fleets: json, connections: s3Connections } };
}

/**
 * An untimed first run of `n` databases to fresh places, with S3 behind a
 * counting TCP relay: how many connections the run opened to each server.
 */
async function countS3Connections(n: number, dir: string, work: string, ctx: BenchContext): Promise<{ n: number; connections: number; sftpLogins: number }> {
  const relay = await startFaultProxy({ port: Number(new URL(ctx.servers.s3.endpoint).port) });
  try {
    const servers = { ...ctx.servers, s3: { ...ctx.servers.s3, endpoint: relay.url } };
    const { cfg, env } = await writeFleetConfig(ctx, work, dir, `fleet-${n}-count`, servers);
    const { sftpLogins } = await countingLogins(ctx, () => triplicate(["backup", "--init", "--config", cfg], env));
    console.error(`fleet ${n} (counting run): ${relay.stats.connections} S3 connections, ${sftpLogins} SSH logins`);
    return { n, connections: relay.stats.connections, sftpLogins };
  } finally {
    await relay.close();
    await rm(path.join(work, "dests", `fleet-${n}-count`), { recursive: true, force: true });
  }
}
