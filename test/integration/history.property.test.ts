import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import pino from "pino";
import { openAdapter } from "../../adapters/index.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { runBackup } from "../../src/backup/run.js";
import { runPrune } from "../../src/retention/run.js";
import { runVerify } from "../../src/verify/run.js";
import { defaultDeps } from "../../src/runtime/context.js";
import { tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";
import { flipByte } from "../helpers/damage.js";
import { seededRandom } from "../helpers/random.js";

/**
 * "Never destroy good history", as a property: a seeded random sequence of
 * operations on three destinations (nightly backups, the clock jumping both
 * ways, the source emptied or shrunk, a copy rotted or deleted, a disk
 * unmounted, prune, deep verification), checking after every run that the
 * guards held:
 *  - a run on a night the source was emptied or shrunk made no snapshot
 *    that was restorable before unrestorable;
 *  - no run deleted more than the budget of a destination's restorable
 *    snapshots (half, and at least one allowed);
 *  - the newest restorable snapshot stays restorable through every run;
 *  - a destination that held a restorable copy still holds one;
 *  - no run deletes a copy the tool can see is damaged (a manifest whose
 *    artifact is gone is left for a person). A rotted artifact looks complete
 *    until a deep check reads it, so ordinary retention may still remove it.
 * "Restorable" is checked on the files themselves: a manifest whose artifact
 * hashes to what it names.
 */
const SEED = Number(process.env.TRIPLICATE_PROPERTY_SEED ?? 20261201);
const STEPS = Number(process.env.TRIPLICATE_PROPERTY_STEPS ?? 200);
const DESTS = ["disk", "usb", "cloud"];


type Restorable = Map<string, Set<string>>; // destination -> snapshot ids
type Damaged = Map<string, Set<string>>; // destination -> snapshot ids whose manifest names an artifact that is gone

describe("property: seeded random nights never destroy good history", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir("tri-property-")));
  afterAll(async () => cleanup?.());

  it(`${STEPS} operations (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const random = seededRandom(SEED);
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
    const source = path.join(dir, "app.db");
    createSampleDb(source, 400);
    const root = (d: string) => path.join(dir, d);
    const unmounted = new Set<string>();
    const retention: Record<string, string> = { disk: "{ keepLast: 3, keepDaily: 4 }", usb: "{ keepDaily: 6 }", cloud: "{ keepWeekly: 3, keepWithin: 5d }" };
    const cfg: Config = parseConfig(
      [
        "databases:",
        `  - { name: app, path: ${JSON.stringify(source)} }`,
        "destinations:",
        ...DESTS.map((d, i) => `  - { name: ${d}, type: local, medium: m${i}, ${i === 2 ? "offsite: true, " : ""}path: ${JSON.stringify(root(d))}, retention: ${retention[d]} }`),
        `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
      ].join("\n"),
      path.join(dir, "triplicate.yml"),
      {},
    );
    const logger = pino({ level: "silent" });
    let now = new Date("2026-01-01T02:00:00Z");
    const deps = defaultDeps({
      logger,
      toolVersion: "property",
      clock: () => new Date(now),
      openDestination: (d, o) => openAdapter(d, { logger, dryRun: o.dryRun, createRoot: o.createRoot }),
    });

    const backup = (extra: { acceptShrink?: boolean; init?: boolean } = {}) => runBackup(cfg, { tags: ["nightly"], dryRun: false, ...extra }, deps);
    expect((await backup({ init: true })).exitCode).toBe(0);

    const log: string[] = [];
    for (let step = 0; step < STEPS; step++) {
      const before = await survey(DESTS.map((d) => [d, unmounted.has(d) ? `${root(d)}.unmounted` : root(d)]));
      const r = random();
      let kind: string;
      let badNight = false;
      if (r < 0.4) {
        kind = "backup";
        now = new Date(now.getTime() + (12 + random() * 36) * 3_600_000);
        await backup();
      } else if (r < 0.46) {
        kind = "clock jumps ahead, backup";
        // A host clock ahead takes no more than retention's usual one snapshot per rule slot on a
        // local folder (it has no clock of its own to compare with): the budget is the guard there.
        now = new Date(now.getTime() + (30 + random() * 200) * 86_400_000);
        await backup();
      } else if (r < 0.5) {
        kind = "clock steps back, backup";
        now = new Date(now.getTime() - (1 + random() * 60) * 86_400_000);
        await backup();
      } else if (r < 0.56) {
        kind = random() < 0.5 ? "source emptied, backup" : "source shrunk, backup";
        const db = new Database(source);
        db.pragma("foreign_keys = OFF");
        db.exec(kind.startsWith("source emptied") ? "DELETE FROM posts; DELETE FROM authors;" : "DELETE FROM posts WHERE id % 10 <> 0;");
        db.close();
        now = new Date(now.getTime() + 86_400_000);
        badNight = true;
        await backup();
      } else if (r < 0.6) {
        kind = "source refilled, backup --accept-shrink";
        await rm(source, { force: true });
        await rm(`${source}-wal`, { force: true });
        await rm(`${source}-shm`, { force: true });
        createSampleDb(source, 300 + Math.floor(random() * 300));
        now = new Date(now.getTime() + 86_400_000);
        await backup({ acceptShrink: true });
      } else if (r < 0.68) {
        const d = pick(DESTS.filter((x) => !unmounted.has(x)));
        const victim = d ? await randomArtifact(root(d), random) : undefined;
        kind = `a copy on ${d} rots`;
        if (victim) await flipByte(victim);
        log.push(`${step}: ${kind}`);
        continue;
      } else if (r < 0.71) {
        const d = pick(DESTS.filter((x) => !unmounted.has(x)));
        const victim = d ? await randomArtifact(root(d), random) : undefined;
        kind = `a copy on ${d} is deleted by hand`;
        if (victim) await rm(victim);
        log.push(`${step}: ${kind}`);
        continue;
      } else if (r < 0.76) {
        const d = pick(DESTS);
        if (unmounted.has(d)) {
          await rename(`${root(d)}.unmounted`, root(d));
          unmounted.delete(d);
          kind = `${d} mounted again`;
        } else {
          await rename(root(d), `${root(d)}.unmounted`);
          unmounted.add(d);
          kind = `${d} unmounted`;
        }
        log.push(`${step}: ${kind}`);
        continue;
      } else if (r < 0.92) {
        kind = "prune";
        await runPrune(cfg, { dryRun: false }, deps);
      } else {
        kind = "verify --deep --budget";
        await runVerify(cfg, { deep: true, budget: { bytes: 1 } }, deps);
      }
      log.push(`${step}: ${kind} @ ${now.toISOString()}`);
      const after = await survey(DESTS.map((d) => [d, unmounted.has(d) ? `${root(d)}.unmounted` : root(d)]));
      const where = `step ${step} (${kind}); history:\n${log.slice(-12).join("\n")}`;
      // Nothing is ever created at an unmounted disk's mount point.
      for (const d of unmounted) expect(existsSync(root(d)), `${d} recreated while unmounted, ${where}`).toBe(false);
      checkStep(before, after, { badNight, where });
    }
  });
});

