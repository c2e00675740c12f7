import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The built CLI, exactly what `npx triplicate` runs (npm test builds it first). */
export const BIN = path.join(root, "dist/bin/triplicate.js");

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run under this umask (octal text such as "000"), set by a shell, as an operator's cron job would. */
  umask?: string;
}

/** The CLI as a child process, for tests that watch or kill it mid-run. */
export function spawnCli(args: string[], opts: CliOptions = {}) {
  const [cmd, argv] = opts.umask
    ? ["/bin/sh", ["-c", `umask ${opts.umask} && exec "$0" "$@"`, process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  return spawn(cmd, argv as string[], {
    cwd: opts.cwd ?? root,
    env: { ...process.env, TRIPLICATE_NOW: undefined, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/** Runs `triplicate ARGS` as a user would, in its own process. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, opts);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout,
        stderr,
        json: () => {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      }),
    );
  });
}

export async function tempDir(prefix = "tri-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
