/**
 * Snapshot ids sort by time: `20261125T020000Z-<8 hex>`. The random tail
 * keeps two runs in the same second apart.
 */
export const SNAPSHOT_ID = /^(\d{8}T\d{6}Z)-([0-9a-f]{8})$/;

export function makeSnapshotId(at: Date, randomHex8: string): string {
  return `${compactUtc(at)}-${randomHex8}`;
}

/** `20261125T020000Z`: a UTC time to the second that sorts as text; also names set-aside files. */
export function compactUtc(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

/**
 * The time encoded in an id, or null when `id` is not one of ours. A date
 * that is not on the calendar is not ours either: JavaScript reads
 * 2026-11-31 as 1 December, so the time must spell the id back exactly.
 */
export function snapshotTime(id: string): Date | null {
  const m = SNAPSHOT_ID.exec(id);
  if (!m) return null;
  const s = m[1];
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) || compactUtc(d) !== s ? null : d;
}

/** Keys on storage, relative to a destination root. */
export const keys = {
  prefix: (db: string) => `${db}/`,
  manifest: (db: string, snapshotId: string) => `${db}/${snapshotId}.manifest.json`,
  artifact: (db: string, snapshotId: string, ext: string) => `${db}/${snapshotId}.sqlite.${ext}`,
};

/**
 * Recognise our files in a listing: `<db>/<id>.manifest.json`,
 * `<db>/<id>.sqlite.<ext>[.age]`, a proof `<db>/<id>.proof-….json`
 * (verify/proofs.ts names those), or an unchanged-night record
 * `<db>/<id>.unchanged-….json` (backup/unchanged.ts), with an id whose date exists.
 */
export function parseKey(key: string): { db: string; snapshotId: string; kind: "manifest" | "artifact" | "proof" | "unchanged"; name: string } | null {
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]{0,62})\/(\d{8}T\d{6}Z-[0-9a-f]{8})\.(manifest\.json|sqlite\.(?:zst|gz|raw)(?:\.age)?|proof-[A-Za-z0-9-]+\.json|unchanged-\d{8}T\d{6}Z-[0-9a-f]{4,16}\.json)$/.exec(key);
  if (!m || !snapshotTime(m[2])) return null;
  const kind = m[3] === "manifest.json" ? "manifest" : m[3].startsWith("proof-") ? "proof" : m[3].startsWith("unchanged-") ? "unchanged" : "artifact";
  return { db: m[1], snapshotId: m[2], kind, name: m[3] };
}

/**
 * A file in a database folder named like a manifest or an artifact that
 * parseKey does not accept (an impossible date, a copy made by hand): not
 * ours, so listed as foreign and never touched.
 */
export function looksLikeSnapshot(key: string): boolean {
  return /^[^/]+\/[^/]+\.(?:manifest\.json|sqlite\.(?:zst|gz|raw)(?:\.age)?)$/.test(key) && !parseKey(key);
}
