/**
 * catalog/: what each store really holds and the state of each copy
 * (inventory.ts), and `list` over every destination (this file).
 */
import type { Config } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { databasesWithoutCompleteCopy, inventoryDestination, type DestinationInventory } from "./inventory.js";

export interface ListReport {
  command: "list";
  exitCode: ExitCode;
  databasesWithoutCompleteCopy: string[];
  destinations: DestinationInventory[];
}

/** Every snapshot on every destination (or of one database), with its state, read live from the stores. */
export async function runList(cfg: Config, opts: { db?: string[] }, deps: RunDeps): Promise<ListReport> {
  const only = opts.db?.length ? opts.db : undefined;
  const open = await openDestinations(cfg.destinations, deps, { dryRun: false });
  let inventories: DestinationInventory[];
  try {
    inventories = await Promise.all(
      [...open.values()].map(async ({ cfg: d, adapter, marker, error }) =>
        adapter ? { ...(await inventoryDestination(adapter, d.name, only)), marker } : { destination: d.name, reachable: false, error, copies: [] },
      ),
    );
  } finally {
    await closeAll(open);
  }
  const missing = databasesWithoutCompleteCopy(only ?? cfg.databases.map((d) => d.name), inventories);
  const damaged = missing.length > 0 || inventories.some((i) => !i.reachable || i.copies.some((c) => c.state !== "complete"));
  const exitCode = inventories.every((i) => !i.reachable) ? EXIT.failed : damaged ? EXIT.degraded : EXIT.ok;
  return { command: "list", exitCode, databasesWithoutCompleteCopy: missing, destinations: inventories };
}
