/** policy/: the 3-2-1 (and 3-2-1-1-0) verdict, judged only on copies that were proven. */
import type { PolicyConfig } from "../config/schema.js";
import { durationMs, formatAge } from "../runtime/duration.js";

/** What one destination holds of one snapshot, as far as 3-2-1 is concerned. */
export interface CopyEvidence {
  destination: string;
  medium: string;
  offsite: boolean;
  /** Present and its bytes proven to match the manifest. */
  verified: boolean;
  /** Object Lock retain-until, when the store locked the copy. */
  lockedUntil?: Date;
  /** Bytes on the store did not match (counts toward "0 errors"). */
  verificationFailed?: boolean;
  /** Why this destination holds no verified copy, in plain words. */
  problem?: string;
}

export type RuleName = "copies" | "media" | "offsite" | "immutable" | "errors" | "maxAge";

export interface RuleVerdict {
  rule: RuleName;
  pass: boolean;
  required: string;
  actual: string;
  reason: string;
}

export interface PolicyVerdict {
  pass: boolean;
  copies: number;
  media: string[];
  offsite: string[];
  immutable: string[];
  errors: number;
  rules: RuleVerdict[];
}

/**
 * 3-2-1(-1-0) judged on verified copies only. The live database is one copy;
 * media, offsite and immutable count destinations holding a verified copy.
 */
export function judgePolicy(
  evidence: CopyEvidence[],
  policy: Pick<PolicyConfig, "copies" | "media" | "offsite" | "immutable" | "maxErrors" | "maxAge">,
  opts: { snapshotCreatedAt: Date | null; now: Date },
): PolicyVerdict {
  const good = evidence.filter((e) => e.verified);
  const names = (list: CopyEvidence[]) => list.map((e) => e.destination);
  const missing = evidence.filter((e) => !e.verified);
  const why = missing.length ? `; no verified copy on ${missing.map((e) => `${e.destination} (${e.problem ?? "unknown"})`).join(", ")}` : "";

  const copies = 1 + good.length;
  const media = [...new Set(good.map((e) => e.medium))].sort();
  const offsite = names(good.filter((e) => e.offsite));
  const immutable = names(good.filter((e) => e.lockedUntil && e.lockedUntil > opts.now));
  const errors = evidence.filter((e) => e.verificationFailed).length;
  const list = (xs: string[]) => (xs.length ? xs.join(", ") : "none");

  const rules: RuleVerdict[] = [];
  const rule = (name: RuleName, required: number, actual: number, detail: string) =>
    rules.push({
      rule: name,
      pass: actual >= required,
      required: `≥ ${required}`,
      actual: String(actual),
      reason: `${actual >= required ? "met" : "NOT met"}: ${detail}, ${required} required${actual >= required ? "" : why}`,
    });

  rule("copies", policy.copies, copies, `${copies} cop${copies === 1 ? "y" : "ies"} (the live database + ${list(names(good))})`);
  rule("media", policy.media, media.length, `${media.length} medi${media.length === 1 ? "um" : "a"} among verified copies (${list(media)})`);
  rule("offsite", policy.offsite, offsite.length, `${offsite.length} offsite cop${offsite.length === 1 ? "y" : "ies"} (${list(offsite)})`);
  if (policy.immutable !== undefined) {
    rule("immutable", policy.immutable, immutable.length, `${immutable.length} immutable cop${immutable.length === 1 ? "y" : "ies"} under Object Lock (${list(immutable)})`);
  }
  if (policy.maxErrors !== undefined) {
    const failed = names(evidence.filter((e) => e.verificationFailed));
    const pass = errors <= policy.maxErrors;
    rules.push({
      rule: "errors",
      pass,
      required: `≤ ${policy.maxErrors}`,
      actual: String(errors),
      reason: `${pass ? "met" : "NOT met"}: ${errors} verification error(s)${failed.length ? ` (${failed.join(", ")})` : ""}, at most ${policy.maxErrors} allowed`,
    });
  }
  if (policy.maxAge) {
    const limit = durationMs(policy.maxAge);
    if (!opts.snapshotCreatedAt) {
      rules.push({ rule: "maxAge", pass: false, required: `≤ ${policy.maxAge.text}`, actual: "none", reason: "NOT met: there is no snapshot at all" });
    } else {
      const age = opts.now.getTime() - opts.snapshotCreatedAt.getTime();
      const pass = age <= limit;
      rules.push({
        rule: "maxAge",
        pass,
        required: `≤ ${policy.maxAge.text}`,
        actual: formatAge(age),
        reason: `${pass ? "met" : "NOT met"}: newest snapshot is ${formatAge(age)} old, at most ${policy.maxAge.text} allowed`,
      });
    }
  }
  return { pass: rules.every((r) => r.pass), copies, media, offsite, immutable, errors, rules };
}
