/** How one database's backup is judged: 3-2-1 on what this run verified (or proved before, on an unchanged night), and its exit code. */
import type { Logger } from "pino";
import { isOffsite, mediumOf, type Config, type DestinationConfig } from "../config/schema.js";
import { judgePolicy, type CopyEvidence } from "../policy/judge.js";
import type { RunDeps } from "../runtime/context.js";
import { EXIT } from "../runtime/exitCodes.js";
import { atLeast } from "../verify/proofs.js";
import type { DatabaseRun } from "./run.js";

/** 3-2-1 on the copies that were verified, and the run's exit code. */
export function judgeRun(run: DatabaseRun, open: Map<string, { cfg: DestinationConfig }>, cfg: Config, createdAt: Date, deps: RunDeps, log: Logger): void {
  const evidence: CopyEvidence[] = run.destinations.map((d) => {
    const dest = open.get(d.destination)!.cfg;
    return {
      destination: d.destination,
      medium: mediumOf(dest),
      offsite: isOffsite(dest),
      // Every verified copy of this run was read back whole; it counts if that is proof enough.
      verified:
        (d.status === "verified" && atLeast("read-back", cfg.policy.verifiedLevel)) ||
        // An unchanged night proves nothing new: the copy counts on the proof it already has.
        (d.status === "unchanged" && !!d.proof && atLeast(d.proof.level, cfg.policy.verifiedLevel)),
      lockedUntil: d.lockedUntil,
      verificationFailed: d.verificationFailed,
      problem: d.error,
    };
  });
  run.policy = judgePolicy(evidence, cfg.policy, { snapshotCreatedAt: createdAt, now: deps.clock() });
  const verified = run.destinations.filter((d) => d.status !== "failed").length;
  const degraded =
    verified < run.destinations.length ||
    !run.policy.pass ||
    (run.anomaly && !run.anomaly.accepted) ||
    run.destinations.some((d) => d.retention?.errors.length || d.retention?.leftDamaged.length || d.retention?.held.length);
  run.exitCode = verified === 0 ? EXIT.failed : degraded ? EXIT.degraded : EXIT.ok;
  if (!run.policy.pass) {
    for (const r of run.policy.rules.filter((x) => !x.pass)) log.warn({ rule: r.rule }, `3-2-1 rule ${r.rule} ${r.reason}`);
  }
}

/**
 * A dry run proves no copy, so 3-2-1 is not judged (the rules a real run
 * would judge are listed instead). Exit 0 means "the run would be possible":
 * the snapshot verified and every destination answered; otherwise the exit
 * a real run would have (1 if no destination could take the copy, else 3).
 */
export function judgeDryRun(run: DatabaseRun, cfg: Config, createdAt: Date, deps: RunDeps): void {
  const rules = judgePolicy([], cfg.policy, { snapshotCreatedAt: createdAt, now: deps.clock() }).rules;
  run.policyNotJudged = {
    reason: "dry run: nothing was shipped, so no copy was verified and no rule can be met",
    wouldJudge: rules.map((r) => ({ rule: r.rule, required: r.required })),
  };
  const possible = run.destinations.filter((d) => d.status === "would-ship").length;
  const degraded = possible < run.destinations.length || run.destinations.some((d) => d.retention?.errors.length || d.retention?.leftDamaged.length);
  run.exitCode = possible === 0 ? EXIT.failed : degraded ? EXIT.degraded : EXIT.ok;
}
