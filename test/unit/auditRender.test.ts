import { describe, expect, it } from "vitest";
import { buildAuditReport, type AuditReport } from "../../src/audit/build.js";
import { escapeHtml } from "../../src/audit/html/elements.js";
import { renderAuditHtml } from "../../src/audit/html/page.js";
import { laneGaps } from "../../src/audit/html/gaps.js";
import { mdCell, renderAuditMarkdown } from "../../src/audit/markdown.js";
import { parseConfig } from "../../src/config/load.js";
import type { CopyRecord, CopyState, DestinationInventory } from "../../src/catalog/inventory.js";

/*
 * One realistic report, built by the real (pure) buildAuditReport from a
 * config and inventories made in memory:
 *  - local: app nightly from Nov 5 to Nov 25 but Nov 18-20 missing (a gap),
 *    retention not run (overdue snapshots); billing Nov 20-22.
 *  - nas: unreachable, with an error message that tries HTML injection.
 *  - offsite (S3, Object Lock 30 days): app Oct 1, Nov 1, Nov 22-25 with
 *    Nov 23 damaged, plus an orphan; billing Nov 22 with a size mismatch.
 * app meets 3-2-1; billing fails copies/media/offsite/immutable/errors/maxAge.
 */
const NOW = new Date("2026-11-25T12:00:00Z");
const EVIL = "connect ECONNREFUSED 10.0.0.5:22 | after 3 retries\n<script>alert(1)</script>";

const cfg = parseConfig(
  `
databases:
  - { name: app, path: /srv/app.db }
  - { name: billing, path: /srv/billing.db }
destinations:
  - { name: local, type: local, path: /backup, retention: { keepDaily: 7, keepWeekly: 4 } }
  - { name: nas, type: local, path: /mnt/nas, medium: nas, retention: { keepDaily: 14 } }
  - name: offsite
    type: s3
    bucket: backups
    region: eu-west-1
    objectLock: { mode: GOVERNANCE, days: 30 }
    retention: { keepDaily: 3, keepMonthly: 12 }
policy: { copies: 3, media: 2, offsite: 1, immutable: 1, maxErrors: 0, maxAge: 26h }
`,
  "/etc/triplicate/triplicate.yml",
  {},
);

const day = (d: string) => new Date(`${d}T02:00:00Z`);
const idOf = (t: Date, hex = "0a1b2c3d") => `${t.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}-${hex}`;
function copy(destination: string, db: string, created: Date, state: CopyState = "complete", extra: Partial<CopyRecord> = {}): CopyRecord {
  const snapshotId = idOf(created);
  return {
    destination, db, snapshotId, createdAt: created, state,
    artifactKey: `${db}/${snapshotId}.sqlite.zst`,
    ...(state === "orphan" ? {} : { proof: { level: "read-back" as const, at: created.toISOString() } }),
    ...(state === "orphan" ? { detail: "artifact without a manifest (an interrupted upload)" } : {}),
    ...extra,
  };
}
const locked = (created: Date) => ({ lockedUntil: new Date(created.getTime() + 30 * 86_400_000) });

const appLocalDays = Array.from({ length: 21 }, (_, i) => `2026-11-${String(5 + i).padStart(2, "0")}`).filter((d) => !["2026-11-18", "2026-11-19", "2026-11-20"].includes(d));
const inventories: DestinationInventory[] = [
  {
    destination: "local",
    reachable: true,
    copies: [...appLocalDays.map((d) => copy("local", "app", day(d))), ...["2026-11-20", "2026-11-21", "2026-11-22"].map((d) => copy("local", "billing", day(d)))],
  },
  { destination: "nas", reachable: false, error: EVIL, copies: [] },
  {
    destination: "offsite",
    reachable: true,
    copies: [
      ...["2026-10-01", "2026-11-01", "2026-11-22", "2026-11-24", "2026-11-25"].map((d) => copy("offsite", "app", day(d), "complete", locked(day(d)))),
      copy("offsite", "app", day("2026-11-23"), "checksum-mismatch", { ...locked(day("2026-11-23")), detail: "store reports sha256 ab12, manifest says cd34" }),
      { ...copy("offsite", "app", new Date("2026-11-24T14:00:00Z"), "orphan"), snapshotId: "20261124T140000Z-deadbeef", artifactKey: "app/20261124T140000Z-deadbeef.sqlite.zst" },
      copy("offsite", "billing", day("2026-11-22"), "size-mismatch", { detail: "artifact is 10 bytes, manifest says 2048" }),
    ],
  },
];

