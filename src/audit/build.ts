/**
 * audit/: the compliance report, from the destinations themselves. This file
 * builds it (runAudit, buildAuditReport); markdown.ts and html/ render it, in
 * the words of words.ts.
 */
import { rm } from "node:fs/promises";
import { isOffsite, mediumOf, stagingDir, type Config, type DestinationConfig } from "../config/schema.js";
import { closeAll, openDestinations, type RunDeps } from "../runtime/context.js";
import { durationMs, formatAge } from "../runtime/duration.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { inventoryDestination, type CopyRecord, type CopyState, type DestinationInventory } from "../catalog/inventory.js";
import { judgePolicy, type CopyEvidence, type PolicyVerdict } from "../policy/judge.js";
import { describePolicy, planForCopies } from "../retention/apply.js";
import { allSettledOrThrow, deepCheckCopies, deepCheckOrder, makeScratch, requireIdentities } from "../verify/deepCheck.js";
import type { AgeKeys } from "../encryption/age.js";
import { atLeast, type DeepCheck, type ProofLevel } from "../verify/proofs.js";
import type { StorageAdapter } from "../../adapters/types.js";
import { foreignOf, withoutGoodCopy } from "./coverage.js";
import { encryptionOf, unencryptedFindings, unencryptedOffsite } from "./encryption.js";

import type { RunHistorySummary } from "../history/summarize.js";

/** Bump on any breaking change to the JSON; documented in README ("Audit JSON"). */
export const AUDIT_SCHEMA = "triplicate.audit/v1";

export interface AuditSnapshotCell {
  snapshotId: string;
  createdAt: string;
  state: CopyState;
  lockedUntil?: string;
}

export interface AuditDatabase {
  db: string;
  /** Newest snapshot any reachable destination holds a manifest for. */
  latest?: { snapshotId: string; createdAt: string; ageMs: number; age: string; unchangedAt?: string };
  /** 3-2-1(-1-0) for the latest snapshot, judged on what the stores hold now. */
  policy: PolicyVerdict;
  /** Each destination's copy of the latest snapshot. */
  latestCopies: {
    destination: string;
    state: CopyState | "absent" | "unreachable";
    verified: boolean;
    lockedUntil?: string;
    detail?: string;
    /** The strongest proof the copy has had, and when: it counts for 3-2-1 at `policy.verifiedLevel` or above. */
    proof?: { level: ProofLevel; at?: string };
    lastDeepCheck?: DeepCheck;
    /** The age recipients (public keys) the copy is encrypted to; null: stored in the clear. Absent when there is no copy. */
    encryption?: { recipients: string[] } | null;
  }[];
  /** With `policy.encrypted: true`: copies on offsite destinations that are not encrypted. */
  unencryptedOffsite?: { destination: string; snapshotIds: string[] }[];
  /** Per destination: what retention keeps and why, and whether the store matches its policy. */
  retention: {
    destination: string;
    policy: string;
    kept: { snapshotId: string; reasons: string[] }[];
    /** Complete copies the policy would delete: retention has not run (or failed) there. */
    overdue: string[];
    matchesPolicy: boolean;
  }[];
  damaged: { destination: string; snapshotId: string; state: CopyState; detail?: string }[];
  /** With `policy.proveWithin`: per destination, the complete copies not restore-tested within the window. */
  unproven?: { destination: string; snapshotIds: string[]; of: number }[];
  orphans: { destination: string; key: string }[];
  /** Reachable destinations that hold no good copy of this database at all (a finding even when 3-2-1 is met). */
  withoutGoodCopy: string[];
  /** Files named like snapshots that are not ours: never counted, restored or deleted. */
  foreign: { destination: string; key: string; detail: string }[];
  /** Every snapshot on every destination (unreachable ones with none, marked), for the timeline. */
  history: { destination: string; reachable: boolean; snapshots: AuditSnapshotCell[] }[];
}

export interface AuditReport {
  schema: typeof AUDIT_SCHEMA;
  generatedAt: string;
  toolVersion: string;
  configPath: string;
  deep: boolean;
  verdict: "compliant" | "not-compliant" | "could-not-audit";
  exitCode: ExitCode;
  /** One line per reason the verdict is not "compliant". */
  findings: string[];
  policy: { copies: number; media: number; offsite: number; immutable?: number; maxErrors?: number; maxAge?: string; verifiedLevel: ProofLevel; proveWithin?: string };
  destinations: {
    name: string;
    type: DestinationConfig["type"];
    medium: string;
    offsite: boolean;
    reachable: boolean;
    error?: string;
    /** The destination's marker id (catalog/destinationMarker.ts): the same id under two names is one store. */
    markerId: string | null;
    retention: string;
    /** Snapshots held; null when the destination could not be listed (unknown, not zero). */
    snapshots: number | null;
  }[];
  databases: AuditDatabase[];
  /** The run records kept on the destinations (src/history/): success rates, trends, RTO, free space. */
  runHistory?: RunHistorySummary;
}

