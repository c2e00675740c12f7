/**
 * A few worker threads that run check pieces (checkPieces.ts), started once
 * and reused for every database of a run: a worker costs ~30 ms of CPU to
 * start (V8 isolate, better-sqlite3), which for a fleet of small databases was
 * most of their check time. Idle workers are unref'd, so a pool nobody closed
 * never keeps the process alive; the run closes it all the same.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { compiledWorker } from "../runtime/workerScript.js";
import { runPiece, type CheckPiece, type PieceResult } from "./checkPieces.js";

export interface CheckPool {
  run(file: string, piece: CheckPiece): Promise<PieceResult>;
  close(): Promise<void>;
}

export interface CheckPoolOptions {
  /** Workers at most; default the cores there are, up to 4 (SQLite's checks are CPU-bound, one core each). */
  size?: number;
  /**
   * Niceness the workers give themselves (Linux: per thread). A backup runs
   * its checks at 10, so the application's own threads win the CPU when the
   * two compete; a restore, which someone is waiting for, at 0.
   */
  nice?: number;
}

interface Task {
  file: string;
  piece: CheckPiece;
  resolve: (r: PieceResult) => void;
  reject: (e: Error) => void;
}

type Reply = { ok: true; result: PieceResult } | { ok: false; message: string };

export function createCheckPool(opts: CheckPoolOptions = {}): CheckPool {
  const size = Math.max(1, opts.size ?? Math.min(availableParallelism(), 4));
  const workerUrl = compiledWorker("snapshotWorker.js", import.meta.url);
  const queue: Task[] = [];
  const idle: Worker[] = [];
  const all = new Set<Worker>();
  let started = 0;
  let closed = false;

  const spawn = (): Worker => {
    started++;
    // A small heap: the work happens inside SQLite, not in JS.
    const w = new Worker(workerUrl!, { workerData: { nice: opts.nice ?? 0 }, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 } });
    all.add(w);
    w.once("exit", () => all.delete(w));
    return w;
  };

  const dispatch = (): void => {
    while (queue.length && !closed) {
      const worker = idle.pop() ?? (started < size ? spawn() : undefined);
      if (!worker) return;
      const task = queue.shift()!;
      worker.ref();
      const done = (fn: () => void, keep: boolean) => {
        worker.removeAllListeners("message").removeAllListeners("error");
        worker.off("exit", onExit);
        if (keep && !closed) {
          worker.unref();
          idle.push(worker);
        } else {
          started--;
          void worker.terminate();
        }
        fn();
        dispatch();
      };
      worker.once("message", (reply: Reply) =>
        done(() => (reply.ok ? task.resolve(reply.result) : task.reject(new Error(reply.message))), true),
      );
      worker.once("error", (err) => done(() => task.reject(err), false));
      const onExit = (code: number) => done(() => task.reject(new Error(`check worker exited with code ${code}`)), false);
      worker.once("exit", onExit);
      worker.postMessage({ file: task.file, piece: task.piece });
    }
  };

  return {
    run(file, piece) {
      if (closed) return Promise.reject(new Error("check pool is closed"));
      // Loaded from TypeScript (a test runner): a worker cannot load .ts, so run inline.
      if (!workerUrl) {
        return new Promise((resolve, reject) =>
          setImmediate(() => {
            try {
              resolve(runPiece(file, piece));
            } catch (err) {
              reject(err as Error);
            }
          }),
        );
      }
      return new Promise((resolve, reject) => {
        queue.push({ file, piece, resolve, reject });
        dispatch();
      });
    },
    async close() {
      closed = true;
      for (const t of queue.splice(0)) t.reject(new Error("check pool is closed"));
      // Busy workers too: a run that stops early must not leave checks running.
      idle.length = 0;
      await Promise.all([...all].map((w) => w.terminate()));
    },
  };
}