function sampleReport(): AuditReport {
  return buildAuditReport(
    cfg,
    cfg.destinations.map((d) => ({ cfg: d, inv: inventories.find((i) => i.destination === d.name)! })),
    { now: NOW, deep: false, toolVersion: "0.1.0-test" },
  );
}

const snapCount = (r: AuditReport, db: string) => r.databases.find((d) => d.db === db)!.history.reduce((n, h) => n + h.snapshots.length, 0);
const svgOf = (html: string, db: string) => {
  const m = new RegExp(`<svg class="timeline" data-db="${db}"[\\s\\S]*?</svg>`).exec(html);
  expect(m, `svg for ${db}`).not.toBeNull();
  return m![0];
};
const count = (s: string, re: RegExp) => (s.match(new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`)) ?? []).length;
const tableRows = (html: string, cls: string) => {
  const m = new RegExp(`<table class="${cls}">[\\s\\S]*?<tbody>([\\s\\S]*?)</tbody>`).exec(html);
  return m ? count(m[1], /<tr[ >]/) : -1;
};

/** Every non-void element closed, in order; void elements and SVG's `/>` allowed. A cheap stand-in for a validator. */
function assertBalanced(html: string): void {
  const VOID = new Set(["meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"]);
  const body = html.replace(/<style>[\s\S]*?<\/style>/g, "<style></style>").replace(/^<!DOCTYPE html>/, "");
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, close, rawName, , selfClose] = m;
    const name = rawName.toLowerCase();
    if (close) {
      const top = stack.pop();
      expect(top, `</${name}> closes <${top}>`).toBe(name);
    } else if (!selfClose && !VOID.has(name)) stack.push(name);
  }
  expect(stack).toEqual([]);
}

describe("renderAuditMarkdown", () => {
  const report = sampleReport();
  const md = renderAuditMarkdown(report);

  it("states the verdict and the generation time in the title", () => {
    expect(report.verdict).toBe("not-compliant");
    expect(md.split("\n")[0]).toBe("# Triplicate audit: ❌ NOT COMPLIANT");
    expect(md).toContain("Generated 2026-11-25 12:00:00 UTC by triplicate 0.1.0-test");
    expect(md).toContain("exit code 3");
    expect(md).toContain("**Policy:** copies ≥ 3 · media ≥ 2 · offsite ≥ 1 · immutable ≥ 1 · errors ≤ 0 · maxAge ≤ 26h");
  });

  it("lists every finding", () => {
    const section = md.slice(md.indexOf("## Findings"), md.indexOf("## Destinations"));
    expect(count(section, /^- /m)).toBe(report.findings.length);
    expect(section).toContain("- billing: offsite rule not met (0, required ≥ 1)");
    expect(section).toContain("offsite holds a damaged copy of 20261123T020000Z-0a1b2c3d (checksum-mismatch)");
  });

  it("draws the destinations table, escaping | and newlines and raw HTML in cells", () => {
    const section = md.slice(md.indexOf("## Destinations"), md.indexOf("## Database"));
    const rows = section.split("\n").filter((l) => /^\| (local|nas|offsite) \|/.test(l));
    expect(rows).toHaveLength(3);
    expect(md).toContain("| Destination | Type | Medium | Offsite | Reachable | Retention policy | Snapshots |");
    const nas = rows.find((l) => l.startsWith("| nas |"))!;
    expect(nas).toContain("**NO**: connect ECONNREFUSED 10.0.0.5:22 \\| after 3 retries<br>\\<script\\>alert(1)\\</script\\>");
    expect(nas).not.toContain("<script>");
    expect(nas.endsWith("| keepDaily=14 | unknown |")).toBe(true);
    expect(rows.find((l) => l.startsWith("| offsite |"))).toContain("| s3 | object-storage | yes | yes | keepDaily=3, keepMonthly=12 | 7 |");
    // Every table line is one line: no raw newline broke a row.
    for (const line of md.split("\n").filter((l) => l.startsWith("|"))) expect(line.endsWith("|")).toBe(true);
  });

  it("gives each database its latest snapshot and age against maxAge", () => {
    expect(md).toContain("## Database `app`: ✅ policy met");
    expect(md).toContain("**Latest snapshot:** `20261125T020000Z-0a1b2c3d`, created 2026-11-25 02:00:00 UTC, 10.0h old, within maxAge 26h.");
    expect(md).toContain("## Database `billing`: ❌ policy NOT met");
    expect(md).toContain("**Latest snapshot:** `20261122T020000Z-0a1b2c3d`, created 2026-11-22 02:00:00 UTC, **3.4d old, older than maxAge 26h**.");
  });

  it("has a rules table with FAIL and the reason", () => {
    const billing = md.slice(md.indexOf("## Database `billing`"));
    expect(billing).toContain("| Rule | Required | Actual | Result | Reason |");
    expect(billing).toMatch(/\| offsite \| ≥ 1 \| 0 \| \*\*FAIL\*\* \| NOT met: 0 offsite copies \(none\), 1 required; no verified copy on nas \(unreachable: connect ECONNREFUSED/);
    expect(billing).toMatch(/\| maxAge \| ≤ 26h \| 3\.4d \| \*\*FAIL\*\* \| NOT met: newest snapshot is 3\.4d old, at most 26h allowed \|/);
    const app = md.slice(md.indexOf("## Database `app`"), md.indexOf("## Database `billing`"));
    expect(count(app, /\| pass \|/)).toBe(6);
    expect(app).not.toContain("**FAIL**");
  });

  it("has the latest copies table with state, verification and lock", () => {
    const app = md.slice(md.indexOf("## Database `app`"), md.indexOf("## Database `billing`"));
    expect(app).toContain("| Destination | State | Verified | Proof | Locked until | Last deep check | Encrypted | Detail |");
    expect(app).toMatch(/\| local \| complete \| yes \| read-back \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \|  \| never \| no \|  \|/);
    expect(app).toMatch(/\| nas \| \*\*unreachable\*\* \| no \| - \|  \| never \|  \| connect ECONNREFUSED/);
    expect(app).toMatch(/\| offsite \| complete \| yes \| read-back [^|]+ \| 2026-12-25 02:00:00 UTC \| never \| no \|  \|/);
  });

  it("shows retention coverage with reasons and overdue snapshots", () => {
    const app = md.slice(md.indexOf("## Database `app`"), md.indexOf("## Database `billing`"));
    const local = report.databases[0].retention.find((r) => r.destination === "local")!;
    expect(local.overdue.length).toBeGreaterThan(0);
    expect(app).toContain(`| local | keepDaily=7, keepWeekly=4 | ${local.kept.length} | ${local.overdue.length} | **NO**: run \`triplicate prune\` |`);
    expect(app).toContain("- `20261125T020000Z-0a1b2c3d`: newest snapshot, daily snapshot, weekly snapshot");
    expect(app).toContain(`Overdue (${local.overdue.length}), which retention would delete:`);
    for (const id of local.overdue) expect(app).toContain(`- \`${id}\``);
    expect(app).toContain("Not judged (unreachable): nas.");
  });

  it("lists damaged copies and orphans", () => {
    expect(md).toContain("| offsite | `20261123T020000Z-0a1b2c3d` | checksum-mismatch | store reports sha256 ab12, manifest says cd34 |");
    expect(md).toContain("| offsite | `20261122T020000Z-0a1b2c3d` | size-mismatch | artifact is 10 bytes, manifest says 2048 |");
    expect(md).toContain("| offsite | `app/20261124T140000Z-deadbeef.sqlite.zst` |");
  });

  it("says so when everything is fine", () => {
    const ok: AuditReport = { ...report, verdict: "compliant", exitCode: 0, findings: [] };
    const text = renderAuditMarkdown(ok);
    expect(text.split("\n")[0]).toBe("# Triplicate audit: ✅ COMPLIANT");
    expect(text).toContain("None: every rule is met on every database and every destination is healthy.");
  });

  it("escapes cell text", () => {
    expect(mdCell("a|b\nc\r\nd")).toBe("a\\|b<br>c<br>d");
    expect(mdCell("<b>*x*</b>")).toBe("\\<b\\>\\*x\\*\\</b\\>");
    expect(mdCell("local_disk _x_")).toBe("local_disk \\_x\\_");
  });
});

