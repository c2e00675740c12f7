import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/** Issue 14, "Metrics": the textfile, read back with a real Prometheus text-format parser. */
const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => { name: string; type: string; help: string; metrics: { value: string; labels?: Record<string, string> }[] }[];

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-metrics-"));
  createSampleDb(path.join(dir, "app.db"), 100);
});
afterEach(async () => cleanup());

const prom = () => path.join(dir, "textfile", "triplicate.prom");
async function config(extra = ""): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases:
  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }
  - { name: nas, type: local, medium: nas, path: ${JSON.stringify(path.join(dir, "nas"))} }
${extra}
policy: { copies: 3, media: 2, offsite: 0, proveWithin: 30d }
staging: ${JSON.stringify(path.join(dir, "staging"))}
metrics: { textfile: textfile/triplicate.prom }
`,
  );
  return file;
}

async function metrics(): Promise<Map<string, { type: string; samples: { value: number; labels: Record<string, string> }[] }>> {
  const families = parse(await readFile(prom(), "utf8"));
  return new Map(families.map((f) => [f.name, { type: f.type, samples: f.metrics.map((m) => ({ value: Number(m.value), labels: m.labels ?? {} })) }]));
}
const value = (m: Awaited<ReturnType<typeof metrics>>, name: string, labels: Record<string, string> = {}) =>
  m.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe("metrics textfile", () => {
  it("after a backup: run, success, sizes, per destination verified/upload, 3-2-1 counts, free space; all gauges with the triplicate_ prefix", async () => {
    await import("node:fs/promises").then((fs) => fs.mkdir(path.join(dir, "textfile")));
    const cfg = await config();
    const r = await runCli(["backup", "--init", "--config", cfg]);
    expect(r.code, r.stderr).toBe(0);
    const m = await metrics();
    for (const name of m.keys()) expect(name).toMatch(/^triplicate_[a-z_]+$/);
    expect(value(m, "triplicate_last_run_exit_code", { command: "backup" })).toBe(0);
    const t = value(m, "triplicate_last_run_timestamp_seconds", { command: "backup" })!;
    expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(120);
    expect(value(m, "triplicate_last_success_timestamp_seconds", { command: "backup" })).toBe(t);
    expect(value(m, "triplicate_last_run_duration_seconds", { command: "backup" })).toBeGreaterThan(0);
    expect(value(m, "triplicate_backup_raw_bytes", { db: "app" })).toBeGreaterThan(0);
    expect(value(m, "triplicate_backup_artifact_bytes", { db: "app" })).toBeGreaterThan(0);
    for (const destination of ["disk", "nas"]) {
      expect(value(m, "triplicate_backup_destination_verified", { db: "app", destination })).toBe(1);
      expect(value(m, "triplicate_backup_upload_seconds", { db: "app", destination })).toBeGreaterThanOrEqual(0);
      expect(value(m, "triplicate_destination_free_bytes", { destination })).toBeGreaterThan(0);
      expect(value(m, "triplicate_destination_size_bytes", { destination })).toBeGreaterThanOrEqual(value(m, "triplicate_destination_free_bytes", { destination })!);
    }
    expect(value(m, "triplicate_latest_snapshot_copies", { db: "app" })).toBe(3);
    expect(value(m, "triplicate_latest_snapshot_media", { db: "app" })).toBe(2);
    expect(value(m, "triplicate_latest_snapshot_offsite", { db: "app" })).toBe(0);
    expect(value(m, "triplicate_policy_met", { db: "app" })).toBe(1);
    expect(m.get("triplicate_backup_raw_bytes")!.type).toBe("GAUGE");
    // Atomic: no temp file left beside it; readable by node_exporter's own user.
    expect(await readdir(path.join(dir, "textfile"))).toEqual(["triplicate.prom"]);
    expect((await stat(prom())).mode & 0o777).toBe(0o644);
  }, 90_000);

  it("a later command keeps the backup's figures; an audit adds its verdict and the unproven age; an unmounted disk gets no free-space figure", async () => {
    const cfg = await config();
    const first = await runCli(["backup", "--init", "--config", cfg]);
    expect(first.code).toBe(0);
    // node_exporter's folder is not ours to create: a missing one is a warning, never a failed backup.
    expect(first.stderr).toContain("metrics textfile");
    await import("node:fs/promises").then((fs) => fs.mkdir(path.join(dir, "textfile")));
    expect((await runCli(["backup", "--config", cfg])).code).toBe(0);
    const list = await runCli(["list", "--config", cfg]);
    expect(list.code).toBe(0);
    let m = await metrics();
    expect(value(m, "triplicate_last_run_exit_code", { command: "list" })).toBe(0);
    expect(value(m, "triplicate_backup_destination_verified", { db: "app", destination: "disk" })).toBe(1);

    const audit = await runCli(["audit", "--config", cfg]);
    m = await metrics();
    expect(value(m, "triplicate_audit_compliant")).toBe(audit.code === 0 ? 1 : 0);
    // Not restore-tested within proveWithin yet: the copy's age (seconds, small) is reported per destination.
    expect(value(m, "triplicate_oldest_unproven_copy_age_seconds", { db: "app", destination: "disk" })).toBeGreaterThanOrEqual(0);

    const withUsb = await config(`  - { name: usb, type: local, path: ${JSON.stringify(path.join(dir, "usb"))} }`);
    await import("node:fs/promises").then((fs) => fs.mkdir(path.join(dir, "usb"))); // an empty mount point
    const degraded = await runCli(["backup", "--config", withUsb]);
    expect(degraded.code).toBe(3);
    m = await metrics();
    expect(value(m, "triplicate_last_run_exit_code", { command: "backup" })).toBe(3);
    expect(value(m, "triplicate_backup_destination_verified", { db: "app", destination: "usb" })).toBe(0);
    expect(value(m, "triplicate_destination_free_bytes", { destination: "usb" })).toBeUndefined();
    expect(value(m, "triplicate_destination_free_bytes", { destination: "disk" })).toBeGreaterThan(0);
    // The last success stays the earlier one.
    expect(value(m, "triplicate_last_success_timestamp_seconds", { command: "backup" })).toBeLessThan(value(m, "triplicate_last_run_timestamp_seconds", { command: "backup" })!);
  }, 120_000);
});
