/**
 * `doctor DB --salvage OUT`: every readable row into a new database. Written
 * under a temporary name beside OUT, checked (integrity_check must say ok),
 * then linked to OUT, which fails if OUT appeared meanwhile: doctor never
 * writes over a file.
 */
import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { link, rm } from "node:fs/promises";
import path from "node:path";
import { UsageError, TriplicateError } from "../runtime/errors.js";
import { removeSqliteFiles } from "../runtime/sqliteFiles.js";
import { createPrivateFile } from "../runtime/privateFiles.js";
import { countRows } from "../snapshot/checks.js";
import { openForDoctor, runCheck } from "./checks.js";
import { salvageRows, type TableSalvage } from "./salvageRows.js";
import { recoverAvailable, recoverInto } from "./salvageRecover.js";
import type { LatestSnapshot } from "./snapshots.js";

export type SalvageMethod = "auto" | "recover" | "rows";

export interface SalvageReport {
  out: string;
  method: "recover" | "rows";
  /** Why .recover was or was not used. */
  methodDetail: string;
  integrityCheck: "ok";
  tables: { table: string; recovered: number; inSnapshot: number | null; lostSinceSnapshot: number | null; skippedRanges?: number }[];
  /** The snapshot the counts are held against (the newest complete one on any destination). */
  comparedWith: { snapshotId: string; destination: string; createdAt: string } | null;
  /** `.recover` puts rows it found on no b-tree here. */
  lostAndFound?: number;
}

export class SalvageError extends TriplicateError {}

export function refuseExisting(out: string): void {
  if (existsSync(out)) throw new UsageError(`--salvage ${out}: the file exists; doctor never writes over a file: name a new one`);
}

export async function salvage(job: { source: string; writable: boolean; out: string; method: SalvageMethod; snapshot: LatestSnapshot | null; tmpSuffix: string }): Promise<SalvageReport> {
  const { out } = job;
  refuseExisting(out);
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.salvage-${job.tmpSuffix}`);
  await createPrivateFile(tmp, "wx");
  try {
    const { method, detail, perTable } = await fill(job, tmp);
    const db = new Database(tmp);
    let counts: Record<string, number>;
    try {
      db.pragma("journal_mode = DELETE");
      const check = runCheck(db, "integrity_check");
      if (!check.ok) throw new SalvageError(`the salvaged database fails integrity_check (${check.errors.slice(0, 3).join("; ") || check.aborted}); nothing was written to ${out}`);
      counts = countRows(db);
    } finally {
      db.close();
    }
    try {
      await link(tmp, out);
    } catch (err) {
      throw new SalvageError(`cannot create ${out}: ${(err as Error).message}; the salvage was discarded`, { cause: err });
    }
    return report(job, method, detail, counts, perTable);
  } finally {
    await removeSqliteFiles(tmp);
    await rm(tmp, { force: true });
  }
}

async function fill(job: { source: string; writable: boolean; method: SalvageMethod }, tmp: string): Promise<{ method: "recover" | "rows"; detail: string; perTable?: TableSalvage[] }> {
  if (job.method !== "rows") {
    const avail = await recoverAvailable();
    if (avail.available) {
      const res = await recoverInto(job.source, tmp);
      if (res.ok) return { method: "recover", detail: `${avail.detail} .recover` };
      if (job.method === "recover") throw new SalvageError(`${res.error}; try --method rows`);
      await rm(tmp, { force: true });
      await createPrivateFile(tmp, "wx");
      return { ...rows(job, tmp), detail: `row by row (${res.error})` };
    }
    if (job.method === "recover") throw new UsageError(`--method recover: ${avail.detail}; use --method rows (the row-by-row salvage) or install a sqlite3 shell built with sqlite_dbpage`);
    return { ...rows(job, tmp), detail: `row by row (${avail.detail})` };
  }
  return { ...rows(job, tmp), detail: "row by row (--method rows)" };
}

function rows(job: { source: string; writable: boolean }, tmp: string): { method: "rows"; perTable: TableSalvage[] } {
  const src = openForDoctor(job.source, job.writable);
  const out = new Database(tmp);
  try {
    return { method: "rows", perTable: salvageRows(src, out) };
  } finally {
    out.close();
    src.close();
  }
}

function report(
  job: { out: string; snapshot: LatestSnapshot | null },
  method: "recover" | "rows",
  methodDetail: string,
  counts: Record<string, number>,
  perTable?: TableSalvage[],
): SalvageReport {
  const snap = job.snapshot;
  const names = [...new Set([...Object.keys(counts), ...Object.keys(snap?.rowCounts ?? {})])].filter((t) => t !== "lost_and_found").sort();
  const tables = names.map((table) => {
    const recovered = counts[table] ?? 0;
    const inSnapshot = snap ? (snap.rowCounts[table] ?? null) : null;
    const skipped = perTable?.find((p) => p.table === table)?.skipped.length;
    return { table, recovered, inSnapshot, lostSinceSnapshot: inSnapshot === null ? null : Math.max(0, inSnapshot - recovered), ...(skipped ? { skippedRanges: skipped } : {}) };
  });
  return {
    out: job.out, method, methodDetail, integrityCheck: "ok", tables,
    comparedWith: snap ? { snapshotId: snap.snapshotId, destination: snap.destination, createdAt: snap.createdAt } : null,
    ...(counts.lost_and_found !== undefined ? { lostAndFound: counts.lost_and_found } : {}),
  };
}
