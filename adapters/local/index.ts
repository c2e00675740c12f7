/** The local adapter: backups in a folder on a mounted disk. */
import { open, opendir, readdir, rm, stat, statfs, unlink } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import type { AdapterDeps, BlobSource, ObjectInfo, StorageAdapter } from "../types.js";
import { AdapterError, DestinationConfigError, NotFoundError, PermanentError, assertSafeKey } from "../errors.js";
import { walkFiles } from "../files.js";
import { randomHex } from "../streams.js";
import { mapFsError } from "./errors.js";
import { fsyncDir, mkdirPrivate, putFile } from "./put.js";

export interface LocalConfig {
  /** Absolute or config-relative folder that holds `<db>/<snapshot>` files. */
  path: string;
}

type Fail = (op: string, key: string | undefined, err: unknown) => AdapterError;

/**
 * A folder on a mounted disk. Commits the way litestream and restic do:
 * write a hidden temp file beside the target, fsync, rename, fsync the folder.
 */
export async function createLocalAdapter(config: LocalConfig, deps: AdapterDeps): Promise<StorageAdapter> {
  const root = path.resolve(config.path);
  const id = `local:${root}`;
  const randomId = deps.randomId ?? (() => randomHex());

  const fail: Fail = (op, key, err) => mapFsError(err, { adapter: id, op, key });

  const resolve = (key: string, op: string): string => {
    assertSafeKey(key, { adapter: id, op });
    const full = path.resolve(root, ...key.split("/"));
    if (!full.startsWith(root + path.sep)) {
      throw new PermanentError(`key escapes the destination root`, { adapter: id, op, key });
    }
    return full;
  };

  await checkRoot({ root, id, createRoot: deps.createRoot ?? true });

  const adapter: StorageAdapter = {
    id,
    capabilities: { maxConnections: 4, statAddsDetails: false },

    async put(key: string, src: BlobSource, signal?: AbortSignal): Promise<ObjectInfo> {
      return putFile({ adapter: id, key, full: resolve(key, "put"), randomId }, src, signal);
    },

    async get(key: string, _signal?: AbortSignal, from = 0): Promise<Readable> {
      const full = resolve(key, "get");
      // Open eagerly so a missing file is a NotFoundError here, not a stream error later.
      try {
        const handle = await open(full, "r");
        return handle.createReadStream({ highWaterMark: 1 << 20, start: from });
      } catch (err) {
        throw fail("get", key, err);
      }
    },

    async stat(key: string): Promise<ObjectInfo> {
      const full = resolve(key, "stat");
      try {
        const s = await stat(full);
        if (!s.isFile()) throw new NotFoundError(`not a file`, { adapter: id, op: "stat", key });
        return { key, size: s.size, modifiedAt: s.mtime };
      } catch (err) {
        throw err instanceof AdapterError ? err : fail("stat", key, err);
      }
    },

    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      for await (const entry of walk(root, prefix, false, fail)) yield entry;
    },

    async delete(key: string): Promise<void> {
      const full = resolve(key, "delete");
      try {
        await unlink(full);
        await fsyncDir(path.dirname(full));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw fail("delete", key, err);
      }
    },

    async freeSpace() {
      // bavail, not bfree: what this tool (no root reserve) can still write.
      const s = await statfs(root).catch((err) => {
        throw fail("freeSpace", "", err);
      });
      return { free: Number(s.bavail) * Number(s.bsize), size: Number(s.blocks) * Number(s.bsize) };
    },

    async sweepTemporary(prefix: string, olderThan: Date): Promise<string[]> {
      const removed: string[] = [];
      for await (const entry of walk(root, prefix, true, fail)) {
        if (entry.modifiedAt < olderThan) {
          await rm(path.join(root, ...entry.key.split("/")), { force: true });
          removed.push(entry.key);
        }
      }
      return removed;
    },

    async close(): Promise<void> {},
  };

  return adapter;
}

/** Open-time check: a destination that cannot be used should say so before any upload starts. */
async function checkRoot({ root, id, createRoot }: { root: string; id: string; createRoot: boolean }): Promise<void> {
  try {
    // Without leave to create it, opening the folder is the check (ENOENT, or ENOTDIR for a file).
    if (createRoot) await mkdirPrivate(root);
    else await (await opendir(root)).close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR") {
      throw new DestinationConfigError(`${root} exists but is not a folder; point path at a folder`, { adapter: id, op: "open", cause: err });
    }
    if (code === "ENOENT") {
      throw new NotFoundError(`the folder ${root} does not exist`, { adapter: id, op: "open", cause: err });
    }
    throw mapFsError(err, { adapter: id, op: "open" });
  }
}

/** Files under root whose key starts with prefix; temp files only when `temporary`. */
async function* walk(root: string, prefix: string, temporary: boolean, fail: Fail): AsyncIterable<ObjectInfo> {
  const readDir = async (rel: string) => {
    try {
      return await readdir(path.join(root, ...rel.split("/").filter(Boolean)), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw fail("list", rel || prefix, err);
    }
  };
  for await (const { key } of walkFiles(prefix, temporary, readDir)) {
    try {
      const s = await stat(path.join(root, ...key.split("/")));
      yield { key, size: s.size, modifiedAt: s.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fail("list", key, err);
    }
  }
}
