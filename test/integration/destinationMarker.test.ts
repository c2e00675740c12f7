import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * Issue 11 D: an unmounted disk is not an empty destination. A destination
 * is initialised once (`backup --init` writes triplicate-destination.json
 * with a random id); after that every command requires the marker, and a
 * missing or unmarked root is "not initialised or not mounted", never
 * created silently.
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-marker-"));
  createSampleDb(path.join(dir, "app.db"), 200);
});
afterEach(async () => cleanup());

const MARKER = "triplicate-destination.json";
const root = (name: string) => path.join(dir, name);
const exists = (p: string) => stat(p).then(() => true, () => false);
const markerId = async (name: string) => JSON.parse(await readFile(path.join(root(name), MARKER), "utf8")).id as string;

async function config(dests = ["disk", "usb"]): Promise<string> {
  const file = path.join(dir, "triplicate.yml");
  await writeFile(
    file,
    `databases:
  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }
destinations:
${dests.map((d) => `  - { name: ${d}, type: local, path: ${JSON.stringify(root(d))} }`).join("\n")}
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# each run here must ship a snapshot of its own, even when the source did not change
unchanged: upload
`,
  );
  return file;
}

describe("destination marker: backup --init, and nothing created silently", () => {
  it("a missing root without --init: unreachable 'not initialised or not mounted', exit 3 while the other destination verifies, nothing created", async () => {
    const first = await runCli(["backup", "--init", "--config", await config(["disk"]), "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json().destinations).toEqual([{ destination: "disk", reachable: true, marker: { id: await markerId("disk"), status: "created" } }]);

    const cfg = await config(["disk", "usb"]); // usb: a disk that is not plugged in
    const r = await runCli(["backup", "--config", cfg, "--json"]);
    expect(r.code, r.stderr).toBe(3);
    const usb = r.json().databases[0].destinations.find((d: any) => d.destination === "usb");
    expect(usb.status).toBe("failed");
    expect(usb.error).toContain(`usb is not initialised or not mounted: the folder ${root("usb")} does not exist`);
    expect(usb.error).toContain("mount it if it is a disk or share, or run `triplicate backup --init` once if it is a new destination");
    expect(r.json().destinations.find((d: any) => d.destination === "usb")).toMatchObject({ reachable: false });
    expect(r.json().databases[0].destinations.find((d: any) => d.destination === "disk").status).toBe("verified");
    expect(await exists(root("usb"))).toBe(false);
    const human = await runCli(["backup", "--config", cfg]);
    expect(human.code).toBe(3);
    expect(human.stdout).toContain("usb is not initialised or not mounted");
  });

  it("an empty mount point (the folder exists, no marker, no copies) is refused the same way and left empty", async () => {
    await runCli(["backup", "--init", "--config", await config(["disk"])]);
    await mkdir(root("usb"));
    const r = await runCli(["backup", "--config", await config(), "--json"]);
    expect(r.code).toBe(3);
    expect(r.json().databases[0].destinations.find((d: any) => d.destination === "usb").error).toContain(
      `usb is not initialised or not mounted: local:${root("usb")} exists but holds no ${MARKER} and no copies`,
    );
    expect(await readdir(root("usb"))).toEqual([]);
  });

  it("--init creates and marks only the missing ones: an initialised destination keeps its id", async () => {
    await runCli(["backup", "--init", "--config", await config(["disk"])]);
    const diskId = await markerId("disk");
    const r = await runCli(["backup", "--init", "--config", await config(), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await markerId("disk")).toBe(diskId);
    const usbId = await markerId("usb");
    expect(usbId).not.toBe(diskId);
    expect(r.json().destinations).toEqual([
      { destination: "disk", reachable: true, marker: { id: diskId, status: "found" } },
      { destination: "usb", reachable: true, marker: { id: usbId, status: "created" } },
    ]);
    // The next nightly run needs no flag.
    expect((await runCli(["backup", "--config", await config()])).code).toBe(0);
  });

  it("--init --dry-run creates nothing", async () => {
    const r = await runCli(["backup", "--init", "--dry-run", "--config", await config(), "--json"]);
    expect(r.code).not.toBe(0);
    expect(r.json().databases[0].destinations[0].error).toContain("`backup --init` creates it, but not in a dry run");
    expect(await exists(root("disk"))).toBe(false);
  });

  it("a root holding copies but no marker (an older version) is adopted: marked, and said so in the report", async () => {
    const cfg = await config();
    expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
    await rm(path.join(root("usb"), MARKER)); // as a version before markers left it
    const r = await runCli(["backup", "--config", cfg, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const id = await markerId("usb");
    expect(r.json().destinations.find((d: any) => d.destination === "usb")).toEqual({ destination: "usb", reachable: true, marker: { id, status: "adopted" } });
    expect(r.stderr).toContain("usb held copies");
    await rm(path.join(root("usb"), MARKER));
    const human = await runCli(["backup", "--config", cfg]);
    expect(human.stdout).toContain(`usb            held copies from an older version but no marker: adopted, marker ${await markerId("usb")}`);
    // list adopts too, and shows every marker id (two configs on one store show the same id).
    await rm(path.join(root("usb"), MARKER));
    const list = await runCli(["list", "--config", cfg, "--json"]);
    expect(list.code).toBe(0);
    expect(list.json().destinations.map((d: any) => d.marker.status)).toEqual(["found", "adopted"]);
    expect((await runCli(["list", "--config", cfg])).stdout).toContain(`disk (local:${root("disk")})  marker ${await markerId("disk")}`);
  });

  for (const how of ["missing", "empty"] as const) {
    it(`list, verify, prune, audit and restore refuse a ${how} unmarked root (exit 3, or 1 when it was the only source), and create nothing`, async () => {
      const cfg = await config();
      expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
      await rename(root("usb"), `${root("usb")}-unplugged`);
      if (how === "empty") await mkdir(root("usb"));
      const why = how === "missing" ? `the folder ${root("usb")} does not exist` : `exists but holds no ${MARKER} and no copies`;
      const list = await runCli(["list", "--config", cfg, "--json"]);
      expect(list.code).toBe(3);
      expect(list.json().destinations[1]).toMatchObject({ destination: "usb", reachable: false, error: expect.stringContaining(why) });
      const verify = await runCli(["verify", "--config", cfg, "--json"]);
      expect(verify.code).toBe(3);
      expect(verify.json().destinations[1].error).toContain("usb is not initialised or not mounted");
      const prune = await runCli(["prune", "--config", cfg, "--json"]);
      expect(prune.code).toBe(3);
      expect(prune.json().destinations[1]).toMatchObject({ reachable: false, error: expect.stringContaining("not initialised or not mounted") });
      const audit = await runCli(["audit", "--config", cfg, "--format", "json"]);
      expect(audit.code).toBe(3);
      expect(audit.json().destinations.map((d: any) => [d.name, d.reachable])).toEqual([["disk", true], ["usb", false]]);
      expect(audit.json().destinations[0].markerId).toBe(await markerId("disk"));
      const restored = await runCli(["restore", "app", "--config", cfg, "--from", "usb", "--to", path.join(dir, "r.db"), "--json"]);
      expect(restored.code).toBe(1);
      expect(restored.json().error).toMatch(/^usb \(--from\) could not be reached: usb is not initialised or not mounted/);
      expect((await runCli(["restore", "app", "--config", cfg, "--to", path.join(dir, "r.db"), "--json"])).code).toBe(3);
      if (how === "missing") expect(await exists(root("usb"))).toBe(false);
      else expect(await readdir(root("usb"))).toEqual([]);
    });
  }
});
