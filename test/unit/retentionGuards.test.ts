import { describe, expect, it } from "vitest";
import { createMemoryAdapter } from "../../adapters/memory.js";
import { applyRetention, type RetentionContext } from "../../src/retention/apply.js";
import type { CopyRecord } from "../../src/catalog/inventory.js";
import { compareWithBaseline } from "../../src/guard/shrink.js";
import { readClocks, skewHold } from "../../src/guard/clock.js";
import { publishToDestination } from "../../src/publish/fanout.js";
import { parseDuration } from "../../src/runtime/duration.js";
import { GUARD_DEFAULTS } from "../../src/config/schema.js";
import { bufferSource } from "../helpers/blob.js";

/** A destination holding one complete copy per date, its two files in a memory store. */
async function store(dates: string[]) {
  const adapter = createMemoryAdapter({ name: "nas" });
  const copies: CopyRecord[] = [];
  for (const [i, iso] of dates.entries()) {
    const snapshotId = `${iso.replace(/[-:]/g, "").slice(0, 15)}Z-0000000${i}`;
    const manifestKey = `app/${snapshotId}.manifest.json`;
    const artifactKey = `app/${snapshotId}.sqlite.zst`;
    await adapter.put(manifestKey, bufferSource("{}"));
    await adapter.put(artifactKey, bufferSource("bytes"));
    copies.push({ destination: "nas", db: "app", snapshotId, createdAt: new Date(iso), state: "complete", manifestKey, artifactKey });
  }
  const remaining = async () => {
    const keys: string[] = [];
    for await (const o of adapter.list("app/")) if (o.key.endsWith(".manifest.json")) keys.push(o.key);
    return keys.length;
  };
  return { adapter, copies, remaining };
}

const ctx = (now: string, more: Partial<RetentionContext> = {}): RetentionContext => ({
  now: new Date(now), dryRun: false, leftoverGrace: parseDuration("24h"), guard: GUARD_DEFAULTS, ...more,
});
const days = (n: number) => Array.from({ length: n }, (_, i) => `2026-11-${String(10 + i).padStart(2, "0")}T02:00:00Z`);

describe("applyRetention guards (memory adapter)", () => {
  it("the deletion budget: more than half and more than one is held, and nothing is deleted", async () => {
    const s = await store(days(6));
    const out = await applyRetention(s.adapter, "nas", "app", s.copies, { keepLast: 2 }, ctx("2026-11-16T03:00:00Z"));
    expect(out.deleted).toEqual([]);
    expect(out.held.map((h) => h.guard)).toEqual(["deletion-budget"]);
    expect(out.kept.length).toBe(6);
    expect(await s.remaining()).toBe(6);
    expect(s.adapter.calls.filter((c) => c.op === "delete" || c.op === "sweepTemporary")).toEqual([]);
  });

  it("the budget allows half, or one, and --force lifts it", async () => {
    const half = await store(days(6));
    expect((await applyRetention(half.adapter, "nas", "app", half.copies, { keepLast: 3 }, ctx("2026-11-16T03:00:00Z"))).deleted.length).toBe(3);
    const one = await store(days(2));
    expect((await applyRetention(one.adapter, "nas", "app", one.copies, { keepLast: 1 }, ctx("2026-11-16T03:00:00Z"))).deleted.length).toBe(1);
    const forced = await store(days(6));
    const out = await applyRetention(forced.adapter, "nas", "app", forced.copies, { keepLast: 1 }, ctx("2026-11-16T03:00:00Z", { force: true }));
    expect(out.held).toEqual([]);
    expect(out.deleted.length).toBe(5);
    expect(await forced.remaining()).toBe(1);
  });

  it("a copy dated after now holds every deletion; a few seconds of clock jitter (within maxClockSkew) do not", async () => {
    const s = await store(["2026-11-10T02:00:00Z", "2026-11-11T02:00:00Z", "2026-12-24T02:00:00Z"]);
    const out = await applyRetention(s.adapter, "nas", "app", s.copies, { keepLast: 2 }, ctx("2026-11-12T02:00:00Z"));
    expect(out.deleted).toEqual([]);
    expect(out.held).toEqual([expect.objectContaining({ guard: "future-copy", snapshotId: s.copies[2].snapshotId })]);
    expect(await s.remaining()).toBe(3);
    const jitter = await store(["2026-11-10T02:00:00Z", "2026-11-11T02:00:00Z", "2026-11-12T02:00:30Z"]);
    expect((await applyRetention(jitter.adapter, "nas", "app", jitter.copies, { keepLast: 2 }, ctx("2026-11-12T02:00:00Z"))).deleted.length).toBe(1);
  });

  it("a hold from the caller (a shrunk source, a skewed store clock) keeps everything, leftovers included", async () => {
    const s = await store(days(3));
    await s.adapter.put("app/20261101T020000Z-0badc0de.sqlite.zst", bufferSource("orphan"));
    const copies: CopyRecord[] = [
      ...s.copies,
      { destination: "nas", db: "app", snapshotId: "20261101T020000Z-0badc0de", createdAt: new Date("2026-11-01T02:00:00Z"), state: "orphan", artifactKey: "app/20261101T020000Z-0badc0de.sqlite.zst", modifiedAt: new Date(0) },
    ];
    const out = await applyRetention(s.adapter, "nas", "app", copies, { keepLast: 2 }, ctx("2026-11-13T03:00:00Z", { holds: [{ guard: "shrink", message: "every table is empty" }] }));
    expect(out.deleted).toEqual([]);
    expect(out.orphansDeleted).toEqual([]);
    expect(out.orphansWaiting).toEqual(["app/20261101T020000Z-0badc0de.sqlite.zst"]);
    expect(out.kept.find((k) => k.snapshotId === s.copies[0].snapshotId)!.reasons).toEqual(["held: shrink"]);
    expect(s.adapter.calls.filter((c) => c.op === "delete" || c.op === "sweepTemporary")).toEqual([]);
  });
});

