import { getPriority, setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { runPiece, type CheckPiece } from "./checkPieces.js";

/**
 * One worker of the check pool (checkPool.ts): runs check pieces off the main
 * thread, one at a time, for as many databases as the run has. integrity_check
 * of a 1 GiB database takes seconds of CPU, which overlaps with compressing the
 * snapshot (backup) or hashing the restored file (restore) instead of adding to it.
 */
const { nice } = workerData as { nice: number };
if (nice) {
  // On Linux a niceness belongs to a thread: this lowers only this worker. Best effort.
  try {
    // Only ever lower it: a run started under `nice -n 15` stays there.
    setPriority(Math.max(getPriority(), nice));
  } catch {
    /* not permitted here: run at the process's own priority */
  }
}
parentPort!.on("message", (job: { file: string; piece: CheckPiece }) => {
  try {
    parentPort!.postMessage({ ok: true, result: runPiece(job.file, job.piece) });
  } catch (err) {
    parentPort!.postMessage({ ok: false, message: (err as Error).message });
  }
});
