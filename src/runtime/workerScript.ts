import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TriplicateError } from "./errors.js";

/**
 * The compiled worker script `name` (e.g. "decodeWorker.js") that sits beside
 * the module at `moduleUrl`, or null when that module was loaded from its
 * TypeScript source (a test runner): a worker cannot load .ts, so the caller
 * runs the same code inline.
 *
 * A compiled build without its worker is a broken install, not a reason to
 * fall back quietly: inline decoding made a 1 GiB restore ~20% slower, which
 * nobody would notice until the night it mattered.
 */
export function compiledWorker(name: string, moduleUrl: string): URL | null {
  if (moduleUrl.endsWith(".ts")) return null;
  const url = new URL(`./${name}`, moduleUrl);
  if (!existsSync(fileURLToPath(url))) {
    throw new TriplicateError(`this installation of triplicate is incomplete: ${fileURLToPath(url)} is missing; rebuild it (npm run build) or reinstall the package`);
  }
  return url;
}
