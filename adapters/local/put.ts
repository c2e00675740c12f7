import { constants as fsc, createWriteStream } from "node:fs";
import { chmod, copyFile, mkdir, open, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { BlobSource, ObjectInfo } from "../types.js";
import { AdapterError, ChecksumMismatchError, PermanentError } from "../errors.js";
import { tempNameFor } from "../files.js";
import { awaitCommit } from "../commitGate.js";
import { HashingCounter } from "../streams.js";
import { pollFileSize, progressOf } from "../progress.js";
import { mapFsError } from "./errors.js";

/** Where a put goes: the key, its resolved file, and the adapter it belongs to. */
export interface PutTarget {
  adapter: string;
  key: string;
  full: string;
  randomId: () => string;
}

export async function putFile(target: PutTarget, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo> {
  const { adapter: id, key, full } = target;
  const dir = path.dirname(full);
  const tmp = path.join(dir, tempNameFor(path.basename(full), target.randomId));
  let committed = false;
  try {
    // A folder made here (a new database's) is an entry in its parent: flush that too.
    const made = await mkdirPrivate(dir);
    if (made) await fsyncDir(path.dirname(made));
    if (src.localPath) {
      // A file already on this machine: the kernel copies it (copy_file_range, no trip
      // through JS), then we fsync. Its hash was taken when it was built; the caller's
      // read-back proves the copy. Measured: ~2 s less per GiB-sized artifact and copy.
      signal?.throwIfAborted();
      // copyFile tells nothing while it runs: the progress line watches the temp file grow.
      const progress = progressOf(src);
      const stopPolling = pollFileSize(tmp, progress);
      try {
        await copyFile(src.localPath, tmp, fsc.COPYFILE_EXCL);
      } finally {
        stopPolling();
      }
      const handle = await open(tmp, "r+");
      try {
        await handle.chmod(FILE_MODE); // whatever the source file's mode and the umask
        await handle.sync();
        const { size } = await handle.stat();
        if (size !== src.size) throw new PermanentError(`copied ${size} bytes, expected ${src.size}`, { adapter: id, op: "put", key });
        progress.done(size);
      } finally {
        await handle.close();
      }
    } else {
      const counter = new HashingCounter();
      // `wx` refuses to reuse a name; `flush` fsyncs the file before it closes.
      await pipeline(src.open(), counter, createWriteStream(tmp, { flags: "wx", mode: FILE_MODE, flush: true }), { signal });
      await chmod(tmp, FILE_MODE); // the mode above was filtered by the umask
      if (counter.bytes !== src.size) {
        throw new PermanentError(`wrote ${counter.bytes} bytes, expected ${src.size}`, { adapter: id, op: "put", key });
      }
      const actual = counter.digest();
      if (actual !== src.sha256) {
        throw new ChecksumMismatchError(`source bytes hash to ${actual}, expected ${src.sha256}`, {
          adapter: id, op: "put", key, expected: src.sha256, actual,
        });
      }
    }
    await awaitCommit(src, { adapter: id, op: "put", key });
    await rename(tmp, full);
    committed = true;
    await fsyncDir(dir);
    const s = await stat(full);
    return { key, size: s.size, modifiedAt: s.mtime, durable: true };
  } catch (err) {
    throw err instanceof AdapterError ? err : mapFsError(err, { adapter: id, op: "put", key });
  } finally {
    if (!committed) await unlink(tmp).catch(() => undefined);
  }
}

/** Copies on a destination are production data: owner-only, whatever the umask of the run. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/**
 * mkdir -p whose new folders are 0700 whatever the umask (mkdir's own mode is
 * filtered by it). Returns the first folder made, as mkdir does; folders that
 * were already there keep the mode the operator gave them.
 */
export async function mkdirPrivate(dir: string): Promise<string | undefined> {
  const made = await mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (made) for (let d = dir; d.length >= made.length; d = path.dirname(d)) await chmod(d, DIR_MODE);
  return made;
}

export async function fsyncDir(dir: string): Promise<void> {
  // Makes the rename durable; some platforms refuse to open a folder, which is fine.
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}
