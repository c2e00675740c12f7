/**
 * The checks of a snapshot, cut into pieces that separate connections can run
 * at once (checkPool.ts): `integrity_check(T)` for each table with its indexes,
 * one whole-file `quick_check`, `foreign_key_check`, and the facts (row counts,
 * schema hash). Together they check everything one `integrity_check` did:
 *
 * - `integrity_check(T)` is SQLite's own check limited to T's b-trees, with every
 *   check integrity_check makes of them (cells, overflow chains, index entries
 *   against rows, NOT NULL, CHECK). `integrity_check(sqlite_schema)` also walks
 *   the freelist.
 * - A partial check cannot see pages that no b-tree uses, or a page two b-trees
 *   both claim: those need every b-tree walked by one connection. `quick_check`
 *   does exactly that walk over the whole file (without the index cross-checks,
 *   which the per-table pieces make), at about a tenth of integrity_check's cost.
 */
import Database from "better-sqlite3";
import { countRows, FOREIGN_KEY_SAMPLE, SMALL_PAGE_CACHE, schemaHash, type ForeignKeyMode, type ForeignKeyReport, type ForeignKeyViolation } from "./checks.js";

export type CheckPiece =
  | { kind: "integrity"; table: string }
  | { kind: "structure" }
  | { kind: "foreignKeys"; mode: ForeignKeyMode }
  | { kind: "facts" };

/** What one piece found: problems in SQLite's words, and what the piece measured. */
export interface PieceResult {
  problems: string[];
  foreignKeys?: ForeignKeyReport;
  facts?: { pageSize: number; pageCount: number; userVersion: number; schemaSha256: string; rowCounts: Record<string, number> };
  ms: number;
}

/** Tables with storage of their own (virtual tables keep theirs in shadow tables, which are listed). */
export function listTables(db: Database.Database): string[] {
  const names = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name").pluck().all() as string[];
  return ["sqlite_schema", ...names];
}

/**
 * The pieces for a file, most expensive first so the longest one starts at
 * once (row counts stand in for size: they are known before any check runs).
 */
export function planPieces(tables: string[], rowCounts: Record<string, number>, foreignKeys: ForeignKeyMode): CheckPiece[] {
  const total = Object.values(rowCounts).reduce((a, b) => a + b, 0);
  const weighted: { piece: CheckPiece; cost: number }[] = tables.map((table) => ({ piece: { kind: "integrity", table }, cost: rowCounts[table] ?? 0 }));
  weighted.push({ piece: { kind: "structure" }, cost: total * 0.15 });
  if (foreignKeys !== "off") weighted.push({ piece: { kind: "foreignKeys", mode: foreignKeys }, cost: total * 0.3 });
  weighted.push({ piece: { kind: "facts" }, cost: total * 0.05 });
  return weighted.sort((a, b) => b.cost - a.cost).map((w) => w.piece);
}

/** Runs one piece on its own read-only connection. Throws only when the file cannot be opened or read at all. */
export function runPiece(file: string, piece: CheckPiece): PieceResult {
  const started = performance.now();
  const db = new Database(file, { fileMustExist: true, readonly: true });
  try {
    // No mmap_size, on purpose: mapped pages count in RSS and in the kernel's OOM score.
    db.pragma(`cache_size = ${SMALL_PAGE_CACHE}`);
    const result = runOn(db, piece);
    return { ...result, ms: Math.round(performance.now() - started) };
  } finally {
    db.close();
  }
}

function runOn(db: Database.Database, piece: CheckPiece): Omit<PieceResult, "ms"> {
  switch (piece.kind) {
    case "integrity": {
      const rows = db.pragma(`integrity_check("${piece.table.replaceAll('"', '""')}")`) as { integrity_check: string }[];
      return { problems: rows.map((r) => r.integrity_check).filter((m) => m !== "ok").slice(0, 20) };
    }
    case "structure": {
      const rows = db.pragma("quick_check(20)") as { quick_check: string }[];
      return { problems: rows.map((r) => r.quick_check).filter((m) => m !== "ok") };
    }
    case "foreignKeys":
      return { problems: [], foreignKeys: checkForeignKeys(db, piece.mode) };
    case "facts":
      return {
        problems: [],
        facts: {
          pageSize: Number(db.pragma("page_size", { simple: true })),
          pageCount: Number(db.pragma("page_count", { simple: true })),
          userVersion: Number(db.pragma("user_version", { simple: true })),
          schemaSha256: schemaHash(db),
          rowCounts: countRows(db),
        },
      };
  }
}

/**
 * Counts every row foreign_key_check reports and keeps the first few. Iterated,
 * not collected: a database with millions of dangling rows must not need
 * millions of objects in a 64 MB worker heap.
 */
export function checkForeignKeys(db: Database.Database, mode: ForeignKeyMode): ForeignKeyReport {
  if (mode === "off") return { mode, violations: null, first: [] };
  let violations = 0;
  const first: ForeignKeyViolation[] = [];
  for (const row of db.prepare("PRAGMA foreign_key_check").iterate() as Iterable<{ table: string; rowid: number | null; parent: string }>) {
    violations++;
    if (first.length < FOREIGN_KEY_SAMPLE) first.push({ table: row.table, rowid: row.rowid, parent: row.parent });
  }
  return { mode, violations, first };
}
