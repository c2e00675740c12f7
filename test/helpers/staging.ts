import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { expect } from "vitest";
import { spawnCli, type CliOptions } from "./cli.js";

/** What a run has staged for the database `app`. */
export const stagedFiles = async (staging: string, db = "app") => (await readdir(path.join(staging, db)).catch(() => [] as string[])).sort();

/**
 * Starts a backup and SIGKILLs it as soon as something is staged, as the
 * OOM killer or a power cut would. Returns the modes seen just before.
 */
export async function killWhenStaged(staging: string, args: string[], opts: CliOptions = {}): Promise<{ fileModes: number[]; lockMode?: number }> {
  const child = spawnCli(args, opts);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let files: string[] = [];
  while (child.exitCode === null && !(files = await stagedFiles(staging)).length) await new Promise((r) => setTimeout(r, 2));
  const fileModes = await Promise.all(files.map(async (f) => (await stat(path.join(staging, "app", f)).catch(() => ({ mode: 0 }))).mode & 0o777));
  const lockMode = await stat(path.join(staging, "triplicate.lock")).then((s) => s.mode & 0o777, () => undefined);
  child.kill("SIGKILL");
  await exited;
  expect(files.length, `the run ended before staging anything:\n${stderr}`).toBeGreaterThan(0);
  return { fileModes, lockMode };
}
