/**
 * Which tables and indexes are damaged. A table is damaged when reading it
 * end to end fails, or a check names its b-tree; an index when a check names
 * it. When only indexes are damaged, REINDEX rebuilds them from the tables:
 * that is tried on a scratch copy, so "REINDEX fixes it" is a fact, not a guess.
 */
import type Database from "better-sqlite3";
import { countUntilError, openForDoctor, runCheck, type CheckResult } from "./checks.js";
import { workCopy } from "./workCopy.js";

export interface SchemaObject {
  type: "table" | "index";
  name: string;
  table: string;
  rootpage: number;
}

export interface DamageMap {
  /** False when sqlite_schema itself (page 1 onwards) cannot be read: nothing can be named. */
  schemaReadable: boolean;
  schemaError?: string;
  tables: { name: string; readableRows: number; damaged: boolean; error?: string }[];
  damagedIndexes: { name: string; table: string }[];
  /** Problems no table or index could be matched to. */
  unattributed: string[];
  indexOnly: boolean;
  /** Set when indexOnly: whether REINDEX on a scratch copy made integrity_check pass. */
  reindexFixes?: boolean;
}

export function schemaObjects(db: Database.Database): SchemaObject[] {
  return db
    .prepare("SELECT type, name, tbl_name AS \"table\", rootpage FROM sqlite_schema WHERE type IN ('table', 'index') AND rootpage > 0 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type DESC, name")
    .all() as SchemaObject[];
}

export const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Names the objects the check messages point at: "Tree N" (a root page) or "... index NAME". */
function attribute(messages: string[], objects: SchemaObject[]): { names: Set<string>; unattributed: string[] } {
  const byRoot = new Map(objects.map((o) => [o.rootpage, o.name]));
  const names = new Set<string>();
  const unattributed: string[] = [];
  for (const m of messages) {
    const root = /(?:^|\s)Tree (\d+)\b|^On tree page (\d+)\b/.exec(m);
    const idx = /\bindex (\S+)$/.exec(m);
    const named = idx ? idx[1] : root ? byRoot.get(Number(root[1] ?? root[2])) : undefined;
    if (named && objects.some((o) => o.name === named)) names.add(named);
    else unattributed.push(m);
  }
  return { names, unattributed };
}

export function mapDamage(db: Database.Database, checks: CheckResult[]): DamageMap {
  let objects: SchemaObject[];
  try {
    objects = schemaObjects(db);
  } catch (err) {
    return { schemaReadable: false, schemaError: (err as Error).message, tables: [], damagedIndexes: [], unattributed: [], indexOnly: false };
  }
  const { names, unattributed } = attribute(checks.flatMap((c) => c.errors), objects);
  const tables = objects
    .filter((o) => o.type === "table")
    .map((t) => {
      const scan = countUntilError(db, `SELECT * FROM ${quoteId(t.name)} NOT INDEXED`);
      return { name: t.name, readableRows: scan.count, damaged: !!scan.error || names.has(t.name), ...(scan.error ? { error: scan.error } : {}) };
    });
  const damagedIndexes = objects.filter((o) => o.type === "index" && names.has(o.name)).map((o) => ({ name: o.name, table: o.table }));
  const indexOnly = damagedIndexes.length > 0 && !tables.some((t) => t.damaged) && unattributed.length === 0 && checks.every((c) => !c.aborted);
  return { schemaReadable: true, tables, damagedIndexes, unattributed, indexOnly };
}

/** REINDEX on a private copy of the file set, then integrity_check: does it fix the damage? */
export async function tryReindex(file: string, scratch: string | undefined): Promise<boolean> {
  const copy = await workCopy(file, "REINDEX test", scratch);
  try {
    const db = openForDoctor(copy.file, true);
    try {
      db.exec("REINDEX");
      return runCheck(db, "integrity_check").ok;
    } catch {
      return false;
    } finally {
      db.close();
    }
  } finally {
    await copy.dispose();
  }
}
