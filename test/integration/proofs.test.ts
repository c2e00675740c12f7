import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { flipByte } from "../helpers/damage.js";

/**
 * One meaning of "verified" (issue 11 B): every copy carries the strongest
 * proof it has had, recorded beside it on its destination; 3-2-1 counts a
 * copy only at the policy's level; a copy whose newest check failed is
 * damaged and never holds a retention slot.
 */
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
const snaps: string[] = [];
const DAYS = ["2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z", "2026-11-22T02:00:00Z"];
const NOW = { TRIPLICATE_NOW: "2026-11-22T12:00:00Z" };

async function writeConfig(extra: { retention?: string; policy?: string } = {}): Promise<void> {
  await writeFile(
    cfg,
    [
      "databases:",
      `  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }`,
      "destinations:",
      `  - { name: disk, type: local, medium: disk, path: ${JSON.stringify(path.join(dir, "disk"))}${extra.retention ? `, retention: ${extra.retention}` : ""} }`,
      `  - { name: usb, type: local, medium: usb, path: ${JSON.stringify(path.join(dir, "usb"))} }`,
      `  - { name: cloud, type: local, medium: cloud, offsite: true, path: ${JSON.stringify(path.join(dir, "cloud"))} }`,
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
      "unchanged: upload", // each run a new snapshot of the same source, as these tests count them
      ...(extra.policy ? [`policy: ${extra.policy}`] : []),
    ].join("\n"),
  );
}

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-proofs-"));
  createSampleDb(path.join(dir, "app.db"), 300);
  cfg = path.join(dir, "triplicate.yml");
  await writeConfig();
  snaps.length = 0;
  for (const now of DAYS) {
    const r = await runCli(["backup", "--init", "--config", cfg, "--json"], { env: { TRIPLICATE_NOW: now } });
    expect(r.code, r.stderr).toBe(0);
    snaps.push(r.json().databases[0].snapshotId);
  }
});
afterEach(async () => cleanup());

const files = async (dest: string) => (await readdir(path.join(dir, dest, "app"))).sort();

describe("proof levels", () => {
  it("a backup records its read-back beside each copy; list, verify and the audit show the level and date", async () => {
    expect((await files("usb")).filter((f) => f.includes(".proof-") && f.includes("-read-back-ok-"))).toHaveLength(3);
    const verify = (await runCli(["verify", "--config", cfg, "--json"], { env: NOW })).json();
    const usb = verify.destinations.find((d: any) => d.destination === "usb");
    expect(usb.copies.map((c: any) => c.proof)).toEqual(DAYS.map((at) => ({ level: "read-back", at: new Date(at).toISOString() })));
    const audit = (await runCli(["audit", "--config", cfg, "--format", "json"], { env: NOW })).json();
    expect(audit.databases[0].latestCopies.map((c: any) => [c.destination, c.verified, c.proof.level])).toEqual([
      ["disk", true, "read-back"], ["usb", true, "read-back"], ["cloud", true, "read-back"],
    ]);
  });

  it("a copy nobody proved (its proof is gone: an older version wrote it) is present, never verified, and does not count for 3-2-1", async () => {
    for (const f of await files("cloud")) if (f.includes(".proof-")) await rm(path.join(dir, "cloud", "app", f));
    const audit = await runCli(["audit", "--config", cfg, "--format", "json"], { env: NOW });
    expect(audit.code).toBe(3);
    const cloud = audit.json().databases[0].latestCopies.find((c: any) => c.destination === "cloud");
    expect(cloud).toMatchObject({ state: "complete", verified: false, proof: { level: "present" } });
    expect(cloud.detail).toContain("proven only as present");
    expect(audit.json().databases[0].policy.rules.find((r: any) => r.rule === "offsite")).toMatchObject({ pass: false });
    // A restore test proves it again, and from then on it counts.
    expect((await runCli(["verify", "--config", cfg, "--deep"], { env: NOW })).code).toBe(0);
    const again = (await runCli(["audit", "--config", cfg, "--format", "json"], { env: NOW })).json();
    expect(again.databases[0].latestCopies.find((c: any) => c.destination === "cloud")).toMatchObject({ verified: true, proof: { level: "restore-tested" } });
  });

  it("policy.verifiedLevel: restore-tested counts only copies verify --deep restored", async () => {
    await writeConfig({ policy: "{ copies: 3, media: 2, offsite: 1, verifiedLevel: restore-tested }" });
    const before = await runCli(["audit", "--config", cfg, "--format", "json"], { env: NOW });
    expect(before.json().databases[0].latestCopies.every((c: any) => !c.verified)).toBe(true);
    expect(before.code).toBe(3);
    await runCli(["verify", "--config", cfg, "--deep"], { env: NOW });
    const after = await runCli(["audit", "--config", cfg, "--format", "json"], { env: NOW });
    expect(after.code, after.stdout).toBe(0);
  });
});

