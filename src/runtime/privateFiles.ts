/**
 * Owner-only folders and files whatever the umask: snapshots, artifacts and
 * the lock are copies of production data or say where it is. A mode given to
 * mkdir/open is filtered by the umask (under 000 it is kept, under 0277 a
 * folder would come out 0500, unusable), so the mode is set after creating.
 */
import { chmod, mkdir, open } from "node:fs/promises";
import path from "node:path";

export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/** mkdir -p; the folders made here become 0700, existing ones are left as the operator set them. */
export async function makePrivateDir(dir: string): Promise<void> {
  const made = await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  if (!made) return;
  for (let d = dir; d.length >= made.length; d = path.dirname(d)) await chmod(d, PRIVATE_DIR);
}

/** Creates (or empties) `file` as 0600 before anything is written to it. */
export async function createPrivateFile(file: string, flags = "w"): Promise<void> {
  const h = await open(file, flags, PRIVATE_FILE);
  try {
    await h.chmod(PRIVATE_FILE);
  } finally {
    await h.close();
  }
}
