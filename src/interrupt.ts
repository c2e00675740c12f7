import { TriplicateError } from "./errors.js";

/**
 * The first SIGINT or SIGTERM aborts `signal` instead of killing the process,
 * so work in progress can remove what it half-wrote (a restore's temp file next
 * to the production database, a deep check's scratch copy) and say it was
 * interrupted. Work that cannot be aborted (listing a hung destination, an
 * integrity_check under way) gets `graceMs` to finish; then the process exits
 * with 1. A second signal ends the process at once, the usual way.
 */
export function abortOnSignals(graceMs = 10_000): { signal: AbortSignal; dispose: () => void } {
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
  return { signal: controller.signal, dispose };
}

export class InterruptedError extends TriplicateError {
  constructor(readonly signalName: string) {
    super(`interrupted by ${signalName}`);
  }
}
