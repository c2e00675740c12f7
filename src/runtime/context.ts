/** runtime/: what every stage shares; this file holds the outside world a run is given (clock, host, destinations). */
import os from "node:os";
import type { Logger } from "pino";
import type { StorageAdapter } from "../../adapters/types.js";
import type { DestinationConfig } from "../config/schema.js";
import { randomHex } from "../../adapters/streams.js";

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
  openDestination: (cfg: DestinationConfig, opts: OpenFor) => Promise<StorageAdapter>;
}

export function defaultDeps(partial: Pick<RunDeps, "logger" | "toolVersion" | "openDestination"> & Partial<RunDeps>): RunDeps {
  return { clock: () => new Date(), randomHex, hostname: os.hostname(), ...partial };
}

/** What a command will do with a destination. */
export interface OpenFor {
  dryRun: boolean;
  /** Only backup creates a missing root folder; for every other command a missing root is unreachable. */
  createRoot: boolean;
}

export interface OpenDestination {
  cfg: DestinationConfig;
  adapter?: StorageAdapter;
  /** Why it could not be opened. */
  error?: string;
}

/** Opens every destination at once; one that cannot be reached is an entry with its error, not a crash. */
export async function openDestinations(
  destinations: DestinationConfig[],
  deps: RunDeps,
  purpose: OpenFor,
): Promise<Map<string, OpenDestination>> {
  const entries = await Promise.all(
    destinations.map(async (cfg): Promise<[string, OpenDestination]> => {
      try {
        return [cfg.name, { cfg, adapter: await deps.openDestination(cfg, purpose) }];
      } catch (err) {
        deps.logger.error({ destination: cfg.name, err: { message: (err as Error).message } }, `destination ${cfg.name} unavailable`);
        return [cfg.name, { cfg, error: (err as Error).message }];
      }
    }),
  );
  return new Map(entries);
}

export async function closeAll(open: Map<string, { adapter?: StorageAdapter }>): Promise<void> {
  await Promise.all([...open.values()].map((o) => o.adapter?.close().catch(() => undefined)));
}
