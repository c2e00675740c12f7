/**
 * What each destination holds of one database, beyond the latest snapshot:
 * whether it holds any good copy at all, and files there that are not ours.
 * The copy count can be met while a whole destination is wiped; that is
 * still a finding, because the operator configured that destination to hold
 * a copy.
 */
import type { CopyRecord, DestinationInventory } from "../catalog/inventory.js";

interface Holding {
  d: { name: string };
  inv: DestinationInventory;
  copies: CopyRecord[];
}

/**
 * Reachable destinations without one good copy of `db`: complete (a copy
 * whose newest check failed is `damaged`, not complete). An unreachable one
 * is already its own finding.
 */
export function withoutGoodCopy(mine: Holding[]): { destination: string; why: string }[] {
  return mine
    .filter((m) => m.inv.reachable)
    .flatMap(({ d, copies }) => {
      if (copies.some((c) => c.state === "complete")) return [];
      const damaged = copies.filter((c) => c.state !== "orphan").length;
      return [{ destination: d.name, why: damaged ? `${damaged} damaged` : "it holds no snapshot of it at all" }];
    });
}

/** Files in this database's folder that look like snapshots but are not ours: listed, never touched. */
export function foreignOf(mine: Holding[], db: string): { destination: string; key: string; detail: string }[] {
  return mine.flatMap(({ d, inv }) => (inv.foreign ?? []).filter((f) => f.db === db).map((f) => ({ destination: d.name, key: f.key, detail: f.detail })));
}