describe("renderAuditHtml", () => {
  const report = sampleReport();
  const html = renderAuditHtml(report);

  it("is one self-contained HTML5 document that loads nothing", () => {
    expect(html.startsWith("<!DOCTYPE html>\n<html lang=\"en\">")).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toMatch(/<style>[\s\S]+<\/style>/);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/\s(src|href|xlink:href)=/i);
    expect(html).not.toMatch(/@import|@font-face/i);
    // url() only ever points inside the document.
    for (const m of html.matchAll(/url\(([^)]*)\)/g)) expect(m[1]).toMatch(/^#[\w-]+$/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    assertBalanced(html);
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("escapes every piece of report text", () => {
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    const evil = `x"><img src=y onerror=alert(1)>`;
    const hacked: AuditReport = structuredClone(report);
    hacked.destinations[0].name = evil;
    hacked.databases[0].history[0].destination = evil;
    hacked.databases[0].latestCopies[0].detail = evil;
    hacked.findings.push(evil);
    const out = renderAuditHtml(hacked);
    expect(out).not.toContain(evil);
    expect(out).not.toMatch(/<img/);
    expect(out).toContain('data-destination="x&quot;&gt;&lt;img src=y onerror=alert(1)&gt;"');
    assertBalanced(out);
    expect(escapeHtml(`<a href='x'>&</a>`)).toBe("&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
  });

  it("has the verdict banner and the summary tables", () => {
    expect(html).toMatch(/<section class="verdict verdict-not-compliant"[^>]*><div class="verdict-label">NOT COMPLIANT<\/div>/);
    expect(tableRows(html, "destinations")).toBe(report.destinations.length);
    expect(count(html, /<ul class="findings">/)).toBe(1);
    expect(count(html.slice(html.indexOf('<ul class="findings">')), /<li>/)).toBeGreaterThanOrEqual(report.findings.length);
  });

  it("has per database: rules, copies and retention tables, damaged and orphans", () => {
    for (const db of report.databases) {
      const section = new RegExp(`<section class="database" data-db="${db.db}">[\\s\\S]*?</section>`).exec(html)![0];
      expect(tableRows(section, "rules")).toBe(db.policy.rules.length);
      expect(tableRows(section, "copies")).toBe(db.latestCopies.length);
      expect(tableRows(section, "retention")).toBe(db.retention.length);
      expect(tableRows(section, "damaged")).toBe(db.damaged.length || -1);
      expect(tableRows(section, "orphans")).toBe(db.orphans.length || -1);
    }
    const billing = new RegExp(`<section class="database" data-db="billing">[\\s\\S]*?</section>`).exec(html)![0];
    expect(billing).toContain('<span class="badge bad">FAIL</span>');
    expect(billing).toContain("NOT met: newest snapshot is 3.4d old, at most 26h allowed");
    expect(billing).toContain('<span class="badge bad">stale</span>');
  });

  it("draws one timeline per database, one lane per destination and one mark per snapshot", () => {
    expect(count(html, /<svg /)).toBe(report.databases.length);
    for (const db of report.databases) {
      const svg = svgOf(html, db.db);
      expect(count(svg, /<g class="lane[ "]/)).toBe(db.history.length);
      expect(count(svg, /<circle class="snap /)).toBe(snapCount(report, db.db));
      expect(count(svg, /<title>/)).toBeGreaterThanOrEqual(snapCount(report, db.db));
      expect(count(svg, /class="tick"/)).toBeGreaterThanOrEqual(3);
      expect(svg).toMatch(/<g class="legend"/);
      expect(svg).toMatch(/<g class="lane unreachable" data-destination="nas">[\s\S]*?unreachable: history unknown/);
    }
    const app = svgOf(html, "app");
    expect(snapCount(report, "app")).toBe(18 + 7);
    expect(count(app, /class="snap state-complete/)).toBe(18 + 1); // local, and offsite's expired lock of Oct 1
    expect(count(app, /class="snap state-locked/)).toBe(4);
    expect(count(app, /class="snap state-damaged/)).toBe(1);
    expect(count(app, /class="snap state-orphan/)).toBe(1);
    expect(count(app, /class="snap [^"]*\blatest\b/)).toBe(2);
    expect(app).toContain('data-snapshot="20261124T140000Z-deadbeef"');
    expect(app).toMatch(/<circle class="snap state-locked latest" data-snapshot="20261125T020000Z-0a1b2c3d"[^>]*><title>20261125T020000Z-0a1b2c3d\nstate: complete \(locked\)\ncreated 2026-11-25 02:00:00 UTC\nlocked until 2026-12-25 02:00:00 UTC\nlatest snapshot<\/title>/);
  });

  it("shades the gaps: missed nights, not the history retention thinned", () => {
    const app = svgOf(html, "app");
    const gaps = [...app.matchAll(/<rect class="gap[^"]*" data-from="([^"]+)" data-to="([^"]+)"/g)].map((m) => `${m[1].slice(0, 10)}..${m[2].slice(0, 10)}`);
    // local missed Nov 18-20; offsite holds nothing between the Nov 1 copy (kept by its lock, not as a monthly) and Nov 22.
    // Oct 1 -> Nov 1 on offsite is monthly retention at work: no gap.
    expect(gaps.sort()).toEqual(["2026-11-01..2026-11-22", "2026-11-17..2026-11-21"]);
    const billing = svgOf(html, "billing");
    expect(count(billing, /<rect class="gap gap-open"/)).toBe(1); // local's last billing copy is 3.4d old
    expect(count(billing, /<rect class="gap" data-from/)).toBe(0);
  });

  it("draws an empty history without failing", () => {
    const empty = buildAuditReport(cfg, cfg.destinations.map((d) => ({ cfg: d, inv: { destination: d.name, reachable: false, error: "down", copies: [] } })), {
      now: NOW, deep: false, toolVersion: "0",
    });
    const out = renderAuditHtml(empty);
    expect(out).toContain("COULD NOT AUDIT");
    expect(count(out, /<svg /)).toBe(2);
    expect(count(out, /class="snap /)).toBe(0);
    expect(out).not.toMatch(/NaN|undefined|Infinity/);
    assertBalanced(out);
    expect(renderAuditMarkdown(empty)).toContain("**Latest snapshot:** none: no snapshot on any reachable destination.");
  });
});

describe("laneGaps", () => {
  const s = (iso: string, state = "complete") => ({ snapshotId: iso, createdAt: iso, state });
  const now = "2026-11-25T12:00:00.000Z";

  it("flags intervals longer than maxAge and a stale tail", () => {
    const snaps = [s("2026-11-20T02:00:00.000Z"), s("2026-11-21T02:00:00.000Z"), s("2026-11-23T02:00:00.000Z")];
    const gaps = laneGaps(snaps, undefined, { maxAgeMs: 26 * 3_600_000, now });
    expect(gaps.map((g) => [g.from.slice(0, 10), g.to.slice(0, 10), g.open])).toEqual([
      ["2026-11-21", "2026-11-23", false],
      ["2026-11-23", "2026-11-25", true],
    ]);
  });

  it("ignores damaged copies: they do not close a gap", () => {
    const snaps = [s("2026-11-23T02:00:00.000Z"), s("2026-11-24T02:00:00.000Z", "size-mismatch"), s("2026-11-25T02:00:00.000Z")];
    expect(laneGaps(snaps, undefined, { maxAgeMs: 26 * 3_600_000, now })).toHaveLength(1);
  });

  it("without maxAge uses 1.5x the median interval", () => {
    const snaps = ["01", "02", "03", "04", "08", "09"].map((d) => s(`2026-11-${d}T00:00:00.000Z`));
    const gaps = laneGaps(snaps, undefined, { now: "2026-11-09T06:00:00.000Z" });
    expect(gaps.map((g) => g.from.slice(0, 10))).toEqual(["2026-11-04"]);
  });

  it("allows the spacing a coarse retention rule keeps", () => {
    const snaps = [s("2026-10-04T02:00:00.000Z"), s("2026-10-11T02:00:00.000Z"), s("2026-11-24T02:00:00.000Z"), s("2026-11-25T02:00:00.000Z")];
    const kept = [
      { snapshotId: "2026-10-04T02:00:00.000Z", reasons: ["weekly snapshot"] },
      { snapshotId: "2026-10-11T02:00:00.000Z", reasons: ["weekly snapshot", "monthly snapshot"] },
      { snapshotId: "2026-11-24T02:00:00.000Z", reasons: ["daily snapshot"] },
      { snapshotId: "2026-11-25T02:00:00.000Z", reasons: ["newest snapshot", "daily snapshot"] },
    ];
    // Oct 4 -> Oct 11 is a weekly step; Oct 11 -> Nov 24 is 44 days, more than a weekly's 14 days allowance.
    const gaps = laneGaps(snaps, kept, { maxAgeMs: 26 * 3_600_000, now });
    expect(gaps.map((g) => g.from.slice(0, 10))).toEqual(["2026-10-11"]);
  });
});
