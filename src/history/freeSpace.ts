/**
 * Free space where the destination can tell without a new adapter call: a
 * local folder's file system (statfs). SFTP and S3 say nothing here, which
 * the audit shows as unknown rather than as zero or plenty.
 */
import { statfs } from "node:fs/promises";
import type { DestinationConfig } from "../config/schema.js";

export interface FreeSpace {
  destination: string;
  freeBytes: number | null;
  totalBytes: number | null;
  /** Why it is unknown. */
  note?: string;
}

export async function freeSpaceOf(d: DestinationConfig): Promise<FreeSpace> {
  if (d.type !== "local") return { destination: d.name, freeBytes: null, totalBytes: null, note: `${d.type} destinations do not report free space here` };
  try {
    const s = await statfs(d.path);
    // bavail: what an unprivileged writer (this tool) can use, not what root could.
    return { destination: d.name, freeBytes: Number(s.bavail) * Number(s.bsize), totalBytes: Number(s.blocks) * Number(s.bsize) };
  } catch (err) {
    return { destination: d.name, freeBytes: null, totalBytes: null, note: `statfs failed: ${(err as Error).message}` };
  }
}
