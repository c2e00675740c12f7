import { realpathSync } from "node:fs";
import path from "node:path";
import { normalizeRoot } from "../../adapters/sftp/options.js";
import type { DestinationConfig } from "./schema.js";

/**
 * Two destinations on the same store would count one copy twice for 3-2-1,
 * and the stricter retention would delete what the other keeps. Spellings
 * differ (`./a` and `./a/`, a symlink, `NAS.lan` and `nas.lan`), so places are
 * compared after resolving them, never as the strings the config holds.
 * Returns one problem per destination that repeats an earlier one's place.
 */
export function samePlaceProblems(destinations: DestinationConfig[]): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  destinations.forEach((d, i) => {
    const where = placeOf(d);
    const other = seen.get(where);
    if (other !== undefined) {
      problems.push(
        `destinations[${i}] (in destinations "${d.name}"): points at the same place as destination "${other}" (${where.slice(where.indexOf(":") + 1)}); ` +
          `each destination must be a different store or folder`,
      );
    } else seen.set(where, d.name);
  });
  return problems;
}

/** One string per place: `local:<real path>`, `sftp:<host>:<port>:<folder>`, `s3:<endpoint> <bucket>/<prefix>`. */
export function placeOf(d: DestinationConfig): string {
  if (d.type === "local") return `local:${realFolder(d.path)}`;
  if (d.type === "sftp") return `sftp:${d.host.toLowerCase()}:${d.port} ${path.posix.normalize(normalizeRoot(d.path)).replace(/(.)\/+$/, "$1")}`;
  return `s3:${d.endpoint ? endpointOf(d.endpoint) : "aws"} ${d.bucket}/${d.prefix}`;
}

/**
 * The folder with every symlink resolved. A folder that does not exist yet
 * (backup creates it) is resolved through its nearest existing parent, so a
 * symlinked parent is still seen through.
 */
export function realFolder(p: string): string {
  const abs = path.resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realFolder(parent), path.basename(abs));
  }
}

/** Scheme, lower-case host and port (a default port dropped), path without a trailing slash; never credentials. */
function endpointOf(endpoint: string): string {
  const u = new URL(endpoint);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}
