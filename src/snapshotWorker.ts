import { parentPort, workerData } from "node:worker_threads";
import { verifySnapshot } from "./snapshot.js";
import { VerificationError } from "./errors.js";

/**
 * Runs `verifySnapshot` off the main thread: integrity_check of a 1 GiB
 * snapshot takes ~2.5 s of CPU, which here overlaps with compressing the
 * same file instead of adding to it.
 */
export interface VerifyJob {
  dbName: string;
  file: string;
  expectedCounts: Record<string, number>;
  sourceJournalMode: string;
}

const job = workerData as VerifyJob;
try {
  const facts = verifySnapshot(job.dbName, job.file, job.expectedCounts, job.sourceJournalMode);
  parentPort!.postMessage({ ok: true, facts });
} catch (err) {
  parentPort!.postMessage({
    ok: false,
    failures: err instanceof VerificationError ? err.failures : [(err as Error).message],
  });
}
