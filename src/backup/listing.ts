/**
 * One listing of a database's folder per destination, taken once a database
 * is packed and before anything of this run lands there (issue 13, fleets).
 * Every listing reads each manifest in the folder, which in a fleet was paid
 * again by each judgement: the unchanged check and the shrink guard read the
 * same moment, so they share this one. An unchanged night's retention reuses
 * it as well: nothing was uploaded, and the base copy it must keep is in it
 * (the new record beside that copy is never a deletion candidate). A shipped
 * night's retention lists again after the copy, so it sees the new copy as
 * the store holds it, and counts it towards keepLast.
 */
import type { DestinationInventory } from "../catalog/inventory.js";
import { inventoryDestination } from "../catalog/inventory.js";
import type { OpenDestination } from "../runtime/context.js";

/** Destination name → its listing of `db`'s folder (reachable destinations only; a failed listing says so itself). */
export type Listings = Map<string, DestinationInventory>;

export async function listBefore(db: string, open: Iterable<OpenDestination>): Promise<Listings> {
  const reachable = [...open].filter((o) => o.adapter);
  const invs = await Promise.all(reachable.map(async (o) => [o.cfg.name, await inventoryDestination(o.adapter!, o.cfg.name, [db])] as const));
  return new Map(invs);
}
