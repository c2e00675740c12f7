import { describe, expect, it } from "vitest";
import { summarizeBackup } from "../../src/notify/summary.js";
import type { BackupReport } from "../../src/backup/run.js";

/** A vanished tenant makes the run degraded; the alert must say why, not only "degraded". */
describe("alert summary of a backup with a vanished tenant", () => {
  it("has a finding naming the tenant, its file and its newest snapshot", () => {
    const report: BackupReport = {
      command: "backup", toolVersion: "0", startedAt: "2026-11-23T02:00:00.000Z", finishedAt: "2026-11-23T02:00:01.000Z", dryRun: false, exitCode: 3,
      destinations: [], databases: [],
      vanished: [{ db: "globex", sourcePath: "/srv/tenants/globex.db", glob: "/srv/tenants/*.db", destinations: ["disk"],
        newest: { snapshotId: "20261122T020000Z-0a1b2c3d", createdAt: "2026-11-22T02:00:00.000Z", destination: "disk", ageMs: 86_400_000, age: "24.0h" } }],
    };
    const s = summarizeBackup(report, { host: "h", toolVersion: "0", configPath: "c", startedAt: report.startedAt });
    expect(s.findings.join("\n")).toMatch(/globex.*vanished.*\/srv\/tenants\/globex\.db.*20261122T020000Z-0a1b2c3d.*24\.0h/);
  });
});
