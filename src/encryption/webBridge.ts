/** encryption/: a Node Duplex around a web-stream transform that is only known once its input is flowing. */
import { Duplex } from "node:stream";

/**
 * typage (age-encryption) speaks web streams, and its decrypter reads the
 * age header before it hands back the plaintext stream, so the readable side
 * cannot be built until bytes are being written. This Duplex accepts writes
 * at once (into a web TransformStream, with its backpressure) and starts
 * reading from `make`'s result when the first read is asked for. Chunk
 * by chunk, so memory stays at a few 64 KiB age chunks.
 */
export function webTransformDuplex(make: (input: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>): Duplex {
  // Bytes, counted by size: one 1 MiB read from disk fills the queue, a second waits.
  const pipe = new TransformStream<Uint8Array, Uint8Array>({}, { highWaterMark: 1 << 20, size: (c) => c.byteLength }, { highWaterMark: 1 << 20, size: (c) => c.byteLength });
  const writer = pipe.writable.getWriter();
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  // Started at once: the decrypter must see the header while the writes arrive.
  const output = make(pipe.readable).then((s) => (reader = s.getReader()));
  let pulling = false;
  const duplex: Duplex = new Duplex({
    writableHighWaterMark: 1 << 20,
    readableHighWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, done) {
      writer.ready.then(() => {
        // Not awaited: `ready` is the backpressure; a failure shows in the next `ready` or in `close`.
        writer.write(chunk).catch(() => {});
        done();
      }, done);
    },
    final(done) {
      writer.close().then(() => done(), done);
    },
    read() {
      if (pulling) return;
      pulling = true;
      void pull();
    },
    destroy(err, done) {
      void writer.abort(err ?? undefined).catch(() => {});
      void reader?.cancel(err ?? undefined).catch(() => {});
      done(err);
    },
  });
  async function pull(): Promise<void> {
    try {
      const r = await output;
      for (;;) {
        const { done, value } = await r.read();
        if (done) {
          duplex.push(null);
          return;
        }
        if (!duplex.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) break;
      }
      pulling = false;
    } catch (err) {
      duplex.destroy(err as Error);
    }
  }
  // A failed `make` (a wrong key, a bad header) errors the duplex instead of leaving it waiting.
  output.catch((err: Error) => duplex.destroy(err));
  return duplex;
}
