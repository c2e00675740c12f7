import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/** Defects a second read found (each one could lose a good copy), pinned so they stay fixed. */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-safety-"));
  createSampleDb(path.join(dir, "app.db"), 200);
});
afterEach(async () => cleanup());

async function config(extra: { dbs?: string[]; retention?: string; dests?: string } = {}): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  const dbs = extra.dbs ?? ["app"];
  await writeFile(
    file,
    `databases:
${dbs.map((d) => `  - { name: ${d}, path: ${JSON.stringify(path.join(dir, `${d}.db`))} }`).join("\n")}
destinations:
${extra.dests ?? `  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}${extra.retention ? `, retention: ${extra.retention}` : ""} }`}
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# each run here must ship a snapshot of its own, even when the source did not change
unchanged: upload
`,
  );
  return file;
}
const manifests = async (db = "app") => (await readdir(path.join(dir, "disk", db))).filter((f) => f.endsWith(".manifest.json")).sort();

describe("safety", () => {
  it("a backup never deletes the copy it just wrote, even when the clock stepped back", async () => {
    const cfg = await config({ retention: "{ keepLast: 1 }" });
    expect((await runCli(["backup", "--init", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-12-01T02:00:00Z" } })).code).toBe(0);
    const r = await runCli(["backup", "--config", cfg, "--json"], { env: { TRIPLICATE_NOW: "2026-11-30T02:00:00Z" } });
    const run = r.json().databases[0];
    expect(await manifests()).toContain(`${run.snapshotId}.manifest.json`);
    expect(r.code).toBe(3); // the future-dated snapshot holds retention, and says so
    expect(run.destinations[0].retention.held[0].message).toMatch(/after this host's clock.*check this host's clock/);
  });

  it("a second restore in the same second keeps the first set-aside file", async () => {
    const cfg = await config();
    expect((await runCli(["backup", "--init", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-25T02:00:00Z" } })).code).toBe(0);
    const target = path.join(dir, "target.db");
    await writeFile(target, "the operator's own file");
    const env = { TRIPLICATE_NOW: "2026-11-25T03:00:00Z" };
    const first = await runCli(["restore", "app", "--config", cfg, "--to", target, "--json"], { env });
    const second = await runCli(["restore", "app", "--config", cfg, "--to", target, "--json"], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const asideFirst = first.json().movedAside[0];
    const asideSecond = second.json().movedAside[0];
    expect(asideSecond).not.toBe(asideFirst);
    expect(await readFile(asideFirst, "utf8")).toBe("the operator's own file");
  });

  it("restore refuses a target that is a folder", async () => {
    const cfg = await config();
    await runCli(["backup", "--init", "--config", cfg]);
    const folder = path.join(dir, "afolder");
    await mkdir(folder);
    const r = await runCli(["restore", "app", "--config", cfg, "--to", folder]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a file/);
  });

  it("prune leaves alone the databases this config does not name", async () => {
    createSampleDb(path.join(dir, "jobs.db"), 10);
    const both = await config({ dbs: ["app", "jobs"] });
    for (const now of ["2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z", "2026-11-22T02:00:00Z"]) {
      expect((await runCli(["backup", "--init", "--config", both], { env: { TRIPLICATE_NOW: now } })).code).toBe(0); // --init: a no-op once marked
    }
    const onlyApp = await config({ dbs: ["app"], retention: "{ keepLast: 1 }" });
    // --force: keepLast 1 over three snapshots deletes more than the deletion budget allows in one run.
    const r = await runCli(["prune", "--config", onlyApp, "--json", "--force"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().destinations[0].notManaged).toEqual(["jobs"]);
    expect((await manifests("app")).length).toBe(1);
    expect((await manifests("jobs")).length).toBe(3);
  });

  it("a manifest copied into another folder is not trusted: prune never deletes what it names", async () => {
    const cfg = await config({ dbs: ["app"], retention: "{ keepLast: 1 }" });
    expect((await runCli(["backup", "--init", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-20T02:00:00Z" } })).code).toBe(0);
    // An operator keeps an archive by copying the folder under another (configured) name.
    createSampleDb(path.join(dir, "archive.db"), 10);
    await cp(path.join(dir, "disk", "app"), path.join(dir, "disk", "archive"), { recursive: true });
    const both = await config({ dbs: ["app", "archive"], retention: "{ keepLast: 1 }" });
    expect((await runCli(["backup", "--config", both, "--db", "app"], { env: { TRIPLICATE_NOW: "2026-11-21T02:00:00Z" } })).code).toBe(0);
    const list = (await runCli(["list", "--config", both, "--json"])).json();
    const archive = list.destinations[0].copies.filter((c: any) => c.db === "archive");
    expect(archive.map((c: any) => c.state)).toEqual(["bad-manifest"]);
    const pr = await runCli(["prune", "--config", both, "--json"]);
    expect(pr.json().destinations[0].databases.flatMap((d: any) => d.deleted)).toEqual([]);
    expect((await readdir(path.join(dir, "disk", "app"))).length).toBe(3); // the newest app copy is intact: artifact, manifest, proof
  });

  it("restore exits 3 when a destination could not be reached (it may hold something newer)", async () => {
    const blocker = path.join(dir, "dead-nas");
    await writeFile(blocker, "not a folder");
    const cfg = await config({
      dests: `  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }\n  - { name: nas, type: local, path: ${JSON.stringify(path.join(blocker, "x"))} }`,
    });
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(3);
    const r = await runCli(["restore", "app", "--config", cfg, "--to", path.join(dir, "r.db"), "--json"]);
    expect(r.code).toBe(3);
    expect(r.json().restored.destination).toBe("disk");
    expect(r.json().unreachable.map((u: any) => u.destination)).toEqual(["nas"]);
  });

  it("verify and list: an unknown --db is a usage error, and an empty destination is not healthy", async () => {
    const cfg = await config();
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
    await rm(path.join(dir, "disk", "app"), { recursive: true }); // wiped: the destination is initialised and empty
    expect((await runCli(["verify", "--config", cfg, "--db", "ap"])).code).toBe(2);
    expect((await runCli(["list", "--config", cfg, "--db", "ap"])).code).toBe(2);
    const empty = await runCli(["verify", "--config", cfg, "--json"]);
    expect(empty.code).toBe(3);
    expect(empty.json().unprotected).toEqual(["app"]);
    expect((await runCli(["list", "--config", cfg])).stdout).toContain("NO COMPLETE COPY of database app");
  });

  it("a destination folder that vanished is never recreated: every command calls it not initialised or not mounted (an unmounted disk is not an empty one)", async () => {
    const nas = path.join(dir, "nas");
    const cfg = await config({
      dests: `  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }\n  - { name: nas, type: local, path: ${JSON.stringify(nas)} }`,
    });
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
    await rename(nas, `${nas}-unmounted`);
    const verify = await runCli(["verify", "--config", cfg, "--json"]);
    expect(verify.code).toBe(3);
    const nasReport = verify.json().destinations.find((d: any) => d.destination === "nas");
    expect(nasReport).toMatchObject({ reachable: false });
    expect(nasReport.error).toContain(`nas is not initialised or not mounted: the folder ${nas} does not exist`);
    expect((await runCli(["backup", "--config", cfg])).code).toBe(3);
    expect((await runCli(["list", "--config", cfg])).code).toBe(3);
    expect((await runCli(["prune", "--config", cfg])).code).toBe(3);
    expect((await runCli(["audit", "--config", cfg, "--json"])).code).toBe(3);
    const restored = await runCli(["restore", "app", "--config", cfg, "--from", "nas", "--to", path.join(dir, "r.db"), "--json"]);
    expect(restored.code).toBe(1);
    expect(restored.json().unreachable).toEqual([{ destination: "nas", error: expect.stringContaining("nas is not initialised or not mounted") }]);
    expect(restored.json().error).toMatch(/^nas \(--from\) could not be reached: nas is not initialised or not mounted: .*does not exist/);
    expect(await readdir(dir)).not.toContain("nas");
  });

  it("--json: a refused or failed command still prints one JSON object with its exit code and error", async () => {
    const cfg = await config();
    for (const [args, code, error] of [
      [["restore", "app", "--config", cfg, "--at", "yesterday"], 2, "--at yesterday is neither"],
      [["restore", "app", "--config", cfg, "--from", "nope"], 2, "--from nope: no such destination"],
      [["verify", "--config", path.join(dir, "missing.yml")], 2, "does not exist"],
      [["audit", "--config", cfg, "--format", "json", "--db", "x"], 2, "unknown option"],
    ] as const) {
      const r = await runCli([...args, "--json"]);
      expect(r.code, r.stderr).toBe(code);
      expect(r.json()).toEqual({ command: args[0], exitCode: code, error: expect.stringContaining(error) });
    }
  });

  it("--at without a zone is UTC", async () => {
    const cfg = await config();
    expect((await runCli(["backup", "--init", "--config", cfg], { env: { TRIPLICATE_NOW: "2026-11-20T02:00:00Z" } })).code).toBe(0);
    const r = await runCli(["restore", "app", "--config", cfg, "--to", path.join(dir, "r.db"), "--at", "2026-11-20T02:30", "--json"], {
      env: { TZ: "America/Los_Angeles" },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().at).toBe("2026-11-20T02:30:00.000Z");
  });
});
