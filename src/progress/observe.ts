/**
 * Feeding the live lines without the core knowing about them: a thin layer
 * over each destination's adapter counts the bytes of artifact transfers as
 * they stream (upload, read-back, restore download), and the run's own log
 * messages move the snapshot line along.
 */
import { Transform, pipeline, type Readable } from "node:stream";
import type { StorageAdapter } from "../../adapters/types.js";
import { parseKey } from "../publish/ids.js";
import type { Progress } from "./terminal.js";

/**
 * `source` through a byte counter. pipeline, not pipe: an error on either side
 * reaches the reader, and destroying the result destroys the source (which is
 * what gives a download's connection slot back).
 */
function counted(source: Readable, report: (bytes: number) => void): Readable {
  return pipeline(source, counter(report), () => undefined);
}

function counter(report: (bytes: number) => void): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      n += chunk.length;
      report(n);
      done(null, chunk);
    },
  });
}

export function withProgress(adapter: StorageAdapter, destination: string, progress: Progress): StorageAdapter {
  if (!progress.enabled) return adapter;
  const sizes = new Map<string, number>();
  const uploaded = new Set<string>();
  const line = () => progress.transfer(destination);
  const isArtifact = (key: string) => parseKey(key)?.kind === "artifact";
  return {
    id: adapter.id,
    capabilities: adapter.capabilities,
    async put(key, src, signal) {
      if (!isArtifact(key)) {
        if (parseKey(key)?.kind === "manifest") line().note("manifest");
        return adapter.put(key, src, signal);
      }
      uploaded.add(key);
      sizes.set(key, src.size);
      line().phase("upload", src.size);
      // Stream uploads are counted as they go; a transfer an adapter makes from the staged
      // file itself (local copyFile, SFTP fastPut, S3 multipart parts) reports through onProgress.
      const source = { ...src, open: () => counted(src.open(), (n) => line().update(n)), onProgress: (n: number) => line().update(n) };
      const info = await adapter.put(key, source, signal);
      line().update(src.size);
      return info;
    },
    async get(key, signal, from) {
      const stream = await adapter.get(key, signal, from);
      if (!isArtifact(key)) return stream;
      const phase = uploaded.has(key) ? "read back" : "download";
      line().phase(phase, sizes.get(key) ?? 0);
      return counted(stream, (n) => line().update(n + (from ?? 0)));
    },
    stat: (...args) => adapter.stat(...args),
    async *list(prefix, signal) {
      for await (const o of adapter.list(prefix, signal)) {
        if (isArtifact(o.key)) sizes.set(o.key, o.size);
        yield o;
      }
    },
    delete: (...args) => adapter.delete(...args),
    sweepTemporary: (...args) => adapter.sweepTemporary(...args),
    ...(adapter.freeSpace ? { freeSpace: (signal?: AbortSignal) => adapter.freeSpace!(signal) } : {}),
    close: () => adapter.close(),
  };
}

/** The run's log messages that move the snapshot line, by message text (src/backup/prepare.ts, src/restore/run.ts). */
export function stageFromLog(progress: Progress, msg: string, db: string | undefined): void {
  if (!progress.enabled) return;
  const who = db ? `${db}: ` : "";
  if (msg === "taking snapshot") progress.stage(`${who}snapshot and checks (integrity_check, foreign keys, row counts) ...`);
  else if (msg === "snapshot verified and packed") progress.stage(`${who}snapshot verified and packed; shipping`);
  else if (msg.startsWith("restoring from ")) progress.stage(`${who}${msg}; then hashes and integrity_check`);
}
