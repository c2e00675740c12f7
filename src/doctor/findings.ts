/** The diagnosis in words: each finding names the damage and the file it is in. */
import type { DbChecks } from "./checks.js";
import type { DamageMap } from "./damageMap.js";
import type { HeaderFacts } from "./header.js";
import type { SideFacts } from "./sideFiles.js";

export type Verdict = "healthy" | "damaged" | "index-damage" | "hot-journal" | "not-a-database" | "unopenable";

export function findingsOf(x: { path: string; header: HeaderFacts; side: SideFacts; openError?: string; checks?: DbChecks; damage?: DamageMap }): { verdict: Verdict; findings: string[] } {
  const f: string[] = [];
  const { header: h, side } = x;
  if (!h.magic) return { verdict: "not-a-database", findings: [`${x.path} does not start with the SQLite header: not a database, or its first page is gone`] };
  if (h.truncated) f.push(`truncated: the header says ${h.headerPageCount} pages, the file holds ${Math.floor(h.filePages!)}; the pages after the cut are lost`);
  if (side.journal?.hot) {
    f.push(`hot journal: ${side.journal.path} (${side.journal.size} bytes) holds the undo of a transaction that never finished; SQLite rolls it back at the next open for writing: never delete it, never copy the database without it`);
  }
  if (side.wal?.committedFrames) {
    f.push(`${side.wal.path} holds ${side.wal.committedFrames} committed frame(s) (${side.wal.transactions} transaction(s)) not yet checkpointed into the main file: a copy of the main file alone loses them`);
  }
  if (x.openError) return { verdict: "unopenable", findings: [...f, `SQLite cannot open it: ${x.openError}`] };
  const d = x.damage;
  if (d && !d.schemaReadable) f.push(`the schema (sqlite_schema, from page 1) cannot be read: ${d.schemaError}`);
  for (const t of d?.tables.filter((t) => t.damaged) ?? []) {
    f.push(`table ${t.name}: damaged${t.error ? ` (a full scan read ${t.readableRows} rows, then: ${t.error})` : " (named by the checks)"}`);
  }
  for (const i of d?.damagedIndexes ?? []) {
    f.push(`index ${i.name} (on ${i.table}): damaged${d?.indexOnly ? (d.reindexFixes ? "; REINDEX fixes it (tried on a copy)" : "; REINDEX on a copy did not fix it") : ""}`);
  }
  for (const m of d?.unattributed ?? []) f.push(`check: ${m}`);
  const c = x.checks;
  for (const chk of [c?.quickCheck, c?.integrityCheck]) if (chk?.aborted) f.push(`a check stopped early: ${chk.aborted}`);
  const checksOk = !!c && c.quickCheck.ok && (c.integrityCheck?.ok ?? true);
  const damaged = !checksOk || h.truncated || (d?.tables.some((t) => t.damaged) ?? false) || (d ? !d.schemaReadable : false);
  if (damaged) return { verdict: d?.indexOnly && !h.truncated ? "index-damage" : "damaged", findings: f };
  if (side.journal?.hot) return { verdict: "hot-journal", findings: f };
  return { verdict: "healthy", findings: f };
}
