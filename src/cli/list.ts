import { closeAll, openDestinations } from "../runtime/context.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { databasesWithoutCompleteCopy, inventoryDestination, type DestinationInventory } from "../catalog/inventory.js";
import { formatInventory } from "../backup/report.js";
import { checkDbFlag, printJson, setup, type CliIO, type GlobalOptions } from "./common.js";

export interface ListFlags extends GlobalOptions {
  db?: string;
}

/** Every snapshot on every destination, with its state, read live from the stores. */
export async function listCommand(flags: ListFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps } = await setup(flags, io);
  checkDbFlag(cfg, flags.db);
  const open = await openDestinations(cfg.destinations, deps, { dryRun: false, createRoot: false });
  let inventories: DestinationInventory[];
  try {
    inventories = await Promise.all(
      [...open.values()].map(({ cfg: d, adapter, error }) =>
        adapter ? inventoryDestination(adapter, d.name, flags.db ? [flags.db] : undefined) : { destination: d.name, reachable: false, error, copies: [] },
      ),
    );
  } finally {
    await closeAll(open);
  }
  const missing = databasesWithoutCompleteCopy(flags.db ? [flags.db] : cfg.databases.map((d) => d.name), inventories);
  const damaged = missing.length > 0 || inventories.some((i) => !i.reachable || i.copies.some((c) => c.state !== "complete"));
  const code = inventories.every((i) => !i.reachable) ? EXIT.failed : damaged ? EXIT.degraded : EXIT.ok;
  if (flags.json) printJson(io, { command: "list", exitCode: code, databasesWithoutCompleteCopy: missing, destinations: inventories });
  else io.stdout.write(formatInventory(inventories) + missing.map((db) => `\nNO COMPLETE COPY of database ${db} anywhere`).join("") + "\n");
  return code;
}
