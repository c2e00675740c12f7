import { existsSync } from "node:fs";
import { mkdtemp, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAuditReport, type AuditReport } from "../../src/audit/build.js";
import { renderAuditHtml } from "../../src/audit/html/page.js";
import { parseConfig } from "../../src/config/load.js";
import type { CopyRecord, CopyState, DestinationInventory } from "../../src/catalog/inventory.js";

/*
 * The HTML audit report opened in a real headless Chromium (the system one,
 * never a download): it renders, it draws the timeline, it fetches nothing,
 * and the injected <script> in a destination error stays text.
 */
const CHROMIUM = "/usr/bin/chromium";
const NOW = new Date("2026-11-25T12:00:00Z");
const EVIL = "connect ECONNREFUSED 10.0.0.5:22 (after 3 retries) <script>alert(1)</script>";

const cfg = parseConfig(
  `
databases:
  - { name: app, path: /srv/app.db }
  - { name: billing, path: /srv/billing.db }
destinations:
  - { name: local, type: local, path: /backup, retention: { keepDaily: 7, keepWeekly: 4 } }
  - { name: nas, type: local, path: /mnt/nas, medium: nas, retention: { keepDaily: 14, keepMonthly: 6 } }
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

const at = (d: string, time = "02:00:00") => new Date(`${d}T${time}Z`);
const idOf = (t: Date, hex: string) => `${t.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}-${hex}`;
function copy(destination: string, db: string, created: Date, state: CopyState = "complete", extra: Partial<CopyRecord> = {}): CopyRecord {
  const snapshotId = idOf(created, db === "app" ? "a1a1a1a1" : "b2b2b2b2");
  const proof = state === "orphan" ? {} : { proof: { level: "read-back" as const, at: created.toISOString() } };
  return { destination, db, snapshotId, createdAt: created, state, artifactKey: `${db}/${snapshotId}.sqlite.zst`, ...proof, ...extra };
}
const locked = (created: Date) => ({ lockedUntil: new Date(created.getTime() + 30 * 86_400_000) });
const days = (from: number, to: number, skip: number[] = []) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i).filter((d) => !skip.includes(d)).map((d) => `2026-11-${String(d).padStart(2, "0")}`);

// app: local nightly Nov 5-25 but Nov 18-20 missed (the gap); offsite Oct 1 + Nov 1 (monthlies) and Nov 21-25, Nov 23 damaged, one orphan.
// billing: local Nov 20-22 only, offsite Nov 22 with a size mismatch: stale and under-replicated.
const APP_LOCAL = days(5, 25, [18, 19, 20]);
const APP_OFFSITE = ["2026-10-01", "2026-11-01", ...days(21, 25, [23])];
const inventories: DestinationInventory[] = [
  {
    destination: "local",
    reachable: true,
    copies: [...APP_LOCAL.map((d) => copy("local", "app", at(d))), ...days(20, 22).map((d) => copy("local", "billing", at(d)))],
  },
  { destination: "nas", reachable: false, error: EVIL, copies: [] },
  {
    destination: "offsite",
    reachable: true,
    copies: [
      ...APP_OFFSITE.map((d) => copy("offsite", "app", at(d), "complete", locked(at(d)))),
      copy("offsite", "app", at("2026-11-23"), "checksum-mismatch", { ...locked(at("2026-11-23")), detail: "store reports sha256 9f86d0…, manifest says 2c26b4…" }),
      copy("offsite", "app", at("2026-11-24", "14:00:00"), "orphan", { detail: "artifact without a manifest (an interrupted upload)" }),
      copy("offsite", "billing", at("2026-11-22"), "size-mismatch", { detail: "artifact is 10 bytes, manifest says 2048" }),
    ],
  },
];

const report: AuditReport = buildAuditReport(
  cfg,
  cfg.destinations.map((d) => ({ cfg: d, inv: inventories.find((i) => i.destination === d.name)! })),
  { now: NOW, deep: false, toolVersion: "0.1.0" },
);

let browser: Browser | undefined;
let page: Page;
let dir: string;
const requests: string[] = [];
const consoleErrors: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error("install Chromium: apt-get install -y chromium");
  dir = await mkdtemp(path.join(os.tmpdir(), "triplicate-audit-html-"));
  const file = path.join(dir, "audit.html");
  await writeFile(file, renderAuditHtml(report));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
});

afterAll(async () => {
  await browser?.close();
});

const rows = (selector: string) => page.locator(`${selector} > tbody > tr`).count();

describe("audit HTML in Chromium", () => {
  it("shows the verdict banner", async () => {
    await expect(page.title()).resolves.toBe("Triplicate audit: NOT COMPLIANT (2026-11-25 12:00:00 UTC)");
    const banner = page.locator("section.verdict");
    expect(await banner.count()).toBe(1);
    expect((await banner.innerText()).replace(/\s+/g, " ")).toMatch(/^NOT COMPLIANT \d+ findings · exit code 3 · 2 databases · 3 destinations \(1 unreachable\)$/);
    expect(await banner.getAttribute("class")).toBe("verdict verdict-not-compliant");
    expect(await page.locator("ul.findings > li").count()).toBe(report.findings.length);
  });

  it("has tables with one row per item of the report", async () => {
    expect(await rows("table.destinations")).toBe(report.destinations.length);
    for (const db of report.databases) {
      const s = `section.database[data-db="${db.db}"]`;
      expect(await rows(`${s} table.rules`)).toBe(db.policy.rules.length);
      expect(await rows(`${s} table.copies`)).toBe(db.latestCopies.length);
      expect(await rows(`${s} table.retention`)).toBe(db.retention.length);
      expect(await rows(`${s} table.damaged`)).toBe(db.damaged.length);
      expect(await rows(`${s} table.orphans`)).toBe(db.orphans.length);
      expect(await page.locator(`${s} table.rules td .badge.bad`).count()).toBe(db.policy.rules.filter((r) => !r.pass).length);
    }
  });

  it("draws a visible timeline per database with a lane per destination and a mark per snapshot", async () => {
    expect(await page.locator("svg.timeline").count()).toBe(report.databases.length);
    for (const db of report.databases) {
      const svg = page.locator(`svg.timeline[data-db="${db.db}"]`);
      const box = await svg.boundingBox();
      expect(box!.width).toBeGreaterThan(600);
      expect(box!.height).toBeGreaterThan(100);
      expect(await svg.locator("g.lane").count()).toBe(db.history.length);
      expect(await svg.locator(".snap").count()).toBe(db.history.reduce((n, h) => n + h.snapshots.length, 0));
      for (const h of db.history) {
        const lane = svg.locator(`g.lane[data-destination="${h.destination}"]`);
        expect(await lane.locator(".snap").count()).toBe(h.snapshots.length);
        expect(await lane.locator("text.lane-label").textContent()).toBe(h.destination);
      }
      const nas = svg.locator('g.lane[data-destination="nas"]');
      expect(await nas.getAttribute("class")).toBe("lane unreachable");
      expect(await nas.locator("text.unreachable-label").textContent()).toContain("unreachable");
      // Marks are really drawn: non-empty boxes inside the svg.
      const mark = await svg.locator(".snap").first().boundingBox();
      if (db.history.some((h) => h.snapshots.length)) expect(mark!.width).toBeGreaterThan(3);
      expect(await svg.locator("text.tick").count()).toBeGreaterThanOrEqual(3);
      expect(await svg.locator(".snap.latest").count()).toBeGreaterThan(0);
    }
  });

  it("shades the gap where backups were missed, and nowhere else on that lane", async () => {
    const local = page.locator('svg.timeline[data-db="app"] g.lane[data-destination="local"]');
    const gaps = local.locator("rect.gap");
    expect(await gaps.count()).toBe(1);
    expect(await gaps.getAttribute("data-from")).toBe("2026-11-17T02:00:00.000Z");
    expect(await gaps.getAttribute("data-to")).toBe("2026-11-21T02:00:00.000Z");
    const gapBox = (await gaps.boundingBox())!;
    expect(gapBox.width).toBeGreaterThan(20);
    // The gap sits between the Nov 17 and Nov 21 marks.
    const m17 = (await local.locator('.snap[data-snapshot="20261117T020000Z-a1a1a1a1"]').boundingBox())!;
    const m21 = (await local.locator('.snap[data-snapshot="20261121T020000Z-a1a1a1a1"]').boundingBox())!;
    // (within 2 px: the rect's stroke widens its box)
    expect(Math.abs(gapBox.x - (m17.x + m17.width / 2))).toBeLessThan(2);
    expect(Math.abs(gapBox.x + gapBox.width - (m21.x + m21.width / 2))).toBeLessThan(2);
    // Retention thinning (offsite's Oct 1 -> Nov 1 monthlies) is not a gap.
    const offsiteGaps = await page.locator('svg.timeline[data-db="app"] g.lane[data-destination="offsite"] rect.gap').evaluateAll((els) =>
      els.map((e) => `${e.getAttribute("data-from")!.slice(0, 10)}..${e.getAttribute("data-to")!.slice(0, 10)}`),
    );
    expect(offsiteGaps).not.toContain("2026-10-01..2026-11-01");
    // billing's newest copy on local is 3.4 days old: the lane is open-ended stale.
    expect(await page.locator('svg.timeline[data-db="billing"] g.lane[data-destination="local"] rect.gap.gap-open').count()).toBe(1);
  });

  it("keeps the injected <script> as text", async () => {
    expect(await page.locator("script").count()).toBe(0);
    expect(dialogs).toEqual([]);
    const cell = page.locator("table.destinations tbody tr", { hasText: "nas" });
    expect(await cell.innerText()).toContain("<script>alert(1)</script>");
    expect(await page.locator("ul.findings").innerText()).toContain("<script>alert(1)</script>");
  });

  it("fetched nothing but the file itself, and logged no error", async () => {
    expect(requests.filter((u) => !u.startsWith("file:"))).toEqual([]);
    expect(requests).toHaveLength(1);
    expect(consoleErrors).toEqual([]);
  });

  it("renders a full-page screenshot", async () => {
    const png = path.join(dir, "audit.png");
    await page.screenshot({ path: png, fullPage: true });
    const size = (await stat(png)).size;
    console.log(`audit report screenshot: ${png} (${size} bytes)`);
    expect(size).toBeGreaterThan(10_000);
    // Print layout works too (no exception, several pages of A4).
    await page.emulateMedia({ media: "print" });
    const pdf = await page.pdf({ format: "A4", printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    await page.emulateMedia({ media: "screen" });
  });
});