describe("compareWithBaseline", () => {
  const before = { rowCounts: { users: 5000, posts: 20000, jobs: 300 }, rawSize: 10_000_000 };
  const g = { maxShrink: 0.5, minTableRows: 1000 };
  it("is quiet for normal change, including a small table that emptied", () => {
    expect(compareWithBaseline(before, { rowCounts: { users: 5100, posts: 19000, jobs: 0 }, rawSize: 9_000_000 }, g)).toEqual([]);
  });
  it("names a big table that shrank even when the total did not", () => {
    const f = compareWithBaseline(before, { rowCounts: { users: 10, posts: 20000, jobs: 300 }, rawSize: 10_000_000 }, g);
    expect(f).toEqual([expect.objectContaining({ kind: "table-rows", table: "users", before: 5000, after: 10, message: "5000 → 10 rows in table users (-99.8%)" })]);
  });
  it("names the raw size", () => {
    expect(compareWithBaseline(before, { ...before, rawSize: 4_000_000 }, g).map((x) => x.kind)).toEqual(["raw-size"]);
  });
  it("an emptied database is one finding, not one per table", () => {
    expect(compareWithBaseline(before, { rowCounts: {}, rawSize: 4096 }, g).map((x) => x.kind)).toEqual(["emptied"]);
  });
  it("nothing to lose, nothing to report", () => {
    expect(compareWithBaseline({ rowCounts: {}, rawSize: 0 }, { rowCounts: {}, rawSize: 0 }, g)).toEqual([]);
  });
});

describe("clock skew", () => {
  const at = (s: string) => new Date(`2026-11-25T${s}Z`);
  it("counts only what lies outside the write, with a second of slack for whole-second stamps", () => {
    expect(readClocks(at("02:00:00.500"), at("02:00:30"), at("02:00:00")).skewSeconds).toBe(0);
    expect(readClocks(at("02:00:00"), at("02:00:30"), at("02:00:10")).skewSeconds).toBe(0);
    expect(readClocks(at("02:00:00"), at("02:00:30"), at("02:10:30")).skewSeconds).toBe(600);
    expect(readClocks(at("02:00:00"), at("02:00:30"), at("01:00:00")).skewSeconds).toBe(-3600);
  });
  it("holds beyond guard.maxClockSkew and names both clocks", () => {
    const five = parseDuration("5min");
    expect(skewHold("nas", readClocks(at("02:00:00"), at("02:00:00"), at("02:04:00")), five)).toBeUndefined();
    const h = skewHold("nas", readClocks(at("02:00:00"), at("02:00:00"), at("01:00:00")), five)!;
    expect(h.guard).toBe("clock-skew");
    expect(h.message).toMatch(/this host's clock is 1.0h ahead of nas's \(host 2026-11-25T02:00:00.000Z, nas 2026-11-25T01:00:00.000Z\)/);
  });
  it("publish reads the store's clock from put (a store with its own clock)", async () => {
    const adapter = createMemoryAdapter({ storeClock: () => new Date("2026-08-01T00:00:00Z") });
    const item = { db: "app", snapshotId: "20261125T020000Z-0a0b0c0d", artifactKey: "app/a.sqlite.zst", artifact: bufferSource("a"), manifestKey: "app/a.manifest.json", manifest: () => bufferSource("{}") };
    const author = { clock: () => new Date("2026-11-25T02:00:00Z"), hostname: "test", toolVersion: "test", randomHex: () => "abcd" };
    const r = await publishToDestination(adapter, item, { dryRun: false, author });
    expect(r.status).toBe("verified");
    expect(r.clock).toEqual({ host: "2026-11-25T02:00:00.000Z", store: "2026-08-01T00:00:00.000Z", skewSeconds: -(116 * 86400 + 7200) });
    const local = await publishToDestination(createMemoryAdapter(), item, { dryRun: false, author });
    expect(local.clock).toBeUndefined();
  });
});
