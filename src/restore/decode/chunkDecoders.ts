import { writeSync } from "node:fs";
import { createRequire } from "node:module";
import { createGunzip } from "node:zlib";
import type { CompressionAlgorithm } from "../../artifact/codecs.js";

/**
 * Turns artifact chunks into database bytes, handing each decoded piece to
 * `emit` before `write` returns (zstd, none) or before its promise settles
 * (gzip). `emit` may keep nothing: the buffer it gets is reused.
 */
export interface ChunkDecoder {
  write(chunk: Uint8Array): void | Promise<void>;
  /** The input has ended: throws if it ended inside a compressed frame. */
  end(): void | Promise<void>;
}

export type Emit = (decoded: Uint8Array) => void;

/** A decoder whose output goes straight into `fd` (written in full, synchronously); counts what it wrote. */
export interface FileDecoder extends ChunkDecoder {
  readonly bytesWritten: number;
}

export function openFileDecoder(algorithm: CompressionAlgorithm, fd: number): FileDecoder {
  let bytesWritten = 0;
  const decoder = openChunkDecoder(algorithm, (piece) => {
    for (let off = 0; off < piece.length; ) off += writeSync(fd, piece, off, piece.length - off);
    bytesWritten += piece.length;
  });
  return {
    write: (chunk) => decoder.write(chunk),
    end: () => decoder.end(),
    get bytesWritten() {
      return bytesWritten;
    },
  };
}

/** Output buffer of the zstd decoder: big writes are what make restore fast (measured). */
const ZSTD_OUT_BYTES = 1 << 20;

type ZstdBinding = typeof import("zstd-napi/binding.js");

export function openChunkDecoder(algorithm: CompressionAlgorithm, emit: Emit): ChunkDecoder {
  switch (algorithm) {
    case "zstd":
      return zstdDecoder(loadZstdBinding(), emit);
    case "gzip":
      return gzipDecoder(emit);
    case "none":
      return { write: emit, end: () => {} };
  }
}

/**
 * zstd-napi's documented low-level binding rather than its DecompressStream:
 * one reused 1 MiB output buffer instead of a fresh 128 KiB buffer per push.
 */
function zstdDecoder(binding: ZstdBinding, emit: Emit): ChunkDecoder {
  const dctx = new binding.DCtx();
  const out = new Uint8Array(ZSTD_OUT_BYTES);
  let frameOpen = false;
  return {
    write(chunk) {
      let input = chunk;
      for (;;) {
        const [remaining, produced, consumed] = dctx.decompressStream(out, input);
        if (produced > 0) emit(out.subarray(0, produced));
        input = input.subarray(consumed);
        // Done with this chunk once it is consumed and nothing is left to flush: either the buffer was
        // not filled, or the frame ended exactly at its end. (Asking again after a finished frame would
        // start reading the next frame's header and report a frame as open.)
        if (input.length === 0 && (produced < out.length || remaining === 0)) {
          frameOpen = remaining !== 0;
          return;
        }
      }
    },
    end() {
      if (frameOpen) throw new Error("the artifact ends in the middle of a zstd frame (truncated)");
    },
  };
}

function gzipDecoder(emit: Emit): ChunkDecoder {
  const gunzip = createGunzip();
  let failure: Error | undefined;
  // zlib destroys the stream on a data error without calling the pending write's callback:
  // whoever waits is rejected from here instead.
  let waiting: ((err: Error) => void) | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    waiting?.(failure);
  };
  gunzip.on("error", fail);
  gunzip.on("data", (piece: Buffer) => {
    try {
      emit(piece);
    } catch (err) {
      fail(err as Error);
      gunzip.destroy();
    }
  });
  const settle = (start: (done: (err?: Error | null) => void) => void) =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      waiting = reject;
      start((err) => {
        waiting = undefined;
        if (failure ?? err) reject(failure ?? err);
        else resolve();
      });
    });
  return {
    write: (chunk) => settle((done) => gunzip.write(chunk, done)),
    end: () =>
      settle((done) => {
        gunzip.once("end", () => done());
        gunzip.end();
      }),
  };
}

let binding: ZstdBinding | undefined;
function loadZstdBinding(): ZstdBinding {
  binding ??= createRequire(import.meta.url)("zstd-napi/binding") as ZstdBinding;
  return binding;
}
