import { describe, expect, it } from "vitest";
import { atLeast, parseProofName, proofKey, summarizeProofs, type ProofEntry } from "../../src/verify/proofs.js";
import { parseKey } from "../../src/publish/ids.js";

const id = "20261120T020000Z-0a0b0c0d";
const entry = (level: ProofEntry["level"], ok: boolean, at: string): ProofEntry => ({ key: proofKey("app", id, { level, ok, at: new Date(at) }, "abcd"), level, ok, at: new Date(at) });

describe("proofs", () => {
  it("a proof's name carries its level, outcome and date, and parses back", () => {
    const key = proofKey("app", id, { level: "restore-tested", ok: false, at: new Date("2026-11-21T03:04:05Z") }, "00ff");
    expect(key).toBe(`app/${id}.proof-20261121T030405Z-restore-tested-fail-00ff.json`);
    const k = parseKey(key)!;
    expect(k).toMatchObject({ db: "app", snapshotId: id, kind: "proof" });
    expect(parseProofName(key, k.name)).toEqual({ key, level: "restore-tested", ok: false, at: new Date("2026-11-21T03:04:05Z") });
    expect(parseProofName(key, "proof-20261121T030405Z-present-ok-00ff.json")).toBeNull(); // "present" is never recorded
  });

  it("levels order: present < store-checksum < read-back < restore-tested", () => {
    expect(atLeast("read-back", "store-checksum")).toBe(true);
    expect(atLeast("store-checksum", "read-back")).toBe(false);
    expect(atLeast("present", "store-checksum")).toBe(false);
  });

  it("the summary is the strongest passed proof; a newest failed check makes the copy damaged until a later one passes", () => {
    expect(summarizeProofs([])).toEqual({ level: "present" });
    const readBack = entry("read-back", true, "2026-11-20T02:00:00Z");
    const failed = entry("restore-tested", false, "2026-11-22T00:00:00Z");
    expect(summarizeProofs([failed, readBack])).toMatchObject({
      level: "read-back", at: "2026-11-20T02:00:00.000Z", lastRestoreTest: { ok: false }, failed: { level: "restore-tested", at: "2026-11-22T00:00:00.000Z" },
    });
    const passed = entry("restore-tested", true, "2026-11-23T00:00:00Z");
    const s = summarizeProofs([readBack, failed, passed]);
    expect(s).toMatchObject({ level: "restore-tested", at: "2026-11-23T00:00:00.000Z", lastRestoreTest: { ok: true } });
    expect(s.failed).toBeUndefined();
  });
});
