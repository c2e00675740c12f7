/**
 * `list --db NAME` and `verify --db NAME` for a name the config does not
 * produce (a tenant that vanished from its glob, a database removed from the
 * config): both only read, so they accept it when some reachable destination
 * holds files of ours under that name. A name with nothing anywhere is still
 * a usage error: a typo must not report "all healthy".
 */
import type { Config } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { UsageError } from "../runtime/errors.js";
import { parseKey } from "../publish/ids.js";

/** Throws a UsageError naming the first `--db` name that is neither configured nor held by any reachable destination. */
export async function checkDbFlagOrCopies(cfg: Config, dbs: string[] | undefined, deps: RunDeps): Promise<void> {
  const unknown = (dbs ?? []).filter((n) => !cfg.databases.some((d) => d.name === n));
  if (unknown.length === 0) return;
  // Read-only: a dry-run open writes nothing (no marker, no root), whatever the command is.
  const open = await openDestinations(cfg.destinations, deps, { dryRun: true });
  try {
    for (const name of unknown) {
      let held = false;
      for (const { adapter } of open.values()) {
        if (held || !adapter) continue;
        held = await holdsCopies(adapter, name).catch(() => false);
      }
      if (!held) {
        throw new UsageError(
          `no database named "${name}" in ${cfg.configPath}, and no copies of it on any reachable destination; configured: ${cfg.databases.map((d) => d.name).join(", ")}`,
        );
      }
    }
  } finally {
    await closeAll(open);
  }
}

async function holdsCopies(adapter: { list(prefix: string): AsyncIterable<{ key: string }> }, db: string): Promise<boolean> {
  for await (const o of adapter.list(`${db}/`)) if (parseKey(o.key)?.db === db) return true;
  return false;
}
