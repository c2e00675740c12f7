/**
 * The adapters a command opened, kept open until the command's record is
 * written: the record goes over the same connections the run used (no second
 * SFTP login, no second wait on a store that did not answer), and the core of
 * each command stays unaware of history. Wraps `RunDeps.openDestination`.
 */
import type { StorageAdapter } from "../../adapters/types.js";
import type { RunDeps } from "../runtime/context.js";

export interface AdapterPool {
  openDestination: RunDeps["openDestination"];
  /** The adapter the run opened for this destination, if it opened one. */
  get(destination: string): StorageAdapter | undefined;
  /** Closes everything for real; call it in a finally. */
  closeAll(): Promise<void>;
}

/** `beforeClose` sees the run's adapters while they are still open (the metrics' free-space figures); its failure is ignored. */
export function createAdapterPool(
  open: RunDeps["openDestination"],
  hooks: { beforeClose?: (opened: ReadonlyMap<string, StorageAdapter>) => Promise<void> } = {},
): AdapterPool {
  const opened = new Map<string, StorageAdapter>();
  const all: StorageAdapter[] = [];
  return {
    openDestination: async (cfg, opts) => {
      const adapter = await open(cfg, opts);
      all.push(adapter);
      // A dry run's adapter drops writes: a record through it would claim to be written.
      if (!opts.dryRun && !opened.has(cfg.name)) opened.set(cfg.name, adapter);
      // The run's own close is put off until the record is written.
      return deferClose(adapter);
    },
    get: (destination) => opened.get(destination),
    closeAll: async () => {
      await hooks.beforeClose?.(opened).catch(() => undefined);
      await Promise.all(all.splice(0).map((a) => a.close().catch(() => undefined)));
      opened.clear();
    },
  };
}

/** The same adapter whose close() does nothing (the pool closes it). */
function deferClose(a: StorageAdapter): StorageAdapter {
  return {
    id: a.id,
    capabilities: a.capabilities,
    put: (...args) => a.put(...args),
    get: (...args) => a.get(...args),
    stat: (...args) => a.stat(...args),
    list: (...args) => a.list(...args),
    delete: (...args) => a.delete(...args),
    sweepTemporary: (...args) => a.sweepTemporary(...args),
    ...(a.freeSpace ? { freeSpace: (signal?: AbortSignal) => a.freeSpace!(signal) } : {}),
    close: async () => undefined,
  };
}
