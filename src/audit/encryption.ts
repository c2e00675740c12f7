/** audit/: who can read each copy. The audit says per copy whether it is encrypted and to whom; policy.encrypted judges offsite copies. */
import { isOffsite, type DestinationConfig } from "../config/schema.js";
import type { CopyRecord, DestinationInventory } from "../catalog/inventory.js";

/** For the copies table: `encryption: null` is a copy anyone holding the store can read. */
export function encryptionOf(c: CopyRecord): { encryption: { recipients: string[] } | null } {
  return { encryption: c.manifest?.encryption ? { recipients: c.manifest.encryption.recipients } : null };
}

/**
 * With `policy.encrypted: true`, each reachable offsite destination's copies
 * (every snapshot it holds, not just the latest: a stolen bucket exposes all
 * of them) that are not encrypted. Copies from before encryption was turned
 * on stay findings until retention or `forget` removes them.
 */
export function unencryptedOffsite(mine: { d: DestinationConfig; inv: DestinationInventory; copies: CopyRecord[] }[]): { destination: string; snapshotIds: string[] }[] {
  return mine
    .filter(({ d, inv }) => inv.reachable && isOffsite(d))
    .map(({ d, copies }) => ({ destination: d.name, snapshotIds: copies.filter((c) => c.manifest && !c.manifest.encryption).map((c) => c.snapshotId) }))
    .filter((u) => u.snapshotIds.length > 0);
}

export function unencryptedFindings(db: string, list: { destination: string; snapshotIds: string[] }[]): string[] {
  return list.map(
    (u) => `${db}: ${u.snapshotIds.length} copy(ies) on offsite destination ${u.destination} are not encrypted (policy.encrypted is true): set encryption.recipients, and forget or let retention remove the old plaintext copies`,
  );
}

/** "age → age1abc…, age1def…" or "no" for a table cell. */
export function encryptionText(e: { recipients: string[] } | null | undefined): string {
  if (e === undefined) return "";
  return e ? `age → ${e.recipients.map((r) => `${r.slice(0, 12)}…${r.slice(-6)}`).join(", ")}` : "no";
}
