/**
 * Reading the run history back from the destinations: every destination's
 * `history/` listed, each run read once (the same id is on every destination
 * the run reached), only within the window the audit reports on.
 */
import type { StorageAdapter } from "../../adapters/types.js";
import { TransientError, describeError } from "../../adapters/errors.js";
import { readCapped } from "../../adapters/streams.js";
import { HISTORY_FORMAT, HISTORY_PREFIX, parseRecordKey, type HistoryRecord } from "./record.js";

/** A record is about a kilobyte; anything far larger under its name is not ours. */
const MAX_RECORD_BYTES = 256 * 1024;

export interface HistoryRead {
  records: HistoryRecord[];
  /** Per destination: records it holds (all, not only in the window), or why it could not be listed. */
  destinations: { destination: string; records: number | null; error?: string }[];
  /** Records named like ours that could not be read or parsed (left alone). */
  unreadable: { destination: string; key: string; error: string }[];
}

export async function readHistory(targets: { destination: string; adapter: StorageAdapter }[], since: Date): Promise<HistoryRead> {
  const listed = await Promise.all(
    targets.map(async ({ destination, adapter }) => {
      try {
        const keys: string[] = [];
        for await (const o of adapter.list(HISTORY_PREFIX)) if (parseRecordKey(o.key)) keys.push(o.key);
        return { destination, adapter, keys };
      } catch (err) {
        return { destination, adapter, keys: [] as string[], error: describeError(err).message };
      }
    }),
  );
  const out: HistoryRead = { records: [], destinations: listed.map((l) => ({ destination: l.destination, records: l.error ? null : l.keys.length, ...(l.error ? { error: l.error } : {}) })), unreadable: [] };
  // Each run once: from the first destination that holds it, the next if that read fails.
  const where = new Map<string, { destination: string; adapter: StorageAdapter }[]>();
  for (const l of listed) {
    for (const key of l.keys) {
      if (parseRecordKey(key)!.at < since) continue;
      where.set(key, [...(where.get(key) ?? []), l]);
    }
  }
  for (const [key, holders] of [...where].sort(([a], [b]) => a.localeCompare(b))) {
    for (const h of holders) {
      const got = await readRecord(h.adapter, key);
      if ("record" in got) {
        out.records.push(got.record);
        break;
      }
      out.unreadable.push({ destination: h.destination, key, error: got.error });
    }
  }
  return out;
}

async function readRecord(adapter: StorageAdapter, key: string): Promise<{ record: HistoryRecord } | { error: string }> {
  try {
    const bytes = await readCapped((await adapter.get(key)) as AsyncIterable<Buffer>, MAX_RECORD_BYTES);
    if (!bytes) return { error: `larger than ${MAX_RECORD_BYTES} bytes: not a history record` };
    const r = JSON.parse(bytes.toString("utf8")) as HistoryRecord;
    if (r?.format !== HISTORY_FORMAT || `${HISTORY_PREFIX}${r.id}.json` !== key) return { error: `not a ${HISTORY_FORMAT} record for its name` };
    return { record: r };
  } catch (err) {
    if (err instanceof TransientError) return { error: `the store did not answer: ${describeError(err).message}` };
    return { error: describeError(err).message };
  }
}
