import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * Issue 14: `forget DB SNAPSHOT` deletes one snapshot everywhere; never the
 * only good copy without --force (a destination that cannot be reached holds
 * no copy as far as this is concerned); --dry-run deletes nothing.
 */
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-forget-"));
  createSampleDb(path.join(dir, "app.db"), 200);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    `databases:
  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }
  - { name: usb, type: local, path: ${JSON.stringify(path.join(dir, "usb"))}, medium: usb }
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# each run here must ship a snapshot of its own, even when the source did not change
unchanged: upload
`,
  );
});
afterEach(async () => cleanup());

const files = async (dest: string) => (await readdir(path.join(dir, dest, "app"))).sort();
async function backup(init = false): Promise<string> {
  const r = await runCli(["backup", ...(init ? ["--init"] : []), "--config", cfg, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return r.json().databases[0].snapshotId;
}

describe("forget DB SNAPSHOT", () => {
  it("--dry-run deletes nothing; then the snapshot goes from every destination (manifest, artifact, proofs), the other stays", async () => {
    const a = await backup(true);
    const b = await backup();
    const before = { disk: await files("disk"), usb: await files("usb") };
    expect(before.disk.filter((f) => f.startsWith(a))).toHaveLength(3); // manifest, artifact, proof

    const dry = await runCli(["forget", "app", a, "--dry-run", "--config", cfg, "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json().destinations.map((d: any) => d.deleted.length)).toEqual([3, 3]);
    expect(dry.json().destinations[0].deleted[0]).toMatch(/\.manifest\.json$/); // the manifest goes first
    expect({ disk: await files("disk"), usb: await files("usb") }).toEqual(before);

    const r = await runCli(["forget", "app", a, "--config", cfg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("disk: deleted 3 object(s)");
    for (const d of ["disk", "usb"]) {
      expect((await files(d)).filter((f) => f.startsWith(a))).toEqual([]);
      expect((await files(d)).filter((f) => f.startsWith(b))).toHaveLength(3);
    }
    const list = await runCli(["list", "--config", cfg, "--json"]);
    expect(list.code).toBe(0);
  }, 60_000);

  it("refuses the only good copy without --force, and deletes it with --force", async () => {
    const a = await backup(true);
    const before = await files("disk");
    for (const extra of [[], ["--dry-run"]]) {
      const r = await runCli(["forget", "app", a, ...extra, "--config", cfg]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`snapshot ${a} is the only good copy of app`);
      expect(r.stderr).toContain("--force");
    }
    expect(await files("disk")).toEqual(before);
    const forced = await runCli(["forget", "app", a, "--force", "--config", cfg, "--json"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await files("disk")).filter((f) => f.startsWith(a))).toEqual([]);
  }, 60_000);

  it("an unmounted destination is no spare copy: exit 3 when it keeps the snapshot, and the last reachable good copy is refused", async () => {
    const a = await backup(true);
    const b = await backup();
    await rename(path.join(dir, "usb"), path.join(dir, "usb-unplugged"));
    const r = await runCli(["forget", "app", a, "--config", cfg, "--json"]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json().destinations.find((d: any) => d.destination === "usb")).toMatchObject({ reachable: false, deleted: [] });
    expect((await files("disk")).filter((f) => f.startsWith(a))).toEqual([]);
    // usb still holds a and b, but nobody can see it: b on disk is the last good copy in reach.
    const last = await runCli(["forget", "app", b, "--config", cfg]);
    expect(last.code).toBe(2);
    expect(last.stderr).toContain("only good copy");
    expect((await files("disk")).filter((f) => f.startsWith(b))).toHaveLength(3);
  }, 60_000);

  it("a snapshot id that is nowhere, or an unknown database, is a usage error naming how to find ids", async () => {
    await backup(true);
    const r = await runCli(["forget", "app", "20990101T000000Z-dead", "--config", cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("triplicate list --db app");
    const db = await runCli(["forget", "nope", "x", "--config", cfg]);
    expect(db.code).toBe(2);
    expect(db.stderr).toContain('no database named "nope"');
  }, 60_000);
});
