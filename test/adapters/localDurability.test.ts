import fs from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLocalAdapter } from "../../adapters/local/index.js";
import { bufferSource } from "../helpers/blob.js";

/**
 * The local commit, watched call by call: every put (a streamed manifest as
 * much as a copied artifact) is written to a temp file, flushed, renamed
 * onto its key, and then the folder is flushed, so "verified" is never said
 * of bytes still only in the page cache.
 */
const events = vi.hoisted(() => [] as string[]);

vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  const open: typeof real.open = async (file, ...rest) => {
    const h = await real.open(file, ...rest);
    const sync = h.sync.bind(h);
    h.sync = async () => {
      events.push(`sync ${String(file)}`);
      return sync();
    };
    return h;
  };
  const rename: typeof real.rename = async (from, to) => {
    events.push(`rename ${String(from)} -> ${String(to)}`);
    return real.rename(from, to);
  };
  return { ...real, default: { ...real, open, rename }, open, rename };
});

afterEach(() => {
  vi.restoreAllMocks();
  events.length = 0;
});

/** Streams (createWriteStream with `flush`) fsync through the callback API: map fds back to paths. */
function watchStreams(): void {
  const fds = new Map<number, string>();
  const realOpen = fs.open;
  vi.spyOn(fs, "open").mockImplementation(((file: fs.PathLike, ...rest: any[]) => {
    const cb = rest.pop();
    return (realOpen as any)(file, ...rest, (err: Error | null, fd: number) => (fd !== undefined && fds.set(fd, String(file)), cb(err, fd)));
  }) as any);
  const realFsync = fs.fsync;
  vi.spyOn(fs, "fsync").mockImplementation(((fd: number, cb: (err: Error | null) => void) => {
    events.push(`sync ${fds.get(fd) ?? `fd ${fd}`}`);
    return realFsync(fd, cb);
  }) as any);
}

describe("local adapter: tmp → fsync → rename → fsync folder, for every put", () => {
  for (const kind of ["a streamed manifest", "a copied artifact (localPath)"]) {
    it(kind, async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), "tri-durable-"));
      try {
        const a = await createLocalAdapter({ path: root }, { logger: pino({ level: "silent" }) });
        await a.put("app/other.bin", bufferSource("x")); // the db folder exists: only the commit is watched
        watchStreams();
        events.length = 0;
        const key = kind.startsWith("a streamed") ? "app/20261125T020000Z-0123abcd.manifest.json" : "app/20261125T020000Z-0123abcd.sqlite.zst";
        let src = bufferSource('{"db":"app"}');
        if (!kind.startsWith("a streamed")) {
          await writeFile(path.join(root, "staged.bin"), "artifact bytes");
          src = { ...bufferSource("artifact bytes"), localPath: path.join(root, "staged.bin") };
        }
        const info = await a.put(key, src);
        expect(info.durable).toBe(true);
        const full = path.join(root, key);
        const rename = events.findIndex((e) => e.startsWith("rename "));
        const tmp = events[rename].match(/^rename (\S+) -> (\S+)$/)!;
        expect(tmp[2]).toBe(full);
        expect(path.basename(tmp[1])).toMatch(new RegExp(`^\\.${path.basename(full).replace(/\./g, "\\.")}\\.tmp-`));
        expect(events.slice(0, rename)).toContain(`sync ${tmp[1]}`);
        expect(events.slice(rename + 1)).toContain(`sync ${path.dirname(full)}`);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }

  it("a new database folder is flushed into its parent too", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "tri-durable-"));
    try {
      const a = await createLocalAdapter({ path: root }, { logger: pino({ level: "silent" }) });
      await a.put("newdb/20261125T020000Z-0123abcd.manifest.json", bufferSource("{}"));
      const made = events.findIndex((e) => e === `sync ${root}`);
      expect(made, events.join("\n")).toBeGreaterThan(-1);
      expect(made).toBeLessThan(events.findIndex((e) => e.startsWith("rename ")));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
