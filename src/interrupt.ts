import { TriplicateError } from "./errors.js";

/**
 * The first SIGINT or SIGTERM aborts `signal` instead of killing the process,
 * so work in progress can remove what it half-wrote (a restore's temp file next
 * to the production database, a deep check's scratch copy) and say it was
 * interrupted. A second signal ends the process the usual way.
 */
export function abortOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => {
    const handler = () => {
      dispose();
      controller.abort(new InterruptedError(name));
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
