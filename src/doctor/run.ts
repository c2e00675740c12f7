/**
 * `triplicate doctor DB`: a read-only diagnosis (header, side files, SQLite's
 * checks, the damage map, the latest snapshots, the options), then with
 * `--salvage OUT` every readable row into a new file, and with
 * `--backup-emergency` that file backed up as an `emergency` snapshot.
 */
import type { Config, DatabaseConfig } from "../config/schema.js";
import type { RunDeps } from "../runtime/context.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { openForDoctor, runChecks, type DbChecks } from "./checks.js";
import { mapDamage, tryReindex, type DamageMap } from "./damageMap.js";
import { findingsOf, type Verdict } from "./findings.js";
import { readHeader, type HeaderFacts } from "./header.js";
import { doctorOptions, type DoctorOption } from "./options.js";
import { refuseExisting, salvage, type SalvageMethod, type SalvageReport } from "./salvage.js";
import { readSideFiles, type SideFacts } from "./sideFiles.js";
import { latestSnapshots, newestOf, type DestinationLatest } from "./snapshots.js";
import { whyCopy, workCopy } from "./workCopy.js";
import { backupEmergency, type EmergencyReport } from "./emergency.js";

export interface DoctorOptions {
  full: boolean;
  salvage?: string;
  method: SalvageMethod;
  backupEmergency: boolean;
  /** Where private copies of the file set go (the staging folder when there is a config). */
  scratch?: string;
}

export interface DoctorReport {
  command: "doctor";
  exitCode: ExitCode;
  database: { name: string | null; path: string };
  verdict: Verdict;
  findings: string[];
  header: HeaderFacts & { fileSize: number };
  sideFiles: SideFacts;
  /** Why SQLite worked on a private copy of the file set; absent when it read the file in place, read-only. */
  examinedCopyBecause?: string;
  opens: boolean;
  openError?: string;
  checks?: DbChecks;
  damage?: DamageMap;
  snapshots: DestinationLatest[];
  options: DoctorOption[];
  salvage?: SalvageReport;
  emergency?: EmergencyReport;
}

interface Examined {
  copiedBecause?: string;
  openError?: string;
  checks?: DbChecks;
  damage?: DamageMap;
}

export async function runDoctor(target: { name: string | null; path: string; arg: string; db?: DatabaseConfig }, cfg: Config | null, opts: DoctorOptions, deps: RunDeps): Promise<DoctorReport> {
  if (opts.salvage) refuseExisting(opts.salvage);
  const header = await readHeader(target.path);
  const side = await readSideFiles(target.path);
  const snapshots = cfg && target.name ? await latestSnapshots(cfg, target.name, deps) : [];
  const reason = whyCopy(header, side);
  const copy = await workCopy(target.path, reason, opts.scratch);
  let ex: Examined = { copiedBecause: copy.copiedBecause };
  let salvaged: SalvageReport | undefined;
  try {
    if (header.magic) ex = { ...ex, ...(await examine(copy.file, copy.writable, opts)) };
    if (ex.damage?.indexOnly) ex.damage.reindexFixes = await tryReindex(target.path, opts.scratch);
    if (opts.salvage && header.magic && !ex.openError) {
      salvaged = await salvage({ source: copy.file, writable: copy.writable, out: opts.salvage, method: opts.method, snapshot: newestOf(snapshots), tmpSuffix: deps.randomHex(4) });
    }
  } finally {
    await copy.dispose();
  }
  const { verdict, findings } = findingsOf({ path: target.path, header, side, ...ex });
  const report: DoctorReport = {
    command: "doctor",
    exitCode: verdict === "healthy" ? EXIT.ok : EXIT.failed,
    database: { name: target.name, path: target.path },
    verdict, findings, header, sideFiles: side,
    ...(ex.copiedBecause ? { examinedCopyBecause: ex.copiedBecause } : {}),
    opens: header.magic && !ex.openError,
    ...(ex.openError ? { openError: ex.openError } : {}),
    checks: ex.checks, damage: ex.damage, snapshots,
    options: verdict === "healthy" ? [] : doctorOptions({ name: target.name, path: target.path, target: target.arg, damage: ex.damage, snapshots, hotJournal: !!side.journal?.hot, configPath: cfg?.configPath }),
    salvage: salvaged,
  };
  if (salvaged && opts.backupEmergency && cfg && target.db) {
    report.emergency = await backupEmergency(cfg, target.db, salvaged.out, deps);
  }
  return report;
}

async function examine(file: string, writable: boolean, opts: DoctorOptions): Promise<Examined> {
  let db;
  try {
    db = openForDoctor(file, writable);
    // Reading the schema is the first read: a hot journal is rolled back (on the copy) here.
    db.prepare("SELECT count(*) FROM sqlite_schema").get();
  } catch (err) {
    db?.close();
    return { openError: (err as Error).message };
  }
  try {
    const checks = runChecks(db, opts.full);
    const damage = mapDamage(db, [checks.quickCheck, ...(checks.integrityCheck ? [checks.integrityCheck] : [])]);
    return { checks, damage };
  } finally {
    db.close();
  }
}
