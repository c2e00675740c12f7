import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { runCli, spawnCli, tempDir } from "../helpers/cli.js";
import { seededRandom } from "../helpers/random.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { stagedFiles } from "../helpers/staging.js";

/**
 * Fault matrix row "SIGKILL at seeded random moments" (issue 12): a backup is
 * killed at a moment drawn from a seeded generator (anywhere from start-up to
 * just past a whole run), as the OOM killer or a power cut would, then the next
 * run goes through. After every trial:
 * - every copy listed complete matches its manifest byte for byte;
 * - every copy complete before the trial is still there, unchanged;
 * - the next run is green and leaves no dead run's files in staging.
 * TRIPLICATE_KILL_SEED and TRIPLICATE_KILL_TRIALS reproduce or widen a run.
 */
const SEED = Number(process.env.TRIPLICATE_KILL_SEED ?? 20261202);
const TRIALS = Number(process.env.TRIPLICATE_KILL_TRIALS ?? 50);
const DESTS = ["disk", "usb", "cloud"];

let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
let staging: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("tri-sigkill-"));
  createSampleDb(path.join(dir, "app.db"), 3_000);
  staging = path.join(dir, "staging");
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    [
      "databases:",
      `  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }`,
      "destinations:",
      ...DESTS.map((d, i) => `  - { name: ${d}, type: local, medium: m${i}${i === 2 ? ", offsite: true" : ""}, path: ${JSON.stringify(path.join(dir, d))} }`),
      `staging: ${JSON.stringify(staging)}`,
    ].join("\n"),
  );
  expect((await runCli(["backup", "--init", "--config", cfg])).code).toBe(0);
});
afterAll(async () => cleanup());

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Every complete copy on every destination, checked against its manifest: key → artifact sha256. */
async function completeCopies(trial: string): Promise<Map<string, string>> {
  const list = await runCli(["list", "--config", cfg, "--json"]);
  // A kill between an artifact's commit and its manifest's leaves an orphan (an interrupted upload):
  // list says so (exit 3) until retention sweeps it after leftoverGrace. Nothing else may be off.
  const states = () => JSON.stringify(list.json().destinations.map((d: any) => [d.destination, d.reachable, d.copies.map((c: any) => [c.snapshotId, c.state, c.detail])]));
  expect([0, 3], `${trial}: list\n${list.code === 3 ? states() : list.stdout.slice(0, 2000)}\n${list.stderr}`).toContain(list.code);
  if (list.code === 3) {
    for (const d of list.json().destinations) {
      expect(d.reachable, `${trial}: ${d.destination} reachable`).toBe(true);
      for (const c of d.copies) expect(["complete", "orphan"], `${trial}: ${d.destination} ${c.snapshotId}: ${c.state} (${c.detail})`).toContain(c.state);
    }
    expect(list.json().databasesWithoutCompleteCopy).toEqual([]);
  }
  const seen = new Map<string, string>();
  for (const d of list.json().destinations) {
    for (const c of d.copies.filter((k: any) => k.state === "complete")) {
      const bytes = await readFile(path.join(dir, d.destination, c.artifactKey));
      expect(bytes.length, `${trial}: ${d.destination}/${c.artifactKey} size`).toBe(c.manifest.artifact.size);
      expect(sha256(bytes), `${trial}: ${d.destination}/${c.artifactKey} bytes`).toBe(c.manifest.artifact.sha256);
      seen.set(`${d.destination}/${c.artifactKey}`, c.manifest.artifact.sha256);
    }
  }
  return seen;
}

/** A run killed `afterMs` after it was started. Resolves once it has exited. */
async function killedRun(afterMs: number): Promise<void> {
  const child = spawnCli(["backup", "--config", cfg, "--json"]);
  child.stdout.resume();
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const timer = setTimeout(() => child.kill("SIGKILL"), afterMs);
  await exited;
  clearTimeout(timer);
}

describe("fault matrix: SIGKILL at seeded moments", () => {
  it(`${TRIALS} trials (seed ${SEED}): complete copies match their manifests, older copies intact, next run green, staging swept`, async () => {
    const random = seededRandom(SEED);
    // How long one whole run takes here, so the kills spread over all of it.
    const t0 = Date.now();
    expect((await runCli(["backup", "--config", cfg])).code).toBe(0);
    const runMs = Date.now() - t0;
    let before = await completeCopies("start");
    let lastSnapshot = "";
    const db = new Database(path.join(dir, "app.db"));
    try {
      for (let i = 0; i < TRIALS; i++) {
        const at = Math.round(random() * runMs * 1.1);
        const trial = `trial ${i} (seed ${SEED}, killed at ${at} of ~${runMs} ms)`;
        db.prepare("INSERT INTO posts (author_id, body) VALUES (?, randomblob(300))").run(1 + (i % 50));
        await killedRun(at);
        const afterKill = await completeCopies(`${trial}, after the kill`);
        for (const [key, hash] of before) expect(afterKill.get(key), `${trial}: ${key} was complete before`).toBe(hash);

        const next = await runCli(["backup", "--config", cfg, "--json"]);
        expect(next.code, `${trial}: the next run\n${next.stderr}`).toBe(0);
        expect(await stagedFiles(staging), `${trial}: staging after the next run`).toEqual([]);
        // Shipped now, or (when the killed run had already published these bytes) recorded as unchanged.
        lastSnapshot = next.json().databases[0].snapshotId;
        // The next trial's check after its kill covers what this run made (one list per trial keeps the row fast).
        before = afterKill;
      }
    } finally {
      db.close();
    }
    const end = await completeCopies("the end");
    for (const [key, hash] of before) expect(end.get(key), `the end: ${key}`).toBe(hash);
    // The last run's snapshot is complete on every destination, whether it shipped or stood on an earlier copy.
    for (const d of DESTS) expect([...end.keys()].some((k) => k.startsWith(`${d}/app/${lastSnapshot}.`)), `${d} holds ${lastSnapshot}`).toBe(true);
  }, 900_000);
});
