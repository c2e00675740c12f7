/**
 * Vanished tenants (issue 15, fleets): a database a glob matched on an
 * earlier night whose file is gone today. Nothing deletes its copies
 * (retention runs only for databases backed up in the run, `prune` only for
 * names the expanded config produces), so without this the tenant would
 * fade away quietly: no failed entry, no warning, its history aging on the
 * destinations. Like a wiped source it is made loud (a `vanished` entry, a
 * WARNING line, exit 3) and nothing is deleted.
 *
 * Which folders count: copies of a name the config no longer produces whose
 * newest complete manifest says it was taken on this host from a file one
 * of today's globs matches. Other hosts' databases on a shared NAS, and a
 * database whose entry was removed from the config on purpose (its path no
 * glob matches), are not reported: `prune` lists them as "not managed".
 */
import type { Logger } from "pino";
import { describeError } from "../../adapters/errors.js";
import type { StorageAdapter } from "../../adapters/types.js";
import type { Config } from "../config/schema.js";
import { globMatches, nameOf } from "../config/fleet.js";
import { inventoryDestination, type CopyRecord } from "../catalog/inventory.js";
import { parseKey } from "../publish/ids.js";
import { formatAge } from "../runtime/duration.js";

export interface VanishedTenant {
  db: string;
  /** The file the newest copy was taken from, and the glob that matched it then and matches nothing now. */
  sourcePath: string;
  glob: string;
  /** The newest complete snapshot on any reachable destination, and its age: the data a restore would bring back. */
  newest: { snapshotId: string; createdAt: string; destination: string; ageMs: number; age: string };
  /** Reachable destinations holding at least one complete copy. */
  destinations: string[];
}

interface Reachable {
  cfg: { name: string };
  adapter?: StorageAdapter;
}

/** The vanished tenants on every reachable destination; a destination whose listing fails is skipped (its failure is reported by the run). */
export async function findVanished(cfg: Config, open: Iterable<Reachable>, ctx: { hostname: string; now: Date; log: Logger }): Promise<VanishedTenant[]> {
  const globs = (cfg.databaseGlobs ?? []).map((g) => g.pattern);
  if (globs.length === 0) return [];
  const produced = new Set(cfg.databases.map((d) => d.name));
  const copies = (
    await Promise.all(
      [...open].map(async ({ cfg: d, adapter }) => {
        if (!adapter) return [];
        try {
          const names = await unproducedNames(adapter, produced);
          if (names.length === 0) return [];
          const inv = await inventoryDestination(adapter, d.name, names);
          return inv.reachable ? inv.copies.filter((c) => c.state === "complete" && c.manifest) : [];
        } catch (err) {
          ctx.log.warn({ destination: d.name, err: describeError(err) }, `could not look for vanished tenants on ${d.name}`);
          return [];
        }
      }),
    )
  ).flat();
  const byDb = new Map<string, CopyRecord[]>();
  for (const c of copies) byDb.set(c.db, [...(byDb.get(c.db) ?? []), c]);
  const out: VanishedTenant[] = [];
  for (const [db, list] of [...byDb].sort(([a], [b]) => a.localeCompare(b))) {
    const newest = list.sort((a, b) => b.snapshotId.localeCompare(a.snapshotId))[0];
    const source = newest.manifest!.source;
    const glob = globs.find((g) => globMatches(g, source.path));
    if (!glob || source.host !== ctx.hostname || nameOf(source.path) !== db) continue;
    const ageMs = ctx.now.getTime() - newest.createdAt.getTime();
    out.push({
      db, sourcePath: source.path, glob,
      newest: { snapshotId: newest.snapshotId, createdAt: newest.createdAt.toISOString(), destination: newest.destination, ageMs, age: formatAge(ageMs) },
      destinations: [...new Set(list.map((c) => c.destination))].sort(),
    });
    ctx.log.warn({ db, sourcePath: source.path, newest: newest.snapshotId }, `database ${db} vanished: ${source.path} is gone; its copies are kept, nothing was backed up for it`);
  }
  return out;
}

/** Database folders holding files named like ours under a name the config does not produce (one listing, no reads). */
async function unproducedNames(adapter: StorageAdapter, produced: Set<string>): Promise<string[]> {
  const names = new Set<string>();
  for await (const o of adapter.list("")) {
    const k = parseKey(o.key);
    if (k?.kind === "manifest" && !produced.has(k.db)) names.add(k.db);
  }
  return [...names].sort();
}

/** The text report's lines: a warning per tenant, with what was kept and what to do. */
export function formatVanished(list: VanishedTenant[]): string[] {
  return list.flatMap((v) => [
    "",
    `WARNING: database ${v.db} VANISHED: ${v.sourcePath} (matched by ${v.glob} before) is gone; nothing was backed up for it and none of its copies was deleted`,
    `  newest snapshot ${v.newest.snapshotId} on ${v.newest.destination}, ${v.newest.age} old; copies on ${v.destinations.join(", ")}`,
    `  restore it with: triplicate restore ${v.db} --to PATH   (if the tenant is gone for good, its folder ${v.db}/ stays on the destinations until you remove it by hand)`,
  ]);
}
