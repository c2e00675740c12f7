/**
 * Aborts a part request whose body makes no progress for `ms`: the SDK's
 * socket timeout alone let a stalled part run about three times as long
 * (it waits up to 6 s for "100 Continue" before sending, registers socket
 * timeouts of 6 s or more 3 s late, and the body filling the socket buffers
 * counts as activity). Progress is the body being read, or the answer.
 */
export function stallWatch(
  body: NodeJS.EventEmitter,
  outer: AbortSignal,
  ms: number,
): { signal: AbortSignal; ended: Promise<never>; stalled: boolean; ms: number; done(): void } {
  const own = new AbortController();
  const signal = AbortSignal.any([outer, own.signal]);
  const ended = new Promise<never>((_, reject) => {
    const onEnd = () => reject(signal.reason);
    if (signal.aborted) onEnd();
    else signal.addEventListener("abort", onEnd, { once: true });
  });
  ended.catch(() => undefined);
  const state = { signal, ended, stalled: false, ms, done: () => clearTimeout(timer) };
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.stalled = true;
      own.abort();
    }, ms);
    timer.unref?.();
  };
  body.on("data", arm);
  body.once("end", () => clearTimeout(timer)); // the whole part is sent: the socket timeout bounds the answer
  arm();
  return state;
}
