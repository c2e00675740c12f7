import pLimit from "p-limit";
import type { ObjectInfo, StorageAdapter } from "../../adapters/types.js";
import { NotFoundError, TransientError, describeError } from "../../adapters/errors.js";
import { looksLikeSnapshot, parseKey, snapshotTime } from "../publish/ids.js";
import { InvalidManifestError, parseManifest, type Manifest } from "../publish/manifest.js";
import { atLeast, parseProofName, summarizeProofs, type ProofEntry, type ProofSummary } from "../verify/proofs.js";
import { hashStream, readCapped } from "../../adapters/streams.js";
import type { DestinationMarker } from "./destinationMarker.js";
import { parseUnchangedName } from "../publish/unchangedRecord.js";

export type CopyState =
  | "complete" //            manifest present, artifact present with the manifest's size (and checksum, where the store gives one)
  | "missing-artifact" //    manifest present, artifact gone
  | "size-mismatch" //       artifact size differs from the manifest
  | "checksum-mismatch" //   store's checksum differs from the manifest
  | "bad-manifest" //        manifest unreadable, invalid, or larger than any manifest (MAX_MANIFEST_BYTES)
  | "stat-failed" //         manifest present, but the store refused to stat the artifact (not a TransientError): unknown, not counted
  | "damaged" //             manifest and artifact present, but the newest check of its bytes failed
  | "orphan"; //             artifact without a manifest: not a copy (an interrupted upload)

export interface CopyRecord {
  destination: string;
  db: string;
  snapshotId: string;
  createdAt: Date;
  state: CopyState;
  detail?: string;
  manifest?: Manifest;
  manifestKey?: string;
  artifactKey?: string;
  artifactSize?: number;
  modifiedAt?: Date;
  lockedUntil?: Date;
  /** The strongest proof this copy has had, and when (verify/proofs.ts); set for every copy with a manifest. */
  proof?: ProofSummary;
  /** Its proof objects and unchanged-night records, deleted with the copy. */
  proofKeys?: string[];
  /** The newest night a backup found the source byte-for-byte equal to this snapshot (publish/unchangedRecord.ts). */
  unchangedAt?: Date;
}

/**
 * A file named like a snapshot that is not one of ours (an impossible date in
 * the name, a copy made by hand). Kept apart from `copies` on purpose: no
 * command can then take it for a snapshot, restore it, count it or delete it.
 */
export interface ForeignFile {
  state: "foreign";
  db: string;
  key: string;
  size: number;
  modifiedAt: Date;
  detail: string;
}

export interface DestinationInventory {
  destination: string;
  adapterId?: string;
  reachable: boolean;
  error?: string;
  /** The destination's marker id and how this run found it (set by the commands that opened it). */
  marker?: DestinationMarker;
  copies: CopyRecord[];
  /** Files that look like snapshots but are not ours; left alone by every command. */
  foreign?: ForeignFile[];
}

/** A manifest is a few KiB; anything named like one and far larger is not ours, and is never read whole. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * A manifest, read and validated. Refused unread when the listing says it is
 * over MAX_MANIFEST_BYTES, and cut off once that many bytes arrived (a
 * listing can be stale or wrong), so a stray file cannot fill memory.
 */
export async function readManifest(adapter: StorageAdapter, key: string, listedSize?: number): Promise<Manifest> {
  const tooLarge = (size: string) => new InvalidManifestError(`${key} is ${size}, larger than 1 MiB: not a manifest (ours are a few KiB)`);
  if (listedSize !== undefined && listedSize > MAX_MANIFEST_BYTES) throw tooLarge(`${listedSize} bytes`);
  const bytes = await readCapped((await adapter.get(key)) as AsyncIterable<Buffer>, MAX_MANIFEST_BYTES);
  if (!bytes) throw tooLarge(`over ${MAX_MANIFEST_BYTES} bytes`);
  return parseManifest(bytes, key);
}

/**
 * What one destination really holds, read from the store itself: every
 * manifest is fetched and checked against the artifact listed beside it.
 */
export async function inventoryDestination(
  adapter: StorageAdapter,
  destination: string,
  dbs?: string[],
): Promise<DestinationInventory> {
  const objects: ObjectInfo[] = [];
  try {
    for (const prefix of dbs ? dbs.map((d) => `${d}/`) : [""]) {
      for await (const o of adapter.list(prefix)) objects.push(o);
    }
  } catch (err) {
    return { destination, adapterId: adapter.id, reachable: false, error: describeError(err).message, copies: [] };
  }
  const byKey = new Map(objects.map((o) => [o.key, o]));
  const limit = pLimit(Math.max(1, adapter.capabilities.maxConnections));
  let copies: CopyRecord[];
  try {
    copies = await Promise.all(groupBySnapshot(objects).map((g) => limit(() => judgeCopy(adapter, destination, g, byKey))));
  } catch (err) {
    return { destination, adapterId: adapter.id, reachable: false, error: describeError(err).message, copies: [] };
  }
  copies.sort((a, b) => a.db.localeCompare(b.db) || a.snapshotId.localeCompare(b.snapshotId));
  return { destination, adapterId: adapter.id, reachable: true, copies, foreign: foreignFiles(objects) };
}

