import { open } from "node:fs/promises";

/** Rots one byte of a file in place (at `at`, or the middle): damage that sizes cannot see. */
export async function flipByte(file: string, at?: number): Promise<void> {
  const h = await open(file, "r+");
  try {
    const where = at ?? Math.floor((await h.stat()).size / 2);
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, where);
    b[0] ^= 0xff;
    await h.write(b, 0, 1, where);
  } finally {
    await h.close();
  }
}