/** Per destination: the snapshots whose manifest and artifact match, and those whose artifact is gone. */
async function survey(roots: [string, string][]): Promise<{ restorable: Restorable; damaged: Damaged }> {
  const restorable: Restorable = new Map();
  const damaged: Damaged = new Map();
  for (const [name, root] of roots) {
    restorable.set(name, new Set());
    damaged.set(name, new Set());
    const folder = path.join(root, "app");
    if (!existsSync(folder)) continue;
    for (const f of await readdir(folder)) {
      if (!f.endsWith(".manifest.json")) continue;
      const m = JSON.parse(await readFile(path.join(folder, f), "utf8")) as { snapshotId: string; artifact: { key: string; sha256: string } };
      const art = path.join(root, m.artifact.key);
      if (!existsSync(art)) damaged.get(name)!.add(m.snapshotId);
      else if (createHash("sha256").update(await readFile(art)).digest("hex") === m.artifact.sha256) restorable.get(name)!.add(m.snapshotId);
    }
  }
  return { restorable, damaged };
}

function checkStep(before: { restorable: Restorable; damaged: Damaged }, after: { restorable: Restorable; damaged: Damaged }, ctx: { badNight: boolean; where: string }): void {
  const all = (r: Restorable) => new Set([...r.values()].flatMap((s) => [...s]));
  const beforeAll = all(before.restorable);
  const afterAll = all(after.restorable);
  const newest = [...beforeAll].sort().at(-1);
  if (newest) expect(afterAll.has(newest), `the newest restorable snapshot ${newest} was lost at ${ctx.where}`).toBe(true);
  for (const [dest, had] of before.restorable) {
    const has = after.restorable.get(dest)!;
    const lost = [...had].filter((id) => !has.has(id));
    if (ctx.badNight) expect(lost, `${dest} lost restorable snapshots the night the source shrank, ${ctx.where}`).toEqual([]);
    // The budget: at most half of the good snapshots the run saw (the one it wrote included), and one
    // is always allowed.
    const seen = had.size + [...has].filter((id) => !had.has(id)).length;
    expect(lost.length, `${dest} lost ${lost.length} of ${seen} in one run, ${ctx.where}`).toBeLessThanOrEqual(Math.max(1, Math.floor(seen / 2)));
    if (had.size > 0) expect(has.size, `${dest} was left with nothing restorable, ${ctx.where}`).toBeGreaterThan(0);
    for (const id of before.damaged.get(dest)!) {
      expect(after.damaged.get(dest)!.has(id) || has.has(id), `a damaged copy of ${id} on ${dest} was deleted, ${ctx.where}`).toBe(true);
    }
  }
}

async function randomArtifact(root: string, random: () => number): Promise<string | undefined> {
  const folder = path.join(root, "app");
  if (!existsSync(folder)) return undefined;
  const artifacts = (await readdir(folder)).filter((f) => f.endsWith(".sqlite.zst") || f.endsWith(".sqlite.gz"));
  return artifacts.length ? path.join(folder, artifacts[Math.floor(random() * artifacts.length)]) : undefined;
}


