/**
 * What to do when the source itself is damaged. A snapshot is a page-for-page
 * copy, so a snapshot that fails integrity_check (or a copy that hits a
 * malformed page) means the live database is damaged, not the backup: the
 * operator needs the next steps, and to know that no good copy was touched.
 */
export function damagedSourceAdvice(dbName: string, sourcePath: string): string {
  return (
    `nothing was shipped and nothing was deleted. The source database is damaged: ` +
    `diagnose it with triplicate doctor ${dbName} --full (read-only; --salvage OUT copies out what is readable); ` +
    `with the application stopped, recover what SQLite can read with sqlite3 ${sourcePath} ".recover" | sqlite3 ${sourcePath}.recovered, ` +
    `or get the last good snapshot back with triplicate restore ${dbName} --to ${sourcePath}.restored ("triplicate list" shows the snapshots there are)`
  );
}
