/** The doctor's report as a person reads it at 3 a.m.; `--json` prints the same data. */
import { formatBytes } from "../runtime/format.js";
import type { DoctorReport } from "./run.js";

export function formatDoctorReport(r: DoctorReport): string {
  const h = r.header;
  const lines = [`triplicate doctor ${r.database.name ?? r.database.path}: ${r.verdict.toUpperCase()} (exit ${r.exitCode})`, `  file      ${r.database.path}  ${formatBytes(h.fileSize)}`];
  if (h.magic) {
    lines.push(
      `  header    page size ${h.pageSize}, ${h.headerPageCount ?? "?"} pages in the header, ${h.filePages !== null ? Math.floor(h.filePages) : "?"} in the file, ` +
        `${h.encoding}, user_version ${h.userVersion}, ${h.journalModeInHeader === "wal" ? "WAL" : "rollback journal"}`,
    );
  }
  const s = r.sideFiles;
  lines.push(
    `  beside it ${[
      s.wal ? `-wal ${formatBytes(s.wal.size)} (${s.wal.committedFrames} committed frames)` : "",
      s.shm ? `-shm ${formatBytes(s.shm.size)}` : "",
      s.journal ? `-journal ${formatBytes(s.journal.size)}${s.journal.hot ? " HOT" : ""}` : "",
    ].filter(Boolean).join(", ") || "no -wal, -shm or -journal"}`,
  );
  lines.push(`  examined  ${r.examinedCopyBecause ? `a private copy of the file set (${r.examinedCopyBecause}); the files themselves were only read` : "in place, read-only"}`);
  const c = r.checks;
  if (c) {
    const chk = (name: string, x: { ok: boolean; errors: string[]; aborted?: string }) =>
      `  ${name.padEnd(9)} ${x.ok ? "ok" : `FAILED: ${[...x.errors.slice(0, 5), ...(x.aborted ? [`stopped: ${x.aborted}`] : [])].join(" | ")}`}`;
    lines.push(chk("quick", c.quickCheck));
    lines.push(c.integrityCheck ? chk("integrity", c.integrityCheck) : "  integrity not run (quick_check does not compare indexes with their tables: --full does)");
    lines.push(`  foreign   ${c.foreignKeys.violations === null ? `not checked (${c.foreignKeys.aborted})` : `${c.foreignKeys.violations} row(s) break foreign keys`}`);
    lines.push(`  space     ${c.freelistPages ?? "?"} free pages of ${c.pageCount ?? "?"}; ${c.fragmentation === null ? "fragmentation unknown" : `${Math.round(c.fragmentation * 100)}% of used pages unused`}`);
  }
  if (r.findings.length) {
    lines.push("", "findings");
    for (const f of r.findings) lines.push(`  - ${f}`);
  }
  lines.push("", "latest snapshots");
  if (!r.snapshots.length) lines.push(`  none known (${r.database.name ? "no destination configured" : "not a configured database: pass its name, or --config"})`);
  for (const d of r.snapshots) {
    const l = d.latest;
    lines.push(`  ${d.destination.padEnd(14)} ${!d.reachable ? `UNREACHABLE: ${d.error}` : l ? `${l.snapshotId}  ${l.age} old  ${Object.entries(l.rowCounts).map(([t, n]) => `${t} ${n}`).join(", ")}` : "no complete copy"}`);
  }
  if (r.options.length) {
    lines.push("", "options (none is taken for you)");
    for (const o of r.options) lines.push(`  ${o.kind.padEnd(8)} ${o.command}`, `           loses: ${o.loses}`);
  }
  if (r.salvage) {
    const sv = r.salvage;
    lines.push("", `salvaged into ${sv.out} (${sv.methodDetail}); integrity_check ${sv.integrityCheck}`);
    for (const t of sv.tables) {
      const vs = t.inSnapshot === null ? "" : `, ${t.inSnapshot} in snapshot ${sv.comparedWith!.snapshotId}${t.lostSinceSnapshot ? ` (${t.lostSinceSnapshot} fewer)` : ""}`;
      lines.push(`  ${t.table.padEnd(20)} ${t.recovered} rows${vs}${t.skippedRanges ? `, ${t.skippedRanges} unreadable stretch(es) skipped` : ""}`);
    }
    if (sv.lostAndFound) lines.push(`  lost_and_found       ${sv.lostAndFound} rows found on no b-tree (their table is unknown)`);
    if (!r.emergency) lines.push(`  back it up now, retention untouched: add --backup-emergency`);
  }
  if (r.emergency) {
    const e = r.emergency;
    lines.push("", `emergency snapshot ${e.snapshotId ?? "-"}: exit ${e.exitCode}${e.error ? `, ${e.error}` : ""}; retention skipped on every destination`);
    for (const d of e.destinations) lines.push(`  ${d.destination.padEnd(14)} ${d.status.toUpperCase()}${d.error ? ` ${d.error}` : ""}`);
  }
  return lines.join("\n");
}
