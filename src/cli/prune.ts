import { stagingDir } from "../config/schema.js";
import { closeAll, openDestinations } from "../runtime/context.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { inventoryDestination } from "../catalog/inventory.js";
import { acquireRunLock } from "../runtime/lock.js";
import { applyRetention, describePolicy, type RetentionOutcome } from "../retention/apply.js";
import { formatRetention } from "../backup/report.js";
import { printJson, setup, type CliIO, type GlobalOptions } from "./common.js";

export interface PruneFlags extends GlobalOptions {
  dryRun?: boolean;
}

interface PruneDestination {
  destination: string;
  policy: string;
  reachable: boolean;
  error?: string;
  databases: RetentionOutcome[];
  /** Folders of databases this config does not name: never touched by this prune. */
  notManaged: string[];
}

/** Retention alone, per destination, printing what is kept and why. */
export async function pruneCommand(flags: PruneFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps } = await setup(flags, io);
  const dryRun = !!flags.dryRun;
  const release = dryRun ? async () => undefined : await acquireRunLock(stagingDir(cfg));
  const open = await openDestinations(cfg.destinations, deps, { dryRun, createRoot: false });
  const results: PruneDestination[] = [];
  try {
    for (const { cfg: dest, adapter, error } of open.values()) {
      const entry: PruneDestination = { destination: dest.name, policy: describePolicy(dest.retention), reachable: !!adapter, error, databases: [], notManaged: [] };
      results.push(entry);
      if (!adapter) continue;
      const inv = await inventoryDestination(adapter, dest.name);
      if (!inv.reachable) {
        Object.assign(entry, { reachable: false, error: inv.error });
        continue;
      }
      // Only the databases this config names: a shared NAS may hold other hosts' databases,
      // or ones removed from this config, under other retention rules.
      const configured = new Set(cfg.databases.map((d) => d.name));
      const found = [...new Set(inv.copies.map((c) => c.db))].sort();
      entry.notManaged = found.filter((db) => !configured.has(db));
      for (const db of found.filter((d) => configured.has(d))) {
        entry.databases.push(
          await applyRetention(adapter, dest.name, db, inv.copies, dest.retention, { now: deps.clock(), dryRun, leftoverGrace: cfg.leftoverGrace }),
        );
      }
    }
  } finally {
    await closeAll(open);
    await release();
  }
  const problems = results.some((r) => !r.reachable || r.databases.some((d) => d.errors.length > 0));
  const code = results.every((r) => !r.reachable) ? EXIT.failed : problems ? EXIT.degraded : EXIT.ok;
  if (flags.json) {
    printJson(io, { command: "prune", dryRun, exitCode: code, destinations: results });
  } else {
    const lines: string[] = [`triplicate prune${dryRun ? " --dry-run (nothing is deleted)" : ""}`];
    for (const r of results) {
      lines.push("", `${r.destination}: ${r.policy}${r.reachable ? "" : `  UNREACHABLE: ${r.error}`}`);
      for (const d of r.databases) lines.push(`  database ${d.db}`, ...formatRetention(d).map((l) => `    ${l}`));
      if (r.notManaged.length) lines.push(`  not in this config, left alone: ${r.notManaged.join(", ")}`);
    }
    io.stdout.write(lines.join("\n") + "\n");
  }
  return code;
}
