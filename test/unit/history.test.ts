import { describe, expect, it } from "vitest";
import pino from "pino";
import { createMemoryAdapter } from "../../adapters/memory.js";
import { bytesSource } from "../../adapters/streams.js";
import { parseRecordKey, recordId, recordKey, HISTORY_FORMAT, type HistoryRecord } from "../../src/history/record.js";
import { boundHistory, writeHistory } from "../../src/history/write.js";
import { readHistory } from "../../src/history/read.js";
import { jumpsOf, summarizeHistory } from "../../src/history/summarize.js";
import { inventoryDestination } from "../../src/catalog/inventory.js";

const logger = pino({ level: "silent" });
const at = (iso: string) => new Date(iso);

function rec(startedAt: string, kind: HistoryRecord["kind"], exitCode: number, extra: Partial<HistoryRecord> = {}, rand = "0000000a"): HistoryRecord {
  const id = recordId(at(startedAt), kind, "web-1.example.com", rand);
  return {
    format: HISTORY_FORMAT, id, kind, host: "web-1.example.com", toolVersion: "t", startedAt, finishedAt: startedAt, durationMs: 1000, exitCode,
    verdict: exitCode === 0 ? "ok" : exitCode === 3 ? "degraded" : "failed", databases: [], destinations: [], ...extra,
  };
}

describe("history records: names, bounds, reading", () => {
  it("names carry the time, kind and a host label; only exact names are ours", () => {
    const id = recordId(at("2026-11-25T02:00:00Z"), "verify-deep", "nas.lan", "deadbeef");
    expect(recordKey(id)).toBe("history/20261125T020000Z-verify-deep-nas-lan-deadbeef.json");
    expect(parseRecordKey(recordKey(id))).toMatchObject({ kind: "verify-deep", stamp: "20261125T020000Z" });
    expect(parseRecordKey("history/20261131T020000Z-backup-h-deadbeef.json")).toBeNull(); // no 31 November
    expect(parseRecordKey("history/notes.txt")).toBeNull();
  });

  it("are not copies: an inventory lists no copy and no foreign file for them", async () => {
    const a = createMemoryAdapter();
    await writeHistory(rec("2026-11-25T02:00:00Z", "backup", 0), [{ destination: "m", adapter: a }], { logger });
    const inv = await inventoryDestination(a, "m");
    expect(inv.copies).toEqual([]);
    expect(inv.foreign).toEqual([]);
  });

  it("bounded by count, oldest first, only our own names: a clock years ahead does not expire the rest", async () => {
    const a = createMemoryAdapter();
    const t = { destination: "m", adapter: a };
    for (let i = 0; i < 6; i++) await writeHistory(rec(`2026-11-2${i}T02:00:00Z`, "backup", 0), [t], { logger }, 100);
    await a.put("history/keep-me.txt", bytesSource(Buffer.from("operator's note")));
    // The host's clock jumps ten years ahead: the count bound removes one record, not all older ones.
    await writeHistory(rec("2036-11-26T02:00:00Z", "backup", 0), [t], { logger }, 6);
    const keys: string[] = [];
    for await (const o of a.list("history/")) keys.push(o.key);
    expect(keys.filter((k) => parseRecordKey(k)).length).toBe(6);
    expect(keys.some((k) => k.includes("20261120T"))).toBe(false);
    expect(keys).toContain("history/keep-me.txt");
    expect(await boundHistory(a, "m", 6, logger)).toEqual([]);
  });

  it("a destination that refuses the write is reported, the others still get the record", async () => {
    const good = createMemoryAdapter({ name: "good" });
    const bad = createMemoryAdapter({ name: "bad" });
    bad.put = async () => {
      throw new Error("read-only file system");
    };
    const out = await writeHistory(rec("2026-11-25T02:00:00Z", "restore", 0), [{ destination: "good", adapter: good }, { destination: "bad", adapter: bad }], { logger });
    expect(out.written).toEqual(["good"]);
    expect(out.failed).toEqual([{ destination: "bad", error: expect.stringContaining("read-only") }]);
  });

  it("reads each run once across destinations, only within the window, and skips a record that lies about its name", async () => {
    const a = createMemoryAdapter({ name: "a" });
    const b = createMemoryAdapter({ name: "b" });
    const both = [{ destination: "a", adapter: a }, { destination: "b", adapter: b }];
    await writeHistory(rec("2026-11-25T02:00:00Z", "backup", 0), both, { logger });
    await writeHistory(rec("2026-06-01T02:00:00Z", "backup", 0), both, { logger }); // before the window
    const liar = rec("2026-11-26T02:00:00Z", "backup", 0);
    await a.put(recordKey(liar.id), bytesSource(Buffer.from(JSON.stringify({ ...liar, id: "other" }))));
    const read = await readHistory(both, at("2026-09-01T00:00:00Z"));
    expect(read.records.map((r) => r.startedAt)).toEqual(["2026-11-25T02:00:00Z"]);
    expect(read.destinations).toEqual([{ destination: "a", records: 3 }, { destination: "b", records: 2 }]);
    expect(read.unreadable).toHaveLength(1);
  });
});

