/**
 * What the adapters over a tree of files (local, sftp) share: the temp name a
 * put writes before it commits, and the walk that lists a tree by key.
 */

/** Temp files are hidden (leading dot) and carry a recognisable marker. */
const TMP_MARKER = ".tmp-";

export function isTempName(name: string): boolean {
  return name.startsWith(".") && name.includes(TMP_MARKER);
}

/** `.<name>.tmp-<pid>-<random>`, written beside `name` and renamed onto it. */
export function tempNameFor(name: string, randomId: () => string): string {
  return `.${name}${TMP_MARKER}${process.pid}-${randomId()}`;
}

/** One entry of a folder listing; node's Dirent has this shape. */
export interface FolderEntry {
  name: string;
  isDirectory(): boolean;
  isFile(): boolean;
}

/**
 * Files under the tree whose key starts with prefix: committed files, or with
 * `temporary` only our temp files. `readDir(rel)` lists one folder ("" is the
 * root) and returns [] for one that is gone. Subfolders are visited depth
 * first, in the order readDir gives them, and only where the prefix could
 * still match.
 */
export async function* walkFiles<E extends FolderEntry>(
  prefix: string,
  temporary: boolean,
  readDir: (rel: string) => Promise<E[]>,
): AsyncGenerator<{ key: string; rel: string; entry: E }> {
  const stack: string[] = [""];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const subdirs: string[] = [];
    for (const entry of await readDir(rel)) {
      const key = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Descend only where the prefix could still match.
        if (prefix === "" || prefix.startsWith(key + "/") || key.startsWith(prefix)) subdirs.push(key);
        continue;
      }
      if (!entry.isFile() || !key.startsWith(prefix)) continue;
      if (isTempName(entry.name) !== temporary) continue;
      yield { key, rel, entry };
    }
    stack.push(...subdirs.reverse());
  }
}
