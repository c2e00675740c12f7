import { open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { renderText, sampleKey, type Sample } from "./series.js";

/** Recomputed by every command: what is not measured now is not known now. */
const FULL = new Set(["triplicate_destination_free_bytes", "triplicate_destination_size_bytes"]);

/**
 * The textfile holds every command's latest figures, not only the last
 * command's: a `list` must not erase what the night's backup reported. The
 * samples live in a small JSON state file in staging; each command replaces
 * the samples it produces, samples of databases and destinations no longer
 * in the config are dropped, and the whole text file is rewritten.
 */
export async function updateTextfile(
  file: string,
  stateFile: string,
  fresh: readonly Sample[],
  keep: { dbs: ReadonlySet<string>; destinations: ReadonlySet<string> },
): Promise<void> {
  const state = new Map<string, Sample>();
  try {
    for (const s of JSON.parse(await readFile(stateFile, "utf8")) as Sample[]) state.set(sampleKey(s), s);
  } catch {
    /* first run, or an unreadable state: start again from this command's figures */
  }
  // A sample replaces the one with the same name and labels. Per-database families are replaced whole
  // for that database (a destination that failed this run must not keep last night's "verified"), and
  // FULL families whole (an unmounted disk must not keep its old free space).
  const touched = new Set(fresh.filter((s) => s.labels.db).map((s) => `${s.name}|${s.labels.db}`));
  for (const [k, s] of state) {
    if (FULL.has(s.name) || (s.labels.db && touched.has(`${s.name}|${s.labels.db}`))) state.delete(k);
  }
  for (const s of fresh) state.set(sampleKey(s), s);
  for (const [k, s] of state) {
    if ((s.labels.db && !keep.dbs.has(s.labels.db)) || (s.labels.destination && !keep.destinations.has(s.labels.destination))) state.delete(k);
  }
  const samples = [...state.values()];
  await writeAtomic(stateFile, JSON.stringify(samples), 0o600);
  // node_exporter runs as its own user: the figures are not secret, the file is world-readable.
  await writeAtomic(file, renderText(samples), 0o644);
}

/** Temp file in the same folder, fsync, rename: the collector never reads half a file. */
async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    const h = await open(tmp, "w", mode);
    try {
      await h.writeFile(text);
      await h.chmod(mode);
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
