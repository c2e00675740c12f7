import { stat, statfs } from "node:fs/promises";
import path from "node:path";
import type { StorageAdapter } from "../../adapters/types.js";
import type { Config, DestinationConfig } from "../config/schema.js";
import { MARKER_KEY } from "../catalog/destinationMarker.js";
import { freeSpaceOf, type FreeSpace } from "../history/freeSpace.js";
import type { Sample } from "./series.js";

/**
 * Free space over the adapters a command opened, before they close (the
 * pool's beforeClose): how an SFTP destination's figure (statvfs@openssh.com)
 * reaches the textfile, which is written after the command.
 */
export async function measureFreeSpace(cfg: Config, opened: ReadonlyMap<string, StorageAdapter>, into: { freeSpace?: FreeSpace[] }): Promise<void> {
  const measured = await Promise.all(cfg.destinations.flatMap((d) => {
    const adapter = opened.get(d.name);
    return adapter ? [freeSpaceOf(d, adapter)] : [];
  }));
  into.freeSpace = measured;
}

/**
 * Free and total bytes of each destination that can tell: what the command
 * measured over its adapters, else a local folder's statvfs. Only where the
 * destination marker is present (freeSpaceOf checks it; here too): the empty
 * mount point of an unmounted disk would report the free space of the disk
 * beneath it, which is exactly the wrong number on the night it matters.
 * S3 has no such figure.
 */
export async function freeSpaceSamples(destinations: readonly DestinationConfig[], measured: readonly FreeSpace[] = []): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const d of destinations) {
    const m = measured.find((f) => f.destination === d.name);
    const figure = m ? known(m) : d.type === "local" ? await localFigure(d.path) : undefined;
    if (!figure) continue;
    const l = { destination: d.name };
    out.push(
      { name: "triplicate_destination_free_bytes", help: "Bytes free to an unprivileged writer on the destination's file system.", type: "gauge", labels: l, value: figure.free },
      { name: "triplicate_destination_size_bytes", help: "Total bytes of the destination's file system.", type: "gauge", labels: l, value: figure.size },
    );
  }
  return out;
}

function known(f: FreeSpace): { free: number; size: number } | undefined {
  return f.freeBytes !== null && f.totalBytes !== null ? { free: f.freeBytes, size: f.totalBytes } : undefined;
}

async function localFigure(dir: string): Promise<{ free: number; size: number } | undefined> {
  try {
    await stat(path.join(dir, MARKER_KEY));
    const fs = await statfs(dir);
    return { free: fs.bavail * fs.bsize, size: fs.blocks * fs.bsize };
  } catch {
    return undefined; // not initialised, not mounted or unreadable: no figure rather than a wrong one
  }
}
