/**
 * Proofs: what was done to show a copy holds good bytes, how strongly, and
 * when. One small object per proof, beside the copy on its own destination,
 * so an audit run from another host sees the same history, and the name
 * alone says the level, the date and the outcome: an inventory learns every
 * copy's proof from the listing it already makes, without a read per proof.
 *
 *   <db>/<snapshotId>.proof-<yyyymmddThhmmssZ>-<level>-<ok|fail>-<rand>.json
 */
import type { StorageAdapter } from "../../adapters/types.js";
import { bytesSource } from "../../adapters/streams.js";
import { compactUtc, snapshotTime } from "../publish/ids.js";

/** Weakest first. `present` (manifest and artifact there, sizes match) is never called verified. */
export const PROOF_LEVELS = ["present", "store-checksum", "read-back", "restore-tested"] as const;
export type ProofLevel = (typeof PROOF_LEVELS)[number];
/** Levels a proof record can claim: `present` is what a listing shows, never something recorded. */
export type RecordedLevel = Exclude<ProofLevel, "present">;

export function atLeast(level: ProofLevel, wanted: ProofLevel): boolean {
  return PROOF_LEVELS.indexOf(level) >= PROOF_LEVELS.indexOf(wanted);
}

/** One proof as its key tells it. */
export interface ProofEntry {
  key: string;
  level: RecordedLevel;
  ok: boolean;
  at: Date;
}

export const PROOF_NAME = /^proof-(\d{8}T\d{6}Z)-(store-checksum|read-back|restore-tested)-(ok|fail)-[0-9a-f]{4,16}\.json$/;

export function proofKey(db: string, snapshotId: string, p: { level: RecordedLevel; ok: boolean; at: Date }, random: string): string {
  return `${db}/${snapshotId}.proof-${compactUtc(p.at)}-${p.level}-${p.ok ? "ok" : "fail"}-${random}.json`;
}

/** The proof a key names, or null when the name is not a proof of ours. */
export function parseProofName(key: string, name: string): ProofEntry | null {
  const m = PROOF_NAME.exec(name);
  if (!m) return null;
  // A proof's stamp has the same shape as a snapshot id's time.
  const at = snapshotTime(`${m[1]}-00000000`);
  if (!at) return null;
  return { key, level: m[2] as RecordedLevel, ok: m[3] === "ok", at };
}

/** What a copy's proofs add up to. */
export interface ProofSummary {
  /** The strongest proof it passed; `present` when none is recorded. */
  level: ProofLevel;
  /** When that proof was made. */
  at?: string;
  /** The newest restore test, passed or not. */
  lastRestoreTest?: { at: string; ok: boolean };
  /** Set when the newest check of its bytes failed: the copy is damaged until a later check passes. */
  failed?: { level: RecordedLevel; at: string; key: string };
}

export function summarizeProofs(proofs: ProofEntry[]): ProofSummary {
  const byTime = [...proofs].sort((a, b) => a.at.getTime() - b.at.getTime());
  const summary: ProofSummary = { level: "present" };
  for (const p of byTime) {
    if (p.level === "restore-tested") summary.lastRestoreTest = { at: p.at.toISOString(), ok: p.ok };
    if (!p.ok) continue;
    // The strongest level wins; at equal strength, the newest date.
    if (atLeast(p.level, summary.level)) Object.assign(summary, { level: p.level, at: p.at.toISOString() });
  }
  const newest = byTime[byTime.length - 1];
  if (newest && !newest.ok) summary.failed = { level: newest.level, at: newest.at.toISOString(), key: newest.key };
  return summary;
}

/** The body of a proof object: the name says it all; the body keeps the why, for a person. */
export interface ProofBody {
  format: "triplicate.proof/v1";
  db: string;
  snapshotId: string;
  level: RecordedLevel;
  ok: boolean;
  at: string;
  artifactSha256: string;
  host: string;
  toolVersion: string;
  durationMs?: number;
  reason?: string;
}

/** Writes one proof beside the copy it speaks for. Returns its key. */
export async function recordProof(adapter: StorageAdapter, body: Omit<ProofBody, "format">, random: string, signal?: AbortSignal): Promise<string> {
  const key = proofKey(body.db, body.snapshotId, { level: body.level, ok: body.ok, at: new Date(body.at) }, random);
  const bytes = Buffer.from(JSON.stringify({ format: "triplicate.proof/v1", ...body }, null, 1) + "\n");
  await adapter.put(key, bytesSource(bytes), signal);
  return key;
}

/** A restore test as reports show it (verify --deep, the audit's "last deep check"). */
export interface DeepCheck {
  ok: boolean;
  reason?: string;
  checkedAt: string;
  /** Known for checks made by this run; a check read back from a proof's name has none. */
  durationMs?: number;
}

/** Recomputes a copy's summary from its proof keys: after a check this run recorded. */
export function resummarize(proofKeys: string[]): ProofSummary {
  const entries = proofKeys.map((k) => parseProofName(k, k.slice(k.lastIndexOf(".proof-") + 1))).filter((e): e is ProofEntry => e !== null);
  return summarizeProofs(entries);
}