function foreignFiles(objects: ObjectInfo[]): ForeignFile[] {
  return objects
    .filter((o) => looksLikeSnapshot(o.key))
    .map((o) => ({
      state: "foreign" as const, db: o.key.slice(0, o.key.indexOf("/")), key: o.key, size: o.size, modifiedAt: o.modifiedAt,
      detail: "named like a snapshot but not one of ours (no valid snapshot id): never counted, restored or deleted",
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

interface SnapshotFiles {
  db: string;
  snapshotId: string;
  manifest?: ObjectInfo;
  artifacts: ObjectInfo[];
  proofs: (ProofEntry & { modifiedAt: Date })[];
  unchanged: { key: string; at: Date; modifiedAt: Date }[];
}

/** Our files in a listing, grouped per snapshot; anything not named like ours is never touched or listed. */
function groupBySnapshot(objects: ObjectInfo[]): SnapshotFiles[] {
  const groups = new Map<string, SnapshotFiles>();
  for (const o of objects) {
    const k = parseKey(o.key);
    if (!k) continue;
    const id = `${k.db}/${k.snapshotId}`;
    const g = groups.get(id) ?? { db: k.db, snapshotId: k.snapshotId, artifacts: [], proofs: [], unchanged: [] };
    if (k.kind === "manifest") g.manifest = o;
    else if (k.kind === "artifact") g.artifacts.push(o);
    else if (k.kind === "unchanged") {
      const at = parseUnchangedName(k.name);
      if (!at) continue;
      g.unchanged.push({ key: o.key, at, modifiedAt: o.modifiedAt });
    } else {
      const proof = parseProofName(o.key, k.name);
      // A name that only looks like a proof is not ours: never read, never deleted.
      if (!proof) continue;
      g.proofs.push({ ...proof, modifiedAt: o.modifiedAt });
    }
    groups.set(id, g);
  }
  return [...groups.values()];
}

/**
 * The state of one snapshot's copy: its manifest read and held against the
 * artifact beside it. Throws only when the store stopped answering, which
 * makes the whole destination unreachable rather than this copy damaged.
 */
async function judgeCopy(adapter: StorageAdapter, destination: string, g: SnapshotFiles, byKey: Map<string, ObjectInfo>): Promise<CopyRecord> {
  // parseKey accepted only ids whose date exists, so the time is there.
  const base = { destination, db: g.db, snapshotId: g.snapshotId, createdAt: snapshotTime(g.snapshotId) as Date };
  // Unchanged-night records travel with the proofs: deleted with the copy, swept as leftovers without it.
  const proofKeys = [...g.proofs.map((p) => p.key), ...g.unchanged.map((u) => u.key)];
  if (!g.manifest) {
    const a = g.artifacts[0];
    if (!a) {
      // Proofs of a snapshot whose manifest and artifact are gone (a delete that stopped half-way).
      const newest = Math.max(...[...g.proofs, ...g.unchanged].map((p) => p.modifiedAt.getTime()));
      return { ...base, state: "orphan", proofKeys, modifiedAt: new Date(newest), detail: "proof records of a copy that is gone" };
    }
    return { ...base, state: "orphan", artifactKey: a.key, artifactSize: a.size, modifiedAt: a.modifiedAt, proofKeys, detail: "artifact without a manifest (an interrupted upload)" };
  }
  let manifest: Manifest;
  try {
    manifest = await readManifest(adapter, g.manifest.key, g.manifest.size);
  } catch (err) {
    // A store that stopped answering is not a damaged copy: let the listing fail as unreachable.
    if (err instanceof TransientError) throw err;
    return { ...base, state: "bad-manifest", manifestKey: g.manifest.key, modifiedAt: g.manifest.modifiedAt, detail: describeError(err).message };
  }
  // A manifest only speaks for its own folder: anything else (a copied folder, a hand edit)
  // could make prune delete, or restore return, another database's bytes.
  const expected = parseKey(manifest.artifact.key);
  if (manifest.db !== g.db || manifest.snapshotId !== g.snapshotId || expected?.db !== g.db || expected.snapshotId !== g.snapshotId || expected.kind !== "artifact") {
    return {
      ...base, state: "bad-manifest", manifestKey: g.manifest.key, modifiedAt: g.manifest.modifiedAt,
      detail: `manifest names ${manifest.db}/${manifest.snapshotId} and artifact ${manifest.artifact.key}, which is not its own folder and snapshot`,
    };
  }
  const rec: CopyRecord = {
    ...base,
    createdAt: new Date(manifest.createdAt),
    state: "complete",
    manifest,
    manifestKey: g.manifest.key,
    artifactKey: manifest.artifact.key,
    modifiedAt: g.manifest.modifiedAt,
    proofKeys,
    proof: summarizeProofs(g.proofs),
    unchangedAt: g.unchanged.length ? new Date(Math.max(...g.unchanged.map((u) => u.at.getTime()))) : undefined,
  };
  let art = byKey.get(manifest.artifact.key);
  if (art && adapter.capabilities.statAddsDetails) {
    // S3 listings carry no lock dates or checksums; HEAD does.
    const statted = await statArtifact(adapter, art.key);
    if ("failed" in statted) return { ...rec, state: "stat-failed", artifactSize: art.size, detail: statted.failed };
    art = statted.info;
  }
  if (!art) return { ...rec, state: "missing-artifact", detail: `${manifest.artifact.key} is missing` };
  rec.artifactSize = art.size;
  rec.lockedUntil = art.lockedUntil;
  if (art.size !== manifest.artifact.size) {
    return { ...rec, state: "size-mismatch", detail: `artifact is ${art.size} bytes, manifest says ${manifest.artifact.size}` };
  }
  if (art.sha256 && art.sha256 !== manifest.artifact.sha256) {
    return { ...rec, state: "checksum-mismatch", detail: `the object's sha256 metadata is ${art.sha256}, manifest says ${manifest.artifact.sha256}` };
  }
  if (art.storeSha256) {
    if (art.storeSha256 !== manifest.artifact.sha256) {
      return { ...rec, state: "checksum-mismatch", detail: `the store computed sha256 ${art.storeSha256} of what it holds, manifest says ${manifest.artifact.sha256}` };
    }
    // The store hashed the bytes it received when they arrived: a proof as of that moment.
    if (!atLeast(rec.proof!.level, "store-checksum")) rec.proof = { ...rec.proof!, level: "store-checksum", at: art.modifiedAt.toISOString() };
  }
  if (rec.proof!.failed) return { ...rec, state: "damaged", detail: await failureReason(adapter, rec.proof!.failed) };
  return rec;
}

/**
 * The artifact's stat, for a store whose stat knows more than its listing.
 * Not found means gone; a store that stopped answering fails the whole
 * inventory (unreachable). Any other failure (access denied, a bad reply) is
 * this copy's: without the stat its store checksum and Object Lock date are
 * unknown, so it must not pass for complete on the listing alone.
 */
async function statArtifact(adapter: StorageAdapter, key: string): Promise<{ info?: ObjectInfo } | { failed: string }> {
  try {
    return { info: await adapter.stat(key) };
  } catch (err) {
    if (err instanceof NotFoundError) return { info: undefined };
    if (err instanceof TransientError) throw err;
    const { type, message } = describeError(err);
    return { failed: `cannot stat ${key} (${type}: ${message}); its store checksum and Object Lock date are unknown, so it is not counted until the store answers` };
  }
}

/** Why the newest check of a copy failed, from its proof object (its name alone says when and at which level). */
async function failureReason(adapter: StorageAdapter, failed: NonNullable<ProofSummary["failed"]>): Promise<string> {
  const what = `the ${failed.level} check of ${failed.at} failed`;
  try {
    // A proof is a few hundred bytes; a larger file under its name gives no reason.
    const bytes = await readCapped((await adapter.get(failed.key)) as AsyncIterable<Buffer>, MAX_MANIFEST_BYTES);
    const reason = bytes ? (JSON.parse(bytes.toString("utf8")) as { reason?: unknown }).reason : undefined;
    return typeof reason === "string" ? `${what}: ${reason}` : what;
  } catch (err) {
    if (err instanceof TransientError) throw err;
    return what;
  }
}

/** Reads an object back and hashes it: the proof a copy holds the bytes its manifest names. */
export async function readBackSha256(adapter: StorageAdapter, key: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  return hashStream((await adapter.get(key, signal)) as AsyncIterable<Buffer>);
}

/**
 * Databases that no inventory holds a complete copy of. A wiped folder or a
 * typo must never read as "healthy": list and verify both report these.
 */
export function databasesWithoutCompleteCopy(dbs: string[], inventories: { copies: { db: string; state: CopyState }[] }[]): string[] {
  return dbs.filter((db) => !inventories.some((i) => i.copies.some((c) => c.db === db && c.state === "complete")));
}