describe("history summary", () => {
  const backup = (iso: string, exit: number, rawBytes?: number, ms = 2000, rand = "0000000a") =>
    rec(iso, "backup", exit, {
      databases: [{ db: "app", ok: exit !== 1, ...(rawBytes ? { snapshotId: "x", rawBytes, artifactBytes: rawBytes / 2, snapshotMs: ms / 2 } : {}), destinations: [{ destination: "nas", result: "ok", durationMs: ms / 2 }] }],
    }, rand);

  it("success rate over 30 and 90 days counts exit 0 only; a size that drops by half stands out", () => {
    const now = at("2026-11-30T12:00:00Z");
    const records = [
      backup("2026-09-15T02:00:00Z", 0, 1_000_000), // 76 days ago: 90-day window only
      backup("2026-11-20T02:00:00Z", 0, 1_000_000),
      backup("2026-11-21T02:00:00Z", 3, 1_050_000),
      backup("2026-11-22T02:00:00Z", 1),
      backup("2026-11-23T02:00:00Z", 0, 400_000, 9000),
      rec("2026-11-24T02:00:00Z", "verify-deep", 0, { restoreTests: [{ destination: "nas", db: "app", snapshotId: "x", ok: true, durationMs: 4000 }, { destination: "nas", db: "app", snapshotId: "y", ok: false, durationMs: 100 }] }),
    ];
    const h = summarizeHistory({ records, destinations: [{ destination: "nas", records: 6 }], unreadable: [] }, [{ destination: "nas", freeBytes: 10, totalBytes: 100 }], now);
    expect(h.backups.last30d).toEqual({ runs: 4, ok: 2, degraded: 1, failed: 1, successRate: 0.5 });
    expect(h.backups.last90d.runs).toBe(5);
    expect(h.backups.lastRun).toMatchObject({ at: "2026-11-23T02:00:00Z", verdict: "ok" });
    const jumps = h.trend[0].jumps;
    expect(jumps.map((j) => j.what)).toEqual(["size", "duration"]);
    expect(jumps[0]).toMatchObject({ from: 1_050_000, to: 400_000 });
    expect(h.restoreTests).toEqual([{ destination: "nas", tests: 2, passed: 1, successRate: 0.5, lastAt: "2026-11-24T02:00:00Z", lastRtoMs: 4000, medianRtoMs: 4000, maxRtoMs: 4000 }]);
    expect(h.destinations[0]).toMatchObject({ destination: "nas", freeBytes: 10, records: 6 });
  });

  it("no jump for small absolute duration changes or steady growth", () => {
    const pts = [100, 200, 450].map((ms, i) => ({ at: `2026-11-2${i}T00:00:00Z`, verdict: "ok" as const, durationMs: ms, rawBytes: 1000 + i * 100 }));
    expect(jumpsOf(pts)).toEqual([]);
  });
});