describe("damaged copies never hold a slot", () => {
  it("the newest copy failed its restore test: prune keeps the older good one instead of deleting it", async () => {
    await flipByte(path.join(dir, "disk", "app", `${snaps[2]}.sqlite.zst`), 2000);
    const deep = await runCli(["verify", "--config", cfg, "--deep", "--json"], { env: NOW });
    expect(deep.code).toBe(3);
    // The failure is recorded beside the copy: every later command, from any host, sees it damaged.
    expect((await files("disk")).some((f) => f.startsWith(`${snaps[2]}.proof-`) && f.includes("-restore-tested-fail-"))).toBe(true);
    const list = (await runCli(["list", "--config", cfg, "--json"], { env: NOW })).json();
    expect(list.destinations[0].copies.find((c: any) => c.snapshotId === snaps[2]).state).toBe("damaged");

    await writeConfig({ retention: "{ keepLast: 1 }" });
    const prune = await runCli(["prune", "--config", cfg, "--json"], { env: NOW });
    const disk = prune.json().destinations.find((d: any) => d.destination === "disk").databases[0];
    expect(disk.kept.map((k: any) => k.snapshotId)).toEqual([snaps[1]]);
    expect(disk.leftDamaged.map((k: any) => k.snapshotId)).toEqual([snaps[2]]);
    // The older good copies still go (keepLast 1), the damaged one is left for a person.
    expect(disk.deleted.map((k: any) => k.snapshotId)).toEqual([snaps[0]]);
    const left = await files("disk");
    expect(left.some((f) => f.startsWith(snaps[1]) && f.endsWith(".sqlite.zst"))).toBe(true);
    expect(left.some((f) => f.startsWith(snaps[0]))).toBe(false); // its proofs went with it
    // And a restore still finds a good copy: the older one on disk, or the newest elsewhere.
    const restored = await runCli(["restore", "app", "--config", cfg, "--from", "disk", "--to", path.join(dir, "back.db"), "--json"], { env: NOW });
    expect(restored.json().restored.snapshotId).toBe(snaps[1]);
  });
});

describe("verify --deep rotates through every copy within a budget", () => {
  it("each run restore-tests the copies proven least recently, until every copy is proven", async () => {
    const tested: string[][] = [];
    for (let run = 0; run < 3; run++) {
      const r = await runCli(["verify", "--config", cfg, "--deep", "--budget", "1B", "--json"], { env: { TRIPLICATE_NOW: `2026-11-22T1${run}:00:00Z` } });
      expect(r.code, r.stderr).toBe(0);
      const disk = r.json().destinations.find((d: any) => d.destination === "disk");
      tested.push(disk.copies.filter((c: any) => c.deep).map((c: any) => c.snapshotId));
    }
    // Never-tested copies first, newest first; one per run (the budget), each a different one.
    expect(tested).toEqual([[snaps[2]], [snaps[1]], [snaps[0]]]);
    const audit = (await runCli(["verify", "--config", cfg, "--json"], { env: NOW })).json();
    expect(audit.destinations[0].copies.every((c: any) => c.proof.level === "restore-tested")).toBe(true);
  });

  it("--budget and --max-time are usage errors without --deep or when they do not parse", async () => {
    expect((await runCli(["verify", "--config", cfg, "--budget", "1GB"])).code).toBe(2);
    const bad = await runCli(["verify", "--config", cfg, "--deep", "--budget", "lots"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--budget lots: expected a size such as 500MB, 10GB or 2GiB");
  });

  it("policy.proveWithin: the audit names copies not restore-tested within the window", async () => {
    await writeConfig({ policy: "{ copies: 3, media: 2, offsite: 1, proveWithin: 7d }" });
    const r = await runCli(["audit", "--config", cfg, "--format", "json"], { env: NOW });
    expect(r.code).toBe(3);
    expect(r.json().findings).toContain("app: 3 of 3 copies on disk not restore-tested within proveWithin (run triplicate verify --deep, with --budget or --max-time to rotate through them)");
    await runCli(["verify", "--config", cfg, "--deep", "--budget", "1TB"], { env: NOW });
    const after = await runCli(["audit", "--config", cfg, "--format", "json"], { env: NOW });
    expect(after.json().findings).toEqual([]);
    expect(after.code).toBe(0);
  });
});
