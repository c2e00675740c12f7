import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import pino from "pino";
import { openAdapter } from "../../adapters/index.js";
import type { StorageAdapter } from "../../adapters/types.js";
import { parseConfig } from "../../src/config/load.js";
import { expandGlobs } from "../../src/config/fleet.js";
import { runBackup } from "../../src/backup/run.js";
import { defaultDeps } from "../../src/runtime/context.js";
import { tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * Issue 13, fleets: every listing of a database's folder reads each of its
 * manifests, so a fleet pays for each listing once per database and
 * destination. The unchanged check and the shrink guard judge the same
 * moment, so they share one listing; an unchanged night's retention reuses
 * it too (nothing new was uploaded, and the base copy it keeps is in it).
 * A shipped night's retention lists again, after the copy: it must see
 * the new copy as the store holds it.
 */
describe("listings per database and destination in one run", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir("tri-listings-")));
  afterAll(async () => cleanup?.());

  it("a shipped night lists twice (before, and for retention after the copy); an unchanged night once", { timeout: 60_000 }, async () => {
    const dbs = ["t1", "t2", "t3"];
    await mkdir(path.join(dir, "fleet"));
    for (const d of dbs) createSampleDb(path.join(dir, "fleet", `${d}.db`), 100);
    const cfg = await expandGlobs(parseConfig(
      [
        "databases:",
        `  - { path: ${JSON.stringify(path.join(dir, "fleet", "*.db"))} }`,
        "destinations:",
        `  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))}, retention: { keepLast: 2 } }`,
        `  - { name: usb, type: local, medium: usb, path: ${JSON.stringify(path.join(dir, "usb"))}, retention: { keepLast: 2 } }`,
        "policy: { copies: 2, media: 2, offsite: 0, maxAge: 26h }",
        `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
      ].join("\n"),
      path.join(dir, "triplicate.yml"),
      {},
    ));
    const logger = pino({ level: "silent" });
    const lists = new Map<string, number>(); // "<destination> <prefix>" -> list calls
    let now = new Date("2026-03-01T02:00:00Z");
    const counted = (name: string, a: StorageAdapter): StorageAdapter =>
      new Proxy(a, {
        get(target, prop, receiver) {
          if (prop !== "list") return Reflect.get(target, prop, receiver);
          return (prefix: string) => {
            lists.set(`${name} ${prefix}`, (lists.get(`${name} ${prefix}`) ?? 0) + 1);
            return target.list(prefix);
          };
        },
      });
    const deps = defaultDeps({
      logger,
      toolVersion: "listings",
      clock: () => new Date(now),
      openDestination: async (d, o) => counted(d.name, await openAdapter(d, { logger, dryRun: o.dryRun, createRoot: o.createRoot })),
    });
    const night = async (init = false) => {
      lists.clear();
      now = new Date(now.getTime() + 86_400_000);
      const r = await runBackup(cfg, { tags: [], dryRun: false, init }, deps);
      expect(r.exitCode).toBe(0);
      return r;
    };
    await night(true);
    for (const d of dbs) {
      const db = new Database(path.join(dir, "fleet", `${d}.db`));
      db.exec("INSERT INTO authors(name) VALUES ('another night')");
      db.close();
    }
    const shipped = await night();
    expect(shipped.databases.every((d) => !d.unchanged && d.destinations.every((x) => x.status === "verified"))).toBe(true);
    for (const dest of ["disk", "usb"]) for (const d of dbs) expect(lists.get(`${dest} ${d}/`), `${dest} ${d}/`).toBe(2);

    const unchanged = await night();
    expect(unchanged.databases.every((d) => d.unchanged && d.destinations.every((x) => x.status === "unchanged"))).toBe(true);
    for (const dest of ["disk", "usb"]) for (const d of dbs) expect(lists.get(`${dest} ${d}/`), `${dest} ${d}/`).toBe(1);
  });
});
