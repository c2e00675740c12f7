import { open, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { TriplicateError } from "./errors.js";
import { PRIVATE_FILE, makePrivateDir } from "./privateFiles.js";

export class RunLockedError extends TriplicateError {}

/**
 * One backup or prune at a time per staging folder: two runs would race on
 * the same destinations (one's temp files look like the other's leftovers).
 * A lock left by a dead process is taken over.
 */
export async function acquireRunLock(stagingDir: string): Promise<() => Promise<void>> {
  await makePrivateDir(stagingDir);
  const file = path.join(stagingDir, "triplicate.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(file, "wx", PRIVATE_FILE);
      await h.chmod(PRIVATE_FILE);
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new RunLockedError(`another triplicate run (pid ${pid}) is using ${stagingDir}; wait for it to finish, or remove ${file} if that process is not triplicate`);
      }
      await rm(file, { force: true });
    }
  }
  throw new RunLockedError(`could not take the run lock ${file}`);
}

/** Is process `pid` running (EPERM: it is, but another user's)? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
