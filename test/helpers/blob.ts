import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { BlobSource } from "../../adapters/types.js";

/** A BlobSource over a buffer, for tests. */
export function bufferSource(data: Buffer | string, overrides: Partial<BlobSource> = {}): BlobSource {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return {
    open: () => Readable.from([buf]),
    size: buf.length,
    sha256: createHash("sha256").update(buf).digest("hex"),
    ...overrides,
  };
}

/** A source whose stream fails after `after` bytes: a network drop or a dying disk. */
export function failingSource(data: Buffer, after: number): BlobSource {
  const ok = bufferSource(data);
  return {
    ...ok,
    open: () =>
      new Readable({
        read() {
          this.push(data.subarray(0, after));
          this.destroy(new Error("source broke mid-stream"));
        },
      }),
  };
}

export async function readAll(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}
