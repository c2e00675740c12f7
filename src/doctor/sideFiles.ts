/**
 * The -wal, -shm and -journal beside a database, read with plain reads: a
 * hot journal (a transaction that never finished) and committed frames in a
 * -wal (rows not yet in the main file) both decide what a copy must include.
 */
import { open, stat } from "node:fs/promises";

export interface SideFile {
  path: string;
  size: number;
}

export interface SideFacts {
  wal?: SideFile & { frames: number; committedFrames: number; transactions: number };
  shm?: SideFile;
  /** hot: a rollback journal with a live header: the main file holds half a transaction until SQLite rolls it back. */
  journal?: SideFile & { hot: boolean };
}

const JOURNAL_MAGIC = Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);

async function sized(p: string): Promise<SideFile | undefined> {
  try {
    return { path: p, size: (await stat(p)).size };
  } catch {
    return undefined;
  }
}

async function readAll(p: string): Promise<Buffer> {
  const h = await open(p, "r");
  try {
    return await h.readFile();
  } finally {
    await h.close();
  }
}

export async function readSideFiles(file: string): Promise<SideFacts> {
  const facts: SideFacts = {};
  const wal = await sized(`${file}-wal`);
  if (wal) facts.wal = { ...wal, ...walFrames(wal.size >= 32 ? await readAll(wal.path) : Buffer.alloc(0)) };
  facts.shm = await sized(`${file}-shm`);
  const journal = await sized(`${file}-journal`);
  if (journal) {
    // A journal whose header was zeroed or truncated is finished (journal_mode PERSIST/TRUNCATE); only a live header is hot.
    const head = journal.size >= 8 ? (await readAll(journal.path)).subarray(0, 8) : Buffer.alloc(0);
    facts.journal = { ...journal, hot: head.equals(JOURNAL_MAGIC) };
  }
  if (!facts.shm) delete facts.shm;
  return facts;
}

/**
 * Valid frames of a -wal (salts and running checksum match, as SQLite checks
 * them on recovery), and how many of them end a committed transaction: only
 * frames up to the last commit frame are part of the database.
 */
export function walFrames(b: Buffer): { frames: number; committedFrames: number; transactions: number } {
  const none = { frames: 0, committedFrames: 0, transactions: 0 };
  if (b.length < 32) return none;
  const magic = b.readUInt32BE(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) return none;
  const bigEndian = magic === 0x377f0683;
  const pageSize = b.readUInt32BE(8);
  let [s1, s2] = checksum(b.subarray(0, 24), 0, 0, bigEndian);
  if (s1 !== b.readUInt32BE(24) || s2 !== b.readUInt32BE(28)) return none;
  const salt = b.subarray(16, 24);
  let frames = 0;
  let committedFrames = 0;
  let transactions = 0;
  for (let at = 32; at + 24 + pageSize <= b.length; at += 24 + pageSize) {
    if (!b.subarray(at + 8, at + 16).equals(salt)) break;
    [s1, s2] = checksum(b.subarray(at, at + 8), s1, s2, bigEndian);
    [s1, s2] = checksum(b.subarray(at + 24, at + 24 + pageSize), s1, s2, bigEndian);
    if (s1 !== b.readUInt32BE(at + 16) || s2 !== b.readUInt32BE(at + 20)) break;
    frames++;
    if (b.readUInt32BE(at + 4) !== 0) {
      committedFrames = frames;
      transactions++;
    }
  }
  return { frames, committedFrames, transactions };
}

/** The WAL checksum (sqlite.org/fileformat.html, "Checksum Algorithm"), over 32-bit words in the -wal's byte order. */
function checksum(data: Buffer, s1: number, s2: number, bigEndian: boolean): [number, number] {
  for (let i = 0; i + 8 <= data.length; i += 8) {
    const x0 = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i);
    const x1 = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4);
    s1 = (s1 + x0 + s2) >>> 0;
    s2 = (s2 + x1 + s1) >>> 0;
  }
  return [s1, s2];
}
