import { describe, expect, it } from "vitest";
import { buildAuditReport } from "../../src/audit/build.js";
import { parseConfig } from "../../src/config/load.js";
import type { CopyRecord, DestinationInventory } from "../../src/catalog/inventory.js";

const cfg = parseConfig(
  `
databases: [{ name: app, path: /srv/app.db }]
destinations:
  - { name: disk, type: local, path: /b/disk, retention: { keepLast: 2 } }
  - { name: usb, type: local, path: /b/usb, medium: usb }
  - { name: cloud, type: local, path: /b/cloud, medium: cloud, offsite: true }
policy: { copies: 3, media: 2, offsite: 1, maxAge: 26h, immutable: 0, maxErrors: 0 }
`,
  "/etc/triplicate.yml",
  {},
);
const now = new Date("2026-11-25T12:00:00Z");
const ids = ["20261123T020000Z-00000001", "20261124T020000Z-00000002", "20261125T020000Z-00000003"];

function copy(destination: string, snapshotId: string, state: CopyRecord["state"] = "complete"): CopyRecord {
  const t = snapshotId.slice(0, 16);
  const createdAt = new Date(`${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}Z`);
  // Every backup reads its copies back and records it: the proof a copy normally has.
  return { destination, db: "app", snapshotId, createdAt, state, artifactKey: `app/${snapshotId}.sqlite.zst`, proof: { level: "read-back", at: createdAt.toISOString() } };
}
const inv = (destination: string, copies: CopyRecord[], reachable = true): DestinationInventory => ({ destination, reachable, copies, error: reachable ? undefined : "connection refused" });
const report = (invs: DestinationInventory[], at = now) =>
  buildAuditReport(cfg, cfg.destinations.map((d, i) => ({ cfg: d, inv: invs[i] })), { now: at, deep: false, toolVersion: "test" });

describe("buildAuditReport", () => {
  it("is compliant when every destination holds a verified latest copy and retention is applied", () => {
    const r = report([inv("disk", ids.slice(1).map((i) => copy("disk", i))), inv("usb", ids.map((i) => copy("usb", i))), inv("cloud", ids.map((i) => copy("cloud", i)))]);
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ schema: "triplicate.audit/v1", verdict: "compliant", exitCode: 0 });
    expect(r.databases[0].latest).toMatchObject({ snapshotId: ids[2], age: "10.0h" });
    expect(r.databases[0].retention[0]).toMatchObject({ destination: "disk", matchesPolicy: true });
  });

  it("an unreachable destination counts as holding nothing and is a finding", () => {
    const r = report([inv("disk", ids.slice(1).map((i) => copy("disk", i))), inv("usb", [], false), inv("cloud", ids.map((i) => copy("cloud", i)))]);
    expect(r.verdict).toBe("not-compliant");
    expect(r.exitCode).toBe(3);
    expect(r.findings[0]).toBe("destination usb is unreachable: connection refused");
    const copies = r.databases[0].policy.rules.find((x) => x.rule === "copies")!;
    expect(copies).toMatchObject({ pass: true, actual: "3" });
    expect(r.databases[0].latestCopies[1]).toMatchObject({ destination: "usb", state: "unreachable", verified: false });
  });

  it("a stale latest snapshot fails maxAge in plain words", () => {
    const r = report([inv("disk", [copy("disk", ids[0])]), inv("usb", [copy("usb", ids[0])]), inv("cloud", [copy("cloud", ids[0])])]);
    const rule = r.databases[0].policy.rules.find((x) => x.rule === "maxAge")!;
    expect(rule.pass).toBe(false);
    expect(rule.reason).toBe("NOT met: newest snapshot is 2.4d old, at most 26h allowed");
  });

  it("a damaged latest copy is an error (3-2-1-1-0) and does not count as a copy", () => {
    const r = report([inv("disk", [copy("disk", ids[2], "size-mismatch")]), inv("usb", [copy("usb", ids[2])]), inv("cloud", [copy("cloud", ids[2])])]);
    const rules = Object.fromEntries(r.databases[0].policy.rules.map((x) => [x.rule, x]));
    expect(rules.copies).toMatchObject({ pass: true, actual: "3" });
    expect(rules.errors).toMatchObject({ pass: false, actual: "1" });
    expect(r.databases[0].damaged).toEqual([{ destination: "disk", snapshotId: ids[2], state: "size-mismatch", detail: undefined }]);
  });

  it("reports retention that was not applied, and orphans", () => {
    const r = report([inv("disk", [...ids.map((i) => copy("disk", i)), copy("disk", "20261120T020000Z-0000000f", "orphan")]), inv("usb", [copy("usb", ids[2])]), inv("cloud", [copy("cloud", ids[2])])]);
    expect(r.databases[0].retention[0]).toMatchObject({ destination: "disk", overdue: [ids[0]], matchesPolicy: false });
    expect(r.databases[0].orphans).toEqual([{ destination: "disk", key: "app/20261120T020000Z-0000000f.sqlite.zst" }]);
    expect(r.findings).toContain("app: disk holds 1 snapshot(s) its retention would delete (run triplicate prune)");
  });

  it("a destination holding no good copy is a finding, even when the copy count is met", () => {
    const loose = { ...cfg, policy: { ...cfg.policy, copies: 2, media: 1, offsite: 0 } };
    const invs = [inv("disk", ids.slice(1).map((i) => copy("disk", i))), inv("usb", []), inv("cloud", ids.map((i) => copy("cloud", i)))];
    const r = buildAuditReport(loose, loose.destinations.map((d, i) => ({ cfg: d, inv: invs[i] })), { now, deep: false, toolVersion: "test" });
    expect(r.databases[0].policy.pass).toBe(true);
    expect(r.verdict).toBe("not-compliant");
    expect(r.findings).toEqual(["app: usb holds no good copy of app (it holds no snapshot of it at all)"]);
    expect(r.databases[0].withoutGoodCopy).toEqual(["usb"]);
  });

  it("a destination whose only copies are damaged is named too, once", () => {
    const loose = { ...cfg, policy: { ...cfg.policy, copies: 2, media: 1, offsite: 0 } };
    const invs = [inv("disk", ids.slice(1).map((i) => copy("disk", i))), inv("usb", [copy("usb", ids[2], "size-mismatch")]), inv("cloud", ids.map((i) => copy("cloud", i)))];
    const r = buildAuditReport(loose, loose.destinations.map((d, i) => ({ cfg: d, inv: invs[i] })), { now, deep: false, toolVersion: "test" });
    expect(r.findings).toContain("app: usb holds no good copy of app (1 damaged)");
    expect(r.databases[0].withoutGoodCopy).toEqual(["usb"]);
  });

  it("an unreachable destination is one finding (unreachable), not also 'no good copy'", () => {
    const r = report([inv("disk", ids.slice(1).map((i) => copy("disk", i))), inv("usb", [], false), inv("cloud", ids.map((i) => copy("cloud", i)))]);
    expect(r.findings).toEqual(["destination usb is unreachable: connection refused"]);
  });

  it("could not audit when nothing answers", () => {
    const r = report([inv("disk", [], false), inv("usb", [], false), inv("cloud", [], false)]);
    expect(r).toMatchObject({ verdict: "could-not-audit", exitCode: 1 });
  });
});
