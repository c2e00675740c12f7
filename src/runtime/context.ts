/** runtime/: what every stage shares; this file holds the outside world a run is given (clock, host, destinations). */
import os from "node:os";
import type { Logger } from "pino";
import type { StorageAdapter } from "../../adapters/types.js";
import type { DestinationConfig } from "../config/schema.js";
import { NotFoundError } from "../../adapters/errors.js";
import { randomHex } from "../../adapters/streams.js";
import { NotInitialisedError, ensureMarker, initHint, type DestinationMarker } from "../catalog/destinationMarker.js";

/**
 * Everything the core needs from the outside world, passed in: no module
 * reads the clock, the host name or opens a destination on its own.
 */
export interface RunDeps {
  logger: Logger;
  clock: () => Date;
  randomHex: (bytes: number) => string;
  hostname: string;
  toolVersion: string;
  openDestination: (cfg: DestinationConfig, opts: AdapterOpen) => Promise<StorageAdapter>;
}

/** What the adapter is told: dry-run wrapping, and whether it may create a missing root (only for `backup --init`). */
export interface AdapterOpen {
  dryRun: boolean;
  createRoot: boolean;
}

export function defaultDeps(partial: Pick<RunDeps, "logger" | "toolVersion" | "openDestination"> & Partial<RunDeps>): RunDeps {
  return { clock: () => new Date(), randomHex, hostname: os.hostname(), ...partial };
}

/** What a command will do with a destination. */
export interface OpenFor {
  dryRun: boolean;
  /**
   * `backup --init`: create missing roots and mark unmarked destinations.
   * Without it a destination must carry its marker (catalog/destinationMarker.ts):
   * a missing root or an unmarked, empty one is "not initialised or not mounted".
   */
  init?: boolean;
}

export interface OpenDestination {
  cfg: DestinationConfig;
  adapter?: StorageAdapter;
  /** The destination's marker, once it was opened and checked. */
  marker?: DestinationMarker;
  /** Why it could not be opened. */
  error?: string;
}

/**
 * Opens every destination at once and checks its marker; one that cannot be
 * reached, or is not initialised, is an entry with its error, not a crash.
 */
export async function openDestinations(
  destinations: DestinationConfig[],
  deps: RunDeps,
  purpose: OpenFor,
): Promise<Map<string, OpenDestination>> {
  const init = !!purpose.init;
  const entries = await Promise.all(
    destinations.map(async (cfg): Promise<[string, OpenDestination]> => {
      let adapter: StorageAdapter | undefined;
      try {
        adapter = await openRoot(cfg, deps, { dryRun: purpose.dryRun, init });
        const marker = await ensureMarker(adapter, cfg.name, { init }, { ...deps, logger: deps.logger.child({ destination: cfg.name }) });
        return [cfg.name, { cfg, adapter, marker }];
      } catch (err) {
        await adapter?.close().catch(() => undefined);
        deps.logger.error({ destination: cfg.name, err: { message: (err as Error).message } }, `destination ${cfg.name} unavailable`);
        return [cfg.name, { cfg, error: (err as Error).message }];
      }
    }),
  );
  return refuseSharedStores(new Map(entries), deps);
}

/** Opens the adapter; a missing root is "not initialised or not mounted", created only by `--init` (never in a dry run). */
async function openRoot(cfg: DestinationConfig, deps: RunDeps, opts: { dryRun: boolean; init: boolean }): Promise<StorageAdapter> {
  try {
    return await deps.openDestination(cfg, { dryRun: opts.dryRun, createRoot: opts.init && !opts.dryRun });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    const found = err.message.replace(`${err.adapter} ${err.op}: `, "");
    const fix = opts.init ? "`backup --init` creates it, but not in a dry run" : initHint();
    throw new NotInitialisedError(`${cfg.name} is not initialised or not mounted: ${found} (${err.adapter}); ${fix}`, { cause: err });
  }
}

/**
 * Two destinations showing the same marker are one store under two names (a
 * NAS share also mounted as a local folder): one copy would count twice for
 * 3-2-1, so every one after the first is refused.
 */
async function refuseSharedStores(open: Map<string, OpenDestination>, deps: RunDeps): Promise<Map<string, OpenDestination>> {
  const seen = new Map<string, string>();
  for (const entry of open.values()) {
    const id = entry.marker?.id;
    if (!id) continue;
    const first = seen.get(id);
    if (!first) {
      seen.set(id, entry.cfg.name);
      continue;
    }
    entry.error = `${entry.cfg.name} is the same store as ${first} (both carry destination marker ${id}): one copy would count twice; remove one of them from the config`;
    deps.logger.error({ destination: entry.cfg.name, marker: id }, entry.error);
    await entry.adapter?.close().catch(() => undefined);
    entry.adapter = undefined;
  }
  return open;
}

export async function closeAll(open: Map<string, { adapter?: StorageAdapter }>): Promise<void> {
  await Promise.all([...open.values()].map((o) => o.adapter?.close().catch(() => undefined)));
}
