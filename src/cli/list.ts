import type { ExitCode } from "../runtime/exitCodes.js";
import { checkDbFlagOrCopies } from "../catalog/unconfigured.js";
import { runList } from "../catalog/list.js";
import { formatInventory } from "../catalog/format.js";
import { printJson, setup, type CliIO, type GlobalOptions } from "./common.js";

export interface ListFlags extends GlobalOptions {
  db: string[];
}

/** Every snapshot on every destination, with its state, read live from the stores. */
export async function listCommand(flags: ListFlags, io: CliIO): Promise<ExitCode> {
  const { cfg, deps, pool } = await setup(flags, io);
  // The pool holds every adapter open until closed here: an SFTP session left open keeps the process alive.
  const report = await (async () => {
    // A name not in the config is read when some destination holds its copies (a vanished tenant).
    await checkDbFlagOrCopies(cfg, flags.db, deps);
    return runList(cfg, { db: flags.db }, deps);
  })().finally(() => pool.closeAll());
  if (flags.json) printJson(io, report);
  else io.stdout.write(formatInventory(report.destinations) + report.databasesWithoutCompleteCopy.map((db) => `\nNO COMPLETE COPY of database ${db} anywhere`).join("") + "\n");
  return report.exitCode;
}
