import { TriplicateError } from "./errors.js";

/**
 * Runs `work` with the first SIGINT or SIGTERM turned into an abort of its
 * signal instead of killing the process, so work in progress can remove what
 * it half-wrote (a restore's temp file next to the production database, a
 * deep check's scratch copy) and say it was interrupted. Work that cannot be
 * aborted (listing a hung destination, an integrity_check under way) gets
 * `graceMs` to finish; then the process exits with 1. A second signal ends the
 * process at once, the usual way. The handlers are gone when `work` settles.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>, graceMs = 10_000): Promise<T> {
  const controller = new AbortController();
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => {
    const handler = () => {
      dispose();
      process.stderr.write(`triplicate: ${name}: stopping and cleaning up (send it again to quit at once)\n`);
      controller.abort(new InterruptedError(name));
      setTimeout(() => process.exit(1), graceMs).unref();
    };
    process.once(name, handler);
    return [name, handler] as const;
  });
  const dispose = () => handlers.forEach(([name, handler]) => process.removeListener(name, handler));
  try {
    return await work(controller.signal);
  } finally {
    dispose();
  }
}

export class InterruptedError extends TriplicateError {
  constructor(readonly signalName: string) {
    super(`interrupted by ${signalName}`);
  }
}
