import pino from "pino";
import { describe, expect, it } from "vitest";
import { createMemoryAdapter, type MemoryAdapter } from "../../adapters/memory.js";
import { NotFoundError, PermanentError } from "../../adapters/errors.js";
import type { StorageAdapter } from "../../adapters/types.js";
import { MARKER_KEY, NotInitialisedError, ensureMarker } from "../../src/catalog/destinationMarker.js";
import { openDestinations, type RunDeps } from "../../src/runtime/context.js";
import type { DestinationConfig } from "../../src/config/schema.js";
import { bufferSource, readAll } from "../helpers/blob.js";

const logger = pino({ level: "silent" });
let n = 0;
const deps = {
  logger,
  clock: () => new Date("2026-11-25T02:00:00Z"),
  randomHex: (bytes: number) => (++n).toString(16).padStart(bytes * 2, "0"),
  hostname: "host",
  toolVersion: "test",
};
const COPY = "app/20261125T020000Z-0123abcd.manifest.json";
const puts = (a: MemoryAdapter) => a.calls.filter((c) => c.op === "put").map((c) => c.key);

describe("destination marker (restic's model: initialise once, then required)", () => {
  it("an empty store without --init is not initialised or not mounted, and nothing is written", async () => {
    const a = createMemoryAdapter({ name: "usb" });
    const err = await ensureMarker(a, "usb", { init: false }, deps).catch((e) => e);
    expect(err).toBeInstanceOf(NotInitialisedError);
    expect(err.message).toContain("usb is not initialised or not mounted: memory:usb exists but holds no triplicate-destination.json and no copies");
    expect(err.message).toContain("mount it if it is a disk or share, or run `triplicate backup --init` once if it is a new destination");
    expect(puts(a)).toEqual([]);
  });

  it("--init marks an empty store once; later runs find the same id, and --init never replaces it", async () => {
    const a = createMemoryAdapter();
    const made = await ensureMarker(a, "usb", { init: true }, deps);
    expect(made.status).toBe("created");
    expect(made.id).toMatch(/^[0-9a-f]{32}$/);
    const body = JSON.parse((await readAll(await a.get(MARKER_KEY))).toString());
    expect(body).toMatchObject({ format: "triplicate.destination/v1", id: made.id, createdAt: "2026-11-25T02:00:00.000Z", how: "init" });
    expect(await ensureMarker(a, "usb", { init: false }, deps)).toEqual({ id: made.id, status: "found" });
    expect(await ensureMarker(a, "usb", { init: true }, deps)).toEqual({ id: made.id, status: "found" });
    expect(puts(a)).toEqual([MARKER_KEY]);
  });

  it("a store holding copies but no marker (an older version) is adopted: marked, and said so", async () => {
    const a = createMemoryAdapter();
    await a.put(COPY, bufferSource("{}"));
    const lines: any[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const adopted = await ensureMarker(a, "nas", { init: false }, { ...deps, logger: log });
    expect(adopted.status).toBe("adopted");
    expect(JSON.parse((await readAll(await a.get(MARKER_KEY))).toString())).toMatchObject({ id: adopted.id, how: "adopted" });
    expect(lines.find((l) => l.level === 40)?.msg).toContain(`nas held copies (${COPY}) but no triplicate-destination.json, as an older version leaves it: adopted`);
    expect((await ensureMarker(a, "nas", { init: false }, deps)).status).toBe("found");
  });

  it("files that are not ours do not make a store ours", async () => {
    const a = createMemoryAdapter();
    await a.put("lost+found/x", bufferSource("x"));
    await a.put("app/notes.txt", bufferSource("x"));
    await expect(ensureMarker(a, "usb", { init: false }, deps)).rejects.toBeInstanceOf(NotInitialisedError);
  });

  it("copies on a store we cannot write to (a read-only mount during a restore): usable, unmarked, no id", async () => {
    const a = createMemoryAdapter();
    await a.put(COPY, bufferSource("{}"));
    a.failNext("put", new PermanentError("read-only file system", { adapter: a.id, op: "put" }));
    expect(await ensureMarker(a, "nas", { init: false }, deps)).toEqual({ status: "unmarked" });
  });

  it("a marker file that is not ours is refused, never overwritten", async () => {
    const a = createMemoryAdapter();
    await a.put(MARKER_KEY, bufferSource("garbage"));
    const err = await ensureMarker(a, "nas", { init: true }, deps).catch((e) => e);
    expect(err).toBeInstanceOf(NotInitialisedError);
    expect(err.message).toContain("holds a triplicate-destination.json that is not a Triplicate marker");
    expect((await readAll(await a.get(MARKER_KEY))).toString()).toBe("garbage");
  });
});

describe("openDestinations: every command goes through the marker", () => {
  const dest = (name: string) => ({ name, type: "local", path: `/x/${name}` }) as unknown as DestinationConfig;
  const runDeps = (open: (cfg: DestinationConfig, o: { dryRun: boolean; createRoot: boolean }) => Promise<StorageAdapter>): RunDeps => ({
    ...deps,
    openDestination: open,
  });

  it("a missing root is not initialised or not mounted; only --init (and never a dry run) may create it", async () => {
    const asked: boolean[] = [];
    const missing = runDeps(async (cfg, o) => {
      asked.push(o.createRoot);
      if (!o.createRoot) throw new NotFoundError(`the folder /x/${cfg.name} does not exist`, { adapter: `local:/x/${cfg.name}`, op: "open" });
      return createMemoryAdapter({ name: cfg.name });
    });
    const plain = await openDestinations([dest("usb")], missing, { dryRun: false });
    expect(plain.get("usb")?.adapter).toBeUndefined();
    expect(plain.get("usb")?.error).toBe(
      "usb is not initialised or not mounted: the folder /x/usb does not exist (local:/x/usb); mount it if it is a disk or share, or run `triplicate backup --init` once if it is a new destination",
    );
    const dry = await openDestinations([dest("usb")], missing, { dryRun: true, init: true });
    expect(dry.get("usb")?.error).toContain("`backup --init` creates it, but not in a dry run");
    const init = await openDestinations([dest("usb")], missing, { dryRun: false, init: true });
    expect(init.get("usb")?.marker?.status).toBe("created");
    expect(asked).toEqual([false, false, true]);
  });

  it("two destinations carrying the same marker are one store: the second is refused", async () => {
    const store = createMemoryAdapter({ name: "shared" });
    await ensureMarker(store, "nas", { init: true }, deps);
    const open = await openDestinations([dest("nas"), dest("nas-mounted")], runDeps(async () => ({ ...store, close: async () => undefined })), { dryRun: false });
    expect(open.get("nas")?.adapter).toBeDefined();
    expect(open.get("nas-mounted")?.adapter).toBeUndefined();
    expect(open.get("nas-mounted")?.error).toMatch(/^nas-mounted is the same store as nas \(both carry destination marker [0-9a-f]{32}\): one copy would count twice/);
  });
});
