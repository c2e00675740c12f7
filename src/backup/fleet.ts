/**
 * Fleets (issue 15): many databases in one run, with bounded concurrency.
 * At most `snapshots` databases are being snapshotted (copy, checks,
 * compression: CPU and staging space) and at most `uploads` are shipping
 * (upload, read-back, retention) at once; a database holds a place in the
 * pipeline from its snapshot to its last destination, so no more than
 * snapshots + uploads staged artifacts wait on disk. Each destination keeps
 * its own connection cap underneath (adapters/wrap/withLimit.ts) and is
 * opened once per run for every database. A database that fails, however
 * it fails, is its own report entry: it never stops the others.
 */
import pLimit from "p-limit";
import type { Logger } from "pino";
import type { Config, DatabaseConfig } from "../config/schema.js";
import { EXIT } from "../runtime/exitCodes.js";
import type { DatabaseRun } from "./run.js";

export interface FleetLimits {
  snapshot: <T>(fn: () => Promise<T>) => Promise<T>;
  upload: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** Runs `one` for every database under the limits; the results in config order. */
export async function runFleet(
  databases: DatabaseConfig[],
  limits: Config["concurrency"],
  one: (db: DatabaseConfig, limits: FleetLimits) => Promise<DatabaseRun>,
  logger: Logger,
): Promise<DatabaseRun[]> {
  const pipeline = pLimit(limits.snapshots + limits.uploads);
  const snapshot = pLimit(limits.snapshots);
  const upload = pLimit(limits.uploads);
  const fleet: FleetLimits = { snapshot: (fn) => snapshot(fn), upload: (fn) => upload(fn) };
  return Promise.all(
    databases.map((db) =>
      pipeline(() =>
        one(db, fleet).catch((err: unknown): DatabaseRun => {
          // Not a failed snapshot (that is reported inside) but anything else: still this database's alone.
          const error = (err as Error)?.message ?? String(err);
          logger.error({ db: db.name, err: { type: (err as Error)?.name, message: error } }, `backup of ${db.name} failed: ${error}`);
          return { db: db.name, exitCode: EXIT.failed, error, destinations: [] };
        }),
      ),
    ),
  );
}

/**
 * A glob that matched no file is a failed entry of its own: a folder of
 * tenants that vanished (an unmounted volume, a wiped disk) is a bad night,
 * not an empty fleet. Nothing is deleted for any tenant: retention only runs
 * for databases backed up in this run, and `prune` only for databases the
 * expanded config names, so copies of a tenant whose file is gone stay.
 */
export function emptyGlobRuns(cfg: Config): DatabaseRun[] {
  return (cfg.databaseGlobs ?? [])
    .filter((g) => g.matched && g.matched.length === 0)
    .map((g) => ({
      db: g.pattern,
      exitCode: EXIT.failed,
      destinations: [],
      error: `the glob ${g.pattern} matched no file: is the folder mounted, were the databases moved? Nothing was backed up for it and no tenant's copies were deleted; if the fleet is gone for good, remove the entry from the config`,
    }));
}
