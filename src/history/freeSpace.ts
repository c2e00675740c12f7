/**
 * Free space of a destination, where it can tell: the adapter's optional
 * freeSpace (a local folder's statfs, SFTP's statvfs@openssh.com). S3 and
 * SFTP servers without the extension say nothing, which the audit shows as
 * unknown rather than as zero or plenty. Used by the audit's history and by
 * the metrics textfile (src/metrics/freeSpace.ts).
 */
import { statfs } from "node:fs/promises";
import type { StorageAdapter } from "../../adapters/types.js";
import type { DestinationConfig } from "../config/schema.js";
import { MARKER_KEY } from "../catalog/destinationMarker.js";

export interface FreeSpace {
  destination: string;
  freeBytes: number | null;
  totalBytes: number | null;
  /** Why it is unknown. */
  note?: string;
}

/** A server that does not answer soon gives no figure; the command is not held up for it. */
const FREE_SPACE_TIMEOUT_MS = 10_000;

export async function freeSpaceOf(d: DestinationConfig, adapter?: StorageAdapter): Promise<FreeSpace> {
  const unknown = (note: string): FreeSpace => ({ destination: d.name, freeBytes: null, totalBytes: null, note });
  if (!adapter) return d.type === "local" ? localFreeSpace(d.name, d.path) : unknown(`${d.type} destination not opened by this command`);
  if (!adapter.freeSpace) return unknown(`${d.type} destinations do not report free space`);
  const signal = AbortSignal.timeout(FREE_SPACE_TIMEOUT_MS);
  try {
    // Only where the marker is: an unmounted disk's empty mount point, or a wrong
    // remote folder, would report the space of whatever is beneath it.
    await adapter.stat(MARKER_KEY, signal);
  } catch {
    return unknown("the destination marker is missing or unreadable: not measured");
  }
  try {
    const fs = await adapter.freeSpace(signal);
    return fs ? { destination: d.name, freeBytes: fs.free, totalBytes: fs.size } : unknown("the server does not report free space (no statvfs@openssh.com)");
  } catch (err) {
    return unknown(`free space not measured: ${(err as Error).message}`);
  }
}

/** Without an adapter (a command that opened none): statfs of the folder itself. */
async function localFreeSpace(destination: string, dir: string): Promise<FreeSpace> {
  try {
    const s = await statfs(dir);
    // bavail: what an unprivileged writer (this tool) can use, not what root could.
    return { destination, freeBytes: Number(s.bavail) * Number(s.bsize), totalBytes: Number(s.blocks) * Number(s.bsize) };
  } catch (err) {
    return { destination, freeBytes: null, totalBytes: null, note: `statfs failed: ${(err as Error).message}` };
  }
}
