import { formatBytes, pad } from "../runtime/format.js";
import type { DestinationInventory } from "./inventory.js";

/** `list` as a person reads it: per destination, one line per copy with its state. */
export function formatInventory(invs: DestinationInventory[]): string {
  const lines: string[] = [];
  for (const inv of invs) {
    const marker = inv.marker?.id ? `  marker ${inv.marker.id}${inv.marker.status === "adopted" ? " (adopted now: copies from an older version, no marker)" : ""}` : "";
    lines.push(`${inv.destination}${inv.adapterId ? ` (${inv.adapterId})` : ""}${inv.reachable ? marker : `  UNREACHABLE: ${inv.error}`}`);
    if (inv.reachable && inv.copies.length === 0) lines.push("  (no snapshots)");
    for (const c of inv.copies) {
      const size = c.manifest ? formatBytes(c.manifest.artifact.size) : c.artifactSize !== undefined ? formatBytes(c.artifactSize) : "";
      const tags = c.manifest?.tags.length ? ` [${c.manifest.tags.join(",")}]` : "";
      const lock = c.lockedUntil ? ` locked until ${c.lockedUntil.toISOString()}` : "";
      lines.push(`  ${pad(c.db, 12)} ${c.snapshotId}  ${pad(c.state, 17)} ${pad(c.proof ? c.proof.level : "", 15)}${pad(size, 10)}${tags}${lock}${c.detail && c.state !== "complete" ? `  ${c.detail}` : ""}`);
    }
    for (const f of inv.foreign ?? []) lines.push(`  ${pad(f.key, 39)} ${pad(f.state, 17)} ${pad(formatBytes(f.size), 10)}  not ours: left alone`);
  }
  return lines.join("\n");
}
