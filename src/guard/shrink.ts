/**
 * guard/: what keeps retention from eating good history on a bad night. This
 * file: a source that suddenly lost its data. The new snapshot is held
 * against the last good one (the newest complete snapshot on any reachable
 * destination that was not itself an unaccepted anomaly); an emptied source,
 * a lost table or a shrink beyond `guard.maxShrink` is an anomaly: the copy
 * still ships (it is a true copy of the source), but nothing is deleted.
 */
import type { GuardConfig } from "../config/schema.js";
import type { Manifest } from "../publish/manifest.js";
import type { CopyRecord } from "../catalog/inventory.js";

export type ShrinkKind = "emptied" | "table-lost" | "rows" | "table-rows" | "raw-size";

export interface ShrinkFinding {
  kind: ShrinkKind;
  /** The table, for table-lost and table-rows. */
  table?: string;
  before: number;
  after: number;
  message: string;
}

/** What the manifest and the report record about a snapshot that shrank. */
export interface Anomaly {
  /** The snapshot it was compared with. */
  baseline: string;
  findings: ShrinkFinding[];
  /** Set by `backup --accept-shrink`: the shrink is meant, and this snapshot is the new baseline. */
  accepted: boolean;
}

/** The facts of a snapshot that the comparison needs. */
export interface SizeFacts {
  rowCounts: Record<string, number>;
  rawSize: number;
}

export const factsOf = (m: Manifest): SizeFacts => ({ rowCounts: m.sqlite.rowCounts, rawSize: m.raw.size });

/** A manifest that may serve as the baseline: not an anomaly, or one an operator accepted. */
export const isGoodBaseline = (m: Manifest): boolean => !m.anomaly || m.anomaly.accepted;

/**
 * The newest complete snapshot of `db` among these copies (from every
 * reachable destination) whose manifest `accept` allows; by snapshot id,
 * which sorts by creation time.
 */
export function newestComplete(copies: CopyRecord[], db: string, accept: (m: Manifest) => boolean = () => true): CopyRecord | undefined {
  let best: CopyRecord | undefined;
  for (const c of copies) {
    if (c.db !== db || c.state !== "complete" || !c.manifest || !accept(c.manifest)) continue;
    if (!best || c.snapshotId > best.snapshotId) best = c;
  }
  return best;
}

/** How the new snapshot compares with the baseline; empty when nothing shrank beyond the guard. */
export function compareWithBaseline(before: SizeFacts, after: SizeFacts, guard: Pick<GuardConfig, "maxShrink" | "minTableRows">): ShrinkFinding[] {
  const out: ShrinkFinding[] = [];
  const tablesBefore = Object.keys(before.rowCounts);
  const rowsBefore = sum(before.rowCounts);
  const rowsAfter = sum(after.rowCounts);
  const tablesAfter = Object.keys(after.rowCounts).length;
  if (tablesBefore.length > 0 && tablesAfter === 0) {
    out.push({ kind: "emptied", before: tablesBefore.length, after: 0, message: `the database has no tables (had ${tablesBefore.length} tables, ${rowsBefore} rows)` });
  } else if (rowsBefore > 0 && rowsAfter === 0) {
    out.push({ kind: "emptied", before: rowsBefore, after: 0, message: `every table is empty (had ${rowsBefore} rows)` });
  }
  if (before.rawSize > 0 && after.rawSize === 0) {
    out.push({ kind: "emptied", before: before.rawSize, after: 0, message: `the database file is empty (was ${before.rawSize} bytes)` });
  }
  if (tablesAfter > 0) {
    for (const t of tablesBefore.filter((name) => !(name in after.rowCounts))) {
      out.push({ kind: "table-lost", table: t, before: before.rowCounts[t], after: 0, message: `table ${t} is gone (had ${before.rowCounts[t]} rows)` });
    }
  }
  if (out.some((f) => f.kind === "emptied")) return out;
  const shrank = (b: number, a: number) => b > 0 && (b - a) / b > guard.maxShrink;
  if (shrank(rowsBefore, rowsAfter)) out.push(finding("rows", rowsBefore, rowsAfter, "rows in all"));
  for (const t of tablesBefore) {
    const b = before.rowCounts[t];
    const a = after.rowCounts[t];
    if (a !== undefined && b >= guard.minTableRows && shrank(b, a)) out.push({ ...finding("table-rows", b, a, `rows in table ${t}`), table: t });
  }
  if (shrank(before.rawSize, after.rawSize)) out.push(finding("raw-size", before.rawSize, after.rawSize, "bytes (raw database size)"));
  return out;
}

function finding(kind: ShrinkKind, before: number, after: number, what: string): ShrinkFinding {
  return { kind, before, after, message: `${before} → ${after} ${what} (${percentChange(before, after)})` };
}

export function percentChange(before: number, after: number): string {
  return `${(((after - before) / before) * 100).toFixed(1)}%`;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/**
 * The words that tell an operator how to go on, used by backup and prune
 * alike. Raising the threshold only helps with a proportional shrink: an
 * emptied database or a lost table is always an anomaly until accepted.
 */
export function howToAccept(maxShrink: number, findings: { kind: string }[]): string {
  const proportional = findings.every((f) => f.kind === "rows" || f.kind === "table-rows" || f.kind === "raw-size");
  const raise = proportional ? `, or raise guard.maxShrink (now ${Math.round(maxShrink * 100)}%)` : "";
  return (
    `if the data really went away on purpose, run "triplicate backup --accept-shrink" once (that snapshot becomes the new baseline)${raise}; ` +
    `otherwise restore the database from the last good snapshot`
  );
}
