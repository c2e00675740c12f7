/**
 * doctor/: diagnose a damaged database without touching it. This file reads
 * the file set with plain reads (no SQLite, which could write): the 100-byte
 * header, and which side files exist, so the diagnosis has facts even when
 * SQLite cannot open the file at all.
 */
import { open, stat } from "node:fs/promises";

/** The fields of the database header an operator needs (sqlite.org/fileformat.html, "The Database Header"). */
export interface HeaderFacts {
  /** "SQLite format 3\0" at the start; false means not a database (or page 1 is gone). */
  magic: boolean;
  pageSize: number | null;
  /** The page count the header claims; null when SQLite would not trust it (version-valid-for differs from the change counter). */
  headerPageCount: number | null;
  /** The file's size in pages (fractional when the size is not a multiple of the page size). */
  filePages: number | null;
  /** 1 = rollback journal, 2 = WAL (the write/read version bytes). */
  journalModeInHeader: "rollback" | "wal" | "unknown";
  encoding: "UTF-8" | "UTF-16le" | "UTF-16be" | "unknown";
  userVersion: number | null;
  freelistPages: number | null;
  /** The header claims more pages than the file holds: the file was cut off. */
  truncated: boolean;
}

export async function readHeader(file: string): Promise<HeaderFacts & { fileSize: number }> {
  const { size } = await stat(file);
  const h = await open(file, "r");
  const b = Buffer.alloc(100);
  try {
    await h.read(b, 0, 100, 0);
  } finally {
    await h.close();
  }
  const magic = size >= 100 && b.subarray(0, 16).toString("latin1") === "SQLite format 3\0";
  if (!magic) {
    return { fileSize: size, magic, pageSize: null, headerPageCount: null, filePages: null, journalModeInHeader: "unknown", encoding: "unknown", userVersion: null, freelistPages: null, truncated: false };
  }
  const raw = b.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const counterValid = b.readUInt32BE(92) === b.readUInt32BE(24);
  const headerPageCount = counterValid ? b.readUInt32BE(28) : null;
  const filePages = pageSize ? size / pageSize : null;
  const enc = b.readUInt32BE(56);
  return {
    fileSize: size,
    magic,
    pageSize,
    headerPageCount,
    filePages,
    journalModeInHeader: b[18] === 2 && b[19] === 2 ? "wal" : b[18] === 1 && b[19] === 1 ? "rollback" : "unknown",
    encoding: enc === 1 ? "UTF-8" : enc === 2 ? "UTF-16le" : enc === 3 ? "UTF-16be" : "unknown",
    userVersion: b.readInt32BE(60),
    freelistPages: b.readUInt32BE(36),
    truncated: headerPageCount !== null && filePages !== null && headerPageCount > filePages,
  };
}
