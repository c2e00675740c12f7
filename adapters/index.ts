/** adapters/: one storage interface, one folder per kind of store, wrappers composed here and nowhere else. */
import type { Logger } from "pino";
import type { AdapterDeps, StorageAdapter } from "./types.js";
import type { S3Config } from "./s3/options.js";
import type { SftpConfig } from "./sftp/options.js";
import { createLocalAdapter } from "./local/index.js";
import { withRetry, defaultRetry } from "./wrap/withRetry.js";
import { withLimit } from "./wrap/withLimit.js";
import { withLogging } from "./wrap/withLogging.js";
import { describeError } from "./errors.js";
import { withDryRun } from "./wrap/withDryRun.js";
import { withTimeout } from "./wrap/withTimeout.js";

/**
 * What opening one destination takes: the store's own options plus the
 * bounds the wrappers apply. src/config composes the YAML schema from these
 * options (adapters/ never imports src/), and its destinations fit this type.
 */
export type DestinationSpec = WrapperSettings & ({ type: "local"; path: string } | ({ type: "sftp" } & SftpConfig) | ({ type: "s3" } & S3Config));

export interface WrapperSettings {
  name: string;
  /** Upper bound for one operation; a download's bound covers opening it. */
  timeoutSeconds: number;
  /** A download that delivers no byte for this long fails (and is retried). */
  stallSeconds: number;
  retry?: { retries: number; minDelayMs: number; maxDelayMs: number };
}

type Factory<C extends DestinationSpec> = (config: C, deps: AdapterDeps) => Promise<StorageAdapter>;

/**
 * Every destination kind, in one visible list. Network adapters load on
 * first use, so a run that only uses local folders never loads their SDKs.
 */
export const adapterFactories: { [K in DestinationSpec["type"]]: Factory<Extract<DestinationSpec, { type: K }>> } = {
  local: (c, deps) => createLocalAdapter({ path: c.path }, deps),
  sftp: async (c, deps) => (await import("./sftp/index.js")).createSftpAdapter(c, deps, { stallMs: c.stallSeconds * 1000 }),
  // S3 retries each request of a multipart upload itself, inside that upload (see putFileMultipart).
  s3: async (c, deps) => (await import("./s3/index.js")).createS3Adapter(c, deps, { socketIdleMs: c.stallSeconds * 1000, retry: retryOf(c) }),
};

/** The destination's backoff, or the default one. */
function retryOf(cfg: WrapperSettings): { retries: number; minTimeoutMs: number; maxTimeoutMs: number } {
  return cfg.retry ? { retries: cfg.retry.retries, minTimeoutMs: cfg.retry.minDelayMs, maxTimeoutMs: cfg.retry.maxDelayMs } : defaultRetry;
}

export interface OpenOptions {
  logger: Logger;
  dryRun?: boolean;
  /** See AdapterDeps.createRoot: only `backup --init` creates a missing root folder. */
  createRoot?: boolean;
  randomId?: () => string;
}

/**
 * Connects to one destination and wraps it, in the one place wrappers are
 * composed: retry(logging(timeout(limit(raw)))). Retry is outermost, as in
 * restic, so every attempt is logged, timed out and takes its own slot.
 */
export async function openAdapter(cfg: DestinationSpec, opts: OpenOptions): Promise<StorageAdapter> {
  const log = opts.logger.child({ destination: cfg.name });
  const factory = adapterFactories[cfg.type] as Factory<DestinationSpec>;
  const raw = await factory(cfg, { logger: log, randomId: opts.randomId, createRoot: opts.createRoot });
  const retry = retryOf(cfg);
  let adapter: StorageAdapter = withRetry(withLogging(withTimeout(withLimit(raw), cfg.timeoutSeconds * 1000, cfg.stallSeconds * 1000), log), {
    ...retry,
    onRetry: ({ op, key, attempt, error }) => log.warn({ op, key, attempt, err: describeError(error) }, `${op} failed, retrying`),
  });
  if (opts.dryRun) adapter = withDryRun(adapter, (op, key) => log.info({ op, key }, `dry run: would ${op} ${key}`));
  return adapter;
}
