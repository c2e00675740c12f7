/**
 * Unchanged-night records: a database whose raw bytes equal its latest
 * complete snapshot is not uploaded again; instead a small object beside
 * that snapshot says "at T this host read the source and its raw SHA-256 was
 * this snapshot's". No new snapshot id, no reference between snapshots: the
 * bytes stay where they are and belong to exactly one manifest, so retention
 * and restore need no notion of shared artifacts. The name alone carries
 * the time, so an inventory learns the newest one from its listing.
 *
 *   <db>/<snapshotId>.unchanged-<yyyymmddThhmmssZ>-<rand>.json
 */
import type { StorageAdapter } from "../../adapters/types.js";
import { bytesSource } from "../../adapters/streams.js";
import { compactUtc, snapshotTime } from "./ids.js";

const UNCHANGED_NAME = /^unchanged-(\d{8}T\d{6}Z)-[0-9a-f]{4,16}\.json$/;

export function unchangedKey(db: string, snapshotId: string, at: Date, random: string): string {
  return `${db}/${snapshotId}.unchanged-${compactUtc(at)}-${random}.json`;
}

/** The time a record's name gives, or null when the name is not one of ours. */
export function parseUnchangedName(name: string): Date | null {
  const m = UNCHANGED_NAME.exec(name);
  return m ? snapshotTime(`${m[1]}-00000000`) : null;
}

export interface UnchangedBody {
  format: "triplicate.unchanged/v1";
  db: string;
  snapshotId: string;
  /** When the source was read and found equal. */
  at: string;
  rawSha256: string;
  host: string;
  toolVersion: string;
  tags: string[];
}

/** Writes one record beside the snapshot it extends. Returns its key. */
export async function recordUnchanged(adapter: StorageAdapter, body: Omit<UnchangedBody, "format">, random: string): Promise<string> {
  const key = unchangedKey(body.db, body.snapshotId, new Date(body.at), random);
  await adapter.put(key, bytesSource(Buffer.from(JSON.stringify({ format: "triplicate.unchanged/v1", ...body }, null, 1) + "\n")));
  return key;
}