/**
 * The compliance report, from the destinations themselves (not from the
 * last run's log): live inventories in parallel, 3-2-1 per database on its
 * latest snapshot, retention coverage, damage and leftovers.
 */
export async function runAudit(cfg: Config, opts: { deep: boolean; signal?: AbortSignal; identity?: AgeKeys }, deps: RunDeps): Promise<AuditReport> {
  const open = await openDestinations(cfg.destinations, deps, { dryRun: false });
  let inventories: { cfg: DestinationConfig; adapter?: StorageAdapter; inv: DestinationInventory }[];
  try {
    inventories = await Promise.all(
      [...open.values()].map(async ({ cfg: d, adapter, marker, error }) => ({
        cfg: d,
        adapter,
        inv: adapter ? { ...(await inventoryDestination(adapter, d.name)), marker } : { destination: d.name, reachable: false, error, copies: [] },
      })),
    );
    // Each check is recorded beside its copy as it finishes, so a Ctrl-C keeps those already done.
    if (opts.deep) await deepCheckLatest(inventories, cfg, deps, opts.signal, opts.identity);
  } finally {
    await closeAll(open);
  }
  return buildAuditReport(cfg, inventories.map((i) => ({ cfg: i.cfg, inv: i.inv })), { now: deps.clock(), deep: opts.deep, toolVersion: deps.toolVersion });
}

