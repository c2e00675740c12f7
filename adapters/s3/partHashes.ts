import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";

/**
 * One sequential read of `path` that hashes the whole file and, separately,
 * each of `ranges` (contiguous, from 0). Part hashes resolve as the read
 * passes them, so uploads can start long before the whole hash is known.
 */
export function hashFileParts(
  path: string,
  ranges: readonly { start: number; end: number }[],
  signal: AbortSignal,
): { parts: Promise<Buffer>[]; whole: Promise<string> } {
  const settle: { resolve: (b: Buffer) => void; reject: (e: unknown) => void }[] = [];
  const parts = ranges.map(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        settle.push({ resolve, reject });
      }),
  );
  for (const p of parts) p.catch(() => undefined); // parts never asked for must not be unhandled rejections
  const total = ranges.length > 0 ? ranges[ranges.length - 1].end : 0;
  const whole = (async () => {
    const all = createHash("sha256");
    let i = 0;
    let part = createHash("sha256");
    let pos = 0;
    // 1 MiB reads: the pass runs at disk speed, far ahead of the network.
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>) {
      all.update(chunk);
      let off = 0;
      while (off < chunk.length) {
        if (i >= ranges.length) throw new Error(`the file grew past the declared ${total} bytes while it was read`);
        const take = Math.min(chunk.length - off, ranges[i].end - pos);
        part.update(chunk.subarray(off, off + take));
        off += take;
        pos += take;
        if (pos === ranges[i].end) {
          settle[i++].resolve(part.digest());
          part = createHash("sha256");
        }
      }
    }
    if (pos !== total) throw new Error(`the file ended after ${pos} bytes, expected ${total}`);
    return all.digest("hex");
  })();
  whole.catch((err) => {
    for (const s of settle) s.reject(err); // no-op for parts already resolved
  });
  return { parts, whole };
}
