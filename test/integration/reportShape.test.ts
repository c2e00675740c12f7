import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * The shape of every command's --json report, as key paths
 * ("databases[].destinations[].retention.kept[].reasons[]"), held against a
 * recorded list. Scripts parse these reports: a key that moves or vanishes
 * in a refactor must fail here, not in someone's cron job. The fixture was
 * recorded from the build before the layout change; re-record it
 * (TRIPLICATE_RECORD_SHAPES=1) only for a deliberate, documented change.
 */
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/report-shapes.json");

function keyPaths(value: unknown, at = "", out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) keyPaths(v, `${at}[]`, out);
    if (!value.length) out.add(`${at}[]`);
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) keyPaths(v, at ? `${at}.${k}` : k, out);
  } else {
    out.add(at);
  }
  return out;
}

describe("--json report shapes", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const shapes: Record<string, string[]> = {};
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("tri-shape-"));
    createSampleDb(path.join(dir, "app.db"), 200);
    await writeFile(
      path.join(dir, "t.yml"),
      [
        "databases:",
        `  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }`,
        "destinations:",
        `  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "d1"))}, retention: { keepLast: 1 } }`,
        `  - { name: usb, type: local, medium: usb, path: ${JSON.stringify(path.join(dir, "d2"))} }`,
        `  - { name: cloud, type: local, medium: cloud, offsite: true, path: ${JSON.stringify(path.join(dir, "d3"))} }`,
        // A folder that cannot exist (below a file): every report then also carries its "unreachable" fields.
        `  - { name: gone, type: local, path: ${JSON.stringify(path.join(dir, "app.db", "x"))} }`,
        "unchanged: upload", // the shapes of a full run; the unchanged path adds fields of its own
      ].join("\n"),
    );
  });
  afterAll(async () => cleanup?.());

  it("backup, list, prune, verify, restore and audit keep their keys", async () => {
    const cfg = ["--config", path.join(dir, "t.yml"), "--json"];
    // Two backups, so prune has something to keep and something to delete.
    for (const n of [1, 2]) shapes[`backup-${n}`] = [...keyPaths((await runCli(["backup", ...(n === 1 ? ["--init"] : []), ...cfg])).json())];
    shapes.list = [...keyPaths((await runCli(["list", ...cfg])).json())];
    shapes.prune = [...keyPaths((await runCli(["prune", "--dry-run", ...cfg])).json())];
    shapes.verify = [...keyPaths((await runCli(["verify", "--deep", ...cfg])).json())];
    shapes.restore = [...keyPaths((await runCli(["restore", "app", "--to", path.join(dir, "back.db"), ...cfg])).json())];
    shapes.audit = [...keyPaths((await runCli(["audit", "--format", "json", ...cfg])).json())];
    shapes.refused = [...keyPaths((await runCli(["restore", "nope", ...cfg])).json())];
    for (const k of Object.keys(shapes)) shapes[k].sort();
    if (process.env.TRIPLICATE_RECORD_SHAPES) await writeFile(FIXTURE, JSON.stringify(shapes, null, 1) + "\n");
    const recorded = JSON.parse(await readFile(FIXTURE, "utf8")) as Record<string, string[]>;
    expect(shapes).toEqual(recorded);
  });
});
