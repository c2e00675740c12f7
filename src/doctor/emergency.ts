/**
 * The salvaged database, backed up as an `emergency` snapshot: the normal
 * backup (snapshot, checks, every destination, read-back, 3-2-1), with its
 * source set to the salvaged file and retention skipped everywhere, so the
 * night a database was damaged deletes no copy anywhere.
 */
import type { Config, DatabaseConfig } from "../config/schema.js";
import type { RunDeps } from "../runtime/context.js";
import type { ExitCode } from "../runtime/exitCodes.js";
import { runBackup } from "../backup/run.js";

export interface EmergencyReport {
  exitCode: ExitCode;
  snapshotId?: string;
  error?: string;
  destinations: { destination: string; status: string; error?: string }[];
  retention: "skipped";
}

export async function backupEmergency(cfg: Config, db: DatabaseConfig, salvaged: string, deps: RunDeps): Promise<EmergencyReport> {
  const only = { ...cfg, databases: [{ ...db, path: salvaged }] };
  const r = await runBackup(only, { db: [db.name], tags: ["emergency"], dryRun: false, skipRetention: true }, deps);
  const run = r.databases[0];
  return {
    exitCode: r.exitCode,
    snapshotId: run.snapshotId,
    ...(run.error ? { error: run.error } : {}),
    destinations: run.destinations.map((d) => ({ destination: d.destination, status: d.status, ...(d.error ? { error: d.error } : {}) })),
    retention: "skipped",
  };
}
