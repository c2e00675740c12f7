import { parentPort, workerData } from "node:worker_threads";
import { verifySnapshot, type VerifyJob } from "./checks.js";
import { VerificationError } from "../runtime/errors.js";

/**
 * Runs `verifySnapshot` off the main thread: integrity_check of a 1 GiB
 * database takes ~2.5 s of CPU, which overlaps with compressing the snapshot
 * (backup) or hashing the restored file (restore) instead of adding to it.
 */
const job = workerData as VerifyJob;
try {
  const checked = verifySnapshot(job);
  parentPort!.postMessage({ ok: true, checked });
} catch (err) {
  parentPort!.postMessage({
    ok: false,
    failures: err instanceof VerificationError ? err.failures : [(err as Error).message],
  });
}