/** `--deep`: the full restore test of each configured database's newest copy on each destination. */
async function deepCheckLatest(
  inventories: { cfg: DestinationConfig; adapter?: StorageAdapter; inv: DestinationInventory }[],
  cfg: Config,
  deps: RunDeps,
  signal?: AbortSignal,
  identity?: AgeKeys,
): Promise<void> {
  const configured = new Set(cfg.databases.map((d) => d.name));
  // Before the scratch folder or any proof: a missing or wrong key stops the audit (exit 2).
  requireIdentities(inventories.map(({ inv }) => (inv.reachable ? deepCheckOrder(inv.copies.filter((c) => configured.has(c.db))) : [])), identity);
  const scratch = await makeScratch(stagingDir(cfg), "audit-");
  try {
    await allSettledOrThrow(
      inventories.map(({ cfg: d, adapter, inv }) =>
        adapter && inv.reachable
          ? deepCheckCopies(adapter, d.name, inv.copies.filter((c) => configured.has(c.db)), { scratch, author: deps, signal, identity })
          : undefined,
      ),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

type BuildOptions = { now: Date; deep: boolean; toolVersion: string };

/** One database's copies on one destination, next to that destination's config and inventory. */
interface Holding {
  d: DestinationConfig;
  inv: DestinationInventory;
  copies: CopyRecord[];
}

/** Pure: the verdicts from inventories. Unit-tested with inventories built in memory. */
export function buildAuditReport(
  cfg: Config,
  inventories: { cfg: DestinationConfig; inv: DestinationInventory }[],
  opts: BuildOptions,
): AuditReport {
  const findings: string[] = [];
  for (const { cfg: d, inv } of inventories) if (!inv.reachable) findings.push(`destination ${d.name} is unreachable: ${inv.error ?? "unknown error"}`);

  const audited = cfg.databases.map((db) =>
    auditDatabase(db.name, inventories.map(({ cfg: d, inv }) => ({ d, inv, copies: inv.copies.filter((c) => c.db === db.name) })), cfg, opts),
  );
  const databases = audited.map(({ findings: _, ...db }) => db);
  audited.forEach((db, i) => findings.push(...databaseFindings(databases[i]), ...db.findings));

  const reachable = inventories.filter((i) => i.inv.reachable).length;
  const verdict = reachable === 0 ? "could-not-audit" : findings.length === 0 ? "compliant" : "not-compliant";
  return {
    schema: AUDIT_SCHEMA,
    generatedAt: opts.now.toISOString(),
    toolVersion: opts.toolVersion,
    configPath: cfg.configPath,
    deep: opts.deep,
    verdict,
    exitCode: verdict === "compliant" ? EXIT.ok : verdict === "not-compliant" ? EXIT.degraded : EXIT.failed,
    findings: reachable === 0 ? ["no destination could be reached", ...findings] : findings,
    policy: {
      copies: cfg.policy.copies, media: cfg.policy.media, offsite: cfg.policy.offsite, immutable: cfg.policy.immutable, maxErrors: cfg.policy.maxErrors, maxAge: cfg.policy.maxAge?.text,
      verifiedLevel: cfg.policy.verifiedLevel, proveWithin: cfg.policy.proveWithin?.text,
    },
    destinations: inventories.map(({ cfg: d, inv }) => ({
      name: d.name, type: d.type, medium: mediumOf(d), offsite: isOffsite(d), reachable: inv.reachable, error: inv.error, markerId: inv.marker?.id ?? null, retention: describePolicy(d.retention),
      snapshots: inv.reachable ? new Set(inv.copies.filter((c) => c.state !== "orphan").map((c) => `${c.db}/${c.snapshotId}`)).size : null,
    })),
    databases,
  };
}

function auditDatabase(name: string, mine: Holding[], cfg: Config, opts: BuildOptions): AuditDatabase & { findings: string[] } {
  const latestCopy = latestOf(mine);
  const latestCopies = latestCopiesOf(mine, latestCopy?.snapshotId, cfg.policy.verifiedLevel);
  const unchangedAt = latestCopy && unchangedAtOf(mine, latestCopy.snapshotId, opts.now);
  // Freshness counts from the newest night a backup found the source equal to this snapshot (backup/unchanged.ts).
  const currentAt = unchangedAt && latestCopy && unchangedAt > latestCopy.createdAt ? unchangedAt : latestCopy?.createdAt;
  const policy = judgePolicy(evidenceOf(latestCopies, mine), cfg.policy, { snapshotCreatedAt: currentAt ?? null, now: opts.now });
  const empty = withoutGoodCopy(mine);
  const plain = cfg.policy.encrypted ? unencryptedOffsite(mine) : undefined;
  return {
    findings: [...empty.map((e) => `${name}: ${e.destination} holds no good copy of ${name} (${e.why})`), ...unencryptedFindings(name, plain ?? [])],
    db: name,
    latest: latestCopy
      ? {
          snapshotId: latestCopy.snapshotId,
          createdAt: latestCopy.createdAt.toISOString(),
          ageMs: opts.now.getTime() - currentAt!.getTime(),
          age: formatAge(opts.now.getTime() - currentAt!.getTime()),
          ...(unchangedAt ? { unchangedAt: unchangedAt.toISOString() } : {}),
        }
      : undefined,
    policy,
    latestCopies,
    retention: retentionOf(mine, opts.now),
    damaged: mine.flatMap(({ d, copies }) =>
      copies.filter((c) => c.state !== "complete" && c.state !== "orphan").map((c) => ({ destination: d.name, snapshotId: c.snapshotId, state: c.state, detail: c.detail })),
    ),
    orphans: mine.flatMap(({ d, copies }) => copies.filter((c) => c.state === "orphan").map((c) => ({ destination: d.name, key: (c.artifactKey ?? c.proofKeys?.[0])! }))),
    ...(cfg.policy.proveWithin ? { unproven: unprovenOf(mine, opts.now.getTime() - durationMs(cfg.policy.proveWithin)) } : {}),
    withoutGoodCopy: empty.map((e) => e.destination),
    ...(plain ? { unencryptedOffsite: plain } : {}),
    foreign: foreignOf(mine, name),
    history: mine.map(({ d, inv, copies }) => ({
      destination: d.name,
      reachable: inv.reachable,
      snapshots: copies.map((c: CopyRecord) => ({ snapshotId: c.snapshotId, createdAt: c.createdAt.toISOString(), state: c.state, lockedUntil: c.lockedUntil?.toISOString() })),
    })),
  };
}

/**
 * The latest snapshot is the newest one with at least one complete copy: a newer one that is
 * damaged everywhere protects nothing (it is listed under damaged), so freshness and 3-2-1 are
 * judged on what could really be restored. Only when nothing is complete, the newest with a manifest.
 */
function latestOf(mine: Holding[]): CopyRecord | undefined {
  const withManifest = mine.flatMap((m) => m.copies.filter((c) => c.state !== "orphan"));
  const newestFirst = [...withManifest].sort((a, b) => b.snapshotId.localeCompare(a.snapshotId));
  return newestFirst.find((c) => c.state === "complete") ?? newestFirst[0];
}

/**
 * The newest unchanged-night record on a complete copy of `snapshotId`. One
 * dated after now (a clock that ran ahead) does not count: it would make a
 * stale copy look current.
 */
function unchangedAtOf(mine: Holding[], snapshotId: string, now: Date): Date | undefined {
  const times = mine.flatMap(({ copies }) =>
    copies.filter((c) => c.snapshotId === snapshotId && c.state === "complete" && c.unchangedAt && c.unchangedAt <= now).map((c) => c.unchangedAt!.getTime()),
  );
  return times.length ? new Date(Math.max(...times)) : undefined;
}

/** Each destination's copy of the latest snapshot, with its strongest proof and its last restore test. */
function latestCopiesOf(mine: Holding[], latestId: string | undefined, verifiedLevel: ProofLevel): AuditDatabase["latestCopies"] {
  return mine.map(({ d, inv, copies }) => {
    if (!inv.reachable) return { destination: d.name, state: "unreachable", verified: false, detail: inv.error };
    const c = latestId ? copies.find((x) => x.snapshotId === latestId) : undefined;
    if (!c) return { destination: d.name, state: "absent", verified: false, detail: latestId ? `does not hold ${latestId}` : "holds no snapshot" };
    const test = c.proof?.lastRestoreTest;
    const proof = c.proof ? { level: c.proof.level, at: c.proof.at } : undefined;
    // Complete is what the files say; verified takes a proof at the policy's level (never `present`).
    const verified = c.state === "complete" && !!proof && proof.level !== "present" && atLeast(proof.level, verifiedLevel);
    const detail = c.state !== "complete" ? c.detail : verified ? undefined : `proven only as ${proof?.level ?? "present"}; the policy counts ${verifiedLevel} or stronger`;
    return {
      destination: d.name,
      state: c.state,
      verified,
      lockedUntil: c.lockedUntil?.toISOString(),
      detail,
      proof,
      lastDeepCheck: test ? { ok: test.ok, checkedAt: test.at } : undefined,
      ...encryptionOf(c),
    };
  });
}

/** What the 3-2-1 judge gets: one piece of evidence per destination, for the latest snapshot. */
function evidenceOf(latestCopies: AuditDatabase["latestCopies"], mine: Holding[]): CopyEvidence[] {
  return latestCopies.map((lc, i) => ({
    destination: lc.destination,
    medium: mediumOf(mine[i].d),
    offsite: isOffsite(mine[i].d),
    verified: lc.verified,
    lockedUntil: lc.lockedUntil ? new Date(lc.lockedUntil) : undefined,
    verificationFailed: ["size-mismatch", "checksum-mismatch", "missing-artifact", "bad-manifest", "damaged"].includes(lc.state),
    problem: lc.verified ? undefined : `${lc.state}${lc.detail ? `: ${lc.detail}` : ""}`,
  }));
}

/** Complete copies whose last passed restore test is older than `since` (or missing), per reachable destination. */
function unprovenOf(mine: Holding[], since: number): NonNullable<AuditDatabase["unproven"]> {
  return mine
    .filter((m) => m.inv.reachable)
    .map(({ d, copies }) => {
      const complete = copies.filter((c) => c.state === "complete");
      const tested = (c: CopyRecord) => c.proof?.lastRestoreTest?.ok === true && Date.parse(c.proof.lastRestoreTest.at) >= since;
      return { destination: d.name, snapshotIds: complete.filter((c) => !tested(c)).map((c) => c.snapshotId), of: complete.length };
    })
    .filter((u) => u.snapshotIds.length > 0);
}

/** Per reachable destination: what its retention keeps and why, and what it would delete now (overdue). */
function retentionOf(mine: Holding[], now: Date): AuditDatabase["retention"] {
  return mine
    .filter((m) => m.inv.reachable)
    .map(({ d, copies }) => {
      const complete = copies.filter((c) => c.state === "complete");
      const plan = planForCopies(complete, d.retention, now);
      const overdue = plan.filter((p) => !p.keep).map((p) => p.snapshotId);
      return { destination: d.name, policy: describePolicy(d.retention), kept: plan.filter((p) => p.keep).map((p) => ({ snapshotId: p.snapshotId, reasons: p.reasons })), overdue, matchesPolicy: overdue.length === 0 };
    });
}

/** One line per reason this database is not compliant. */
function databaseFindings(db: AuditDatabase): string[] {
  const findings: string[] = [];
  // One short line per failing rule; the full reasons are in the rules table.
  for (const r of db.policy.rules.filter((x) => !x.pass)) findings.push(`${db.db}: ${r.rule} rule not met (${r.actual}, required ${r.required})`);
  if (!db.latest) findings.push(`${db.db}: no snapshot on any reachable destination`);
  for (const r of db.retention) {
    if (r.overdue.length) findings.push(`${db.db}: ${r.destination} holds ${r.overdue.length} snapshot(s) its retention would delete (run triplicate prune)`);
  }
  for (const x of db.damaged) findings.push(`${db.db}: ${x.destination} holds a damaged copy of ${x.snapshotId} (${x.state})`);
  for (const u of db.unproven ?? []) {
    findings.push(`${db.db}: ${u.snapshotIds.length} of ${u.of} copies on ${u.destination} not restore-tested within proveWithin (run triplicate verify --deep, with --budget or --max-time to rotate through them)`);
  }
  return findings;
}
