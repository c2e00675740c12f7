import { stat, statfs } from "node:fs/promises";
import path from "node:path";
import type { DestinationConfig } from "../config/schema.js";
import { MARKER_KEY } from "../catalog/destinationMarker.js";
import type { Sample } from "./series.js";

/**
 * Free and total bytes of each local destination (statvfs). Only where the
 * destination marker is present: the empty mount point of an unmounted disk
 * would report the free space of the disk beneath it, which is exactly the
 * wrong number on the night it matters. S3 has no such figure; SFTP
 * (statvfs@openssh.com) is not measured yet.
 */
export async function freeSpaceSamples(destinations: readonly DestinationConfig[]): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const d of destinations) {
    if (d.type !== "local") continue;
    try {
      await stat(path.join(d.path, MARKER_KEY));
      const fs = await statfs(d.path);
      const l = { destination: d.name };
      out.push(
        { name: "triplicate_destination_free_bytes", help: "Bytes free to an unprivileged writer on the destination's file system.", type: "gauge", labels: l, value: fs.bavail * fs.bsize },
        { name: "triplicate_destination_size_bytes", help: "Total bytes of the destination's file system.", type: "gauge", labels: l, value: fs.blocks * fs.bsize },
      );
    } catch {
      /* not initialised, not mounted or unreadable: no figure rather than a wrong one */
    }
  }
  return out;
}
