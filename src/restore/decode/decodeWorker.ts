import { parentPort, workerData } from "node:worker_threads";
import { openFileDecoder } from "./chunkDecoders.js";
import type { DecodeJob, DecodeReply } from "./toFile.js";

/**
 * Worker side of `DecodeToFile`: decompresses the chunks the main thread
 * posts and writes the result to the file descriptor it owns, with
 * synchronous writes (one thread, no round trip through libuv's pool per
 * write). Every chunk is acknowledged once written, which is the main
 * thread's backpressure.
 */
const job = workerData as DecodeJob;
const port = parentPort!;
const decoder = openFileDecoder(job.algorithm, job.fd);

// Messages are handled one after another: gzip's write is asynchronous.
let queue = Promise.resolve();
let failed = false;
port.on("message", (msg: Uint8Array<ArrayBuffer> | null) => {
  queue = queue.then(async () => {
    // After a failure, batches already queued are not written: the file is about to be removed.
    if (failed) return;
    try {
      if (msg === null) {
        await decoder.end();
        reply({ kind: "done", rawBytes: decoder.bytesWritten });
      } else {
        await decoder.write(msg);
        // The batch goes back to the main thread to be filled again.
        port.postMessage({ kind: "ack", batch: msg, rawBytes: decoder.bytesWritten } satisfies DecodeReply, [msg.buffer]);
      }
    } catch (err) {
      failed = true;
      reply({ kind: "error", message: (err as Error).message });
      port.close();
    }
  });
});

function reply(r: DecodeReply): void {
  port.postMessage(r);
}
