import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, spawnCli, tempDir } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

/**
 * Issue 14 "Schedules": `triplicate schedule --cron EXPR` stays running,
 * never overlaps runs, logs each run as one JSON line, and on SIGTERM lets
 * the run under way finish before it exits 0.
 */
let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-schedule-"));
  createSampleDb(path.join(dir, "app.db"), 200);
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    `databases:
  - { name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }
destinations:
  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }
policy: { copies: 2, media: 1, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# every scheduled run here ships a snapshot of its own, so the test can count them
unchanged: upload
`,
  );
  const init = await runCli(["backup", "--init", "--config", cfg]);
  expect(init.code, init.stderr).toBe(0);
});
afterEach(async () => cleanup());

/** Starts the schedule and collects its JSON lines; `until` resolves when a line matches. */
function startSchedule(args: string[]) {
  const child = spawnCli(["schedule", "--config", cfg, "--json", "--log-level", "warn", ...args]);
  const events: any[] = [];
  const waiters: { match: (e: any) => boolean; resolve: (e: any) => void }[] = [];
  let buf = "";
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.on("data", (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const e = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      events.push(e);
      for (const w of waiters.filter((w) => w.match(e))) w.resolve(e);
    }
  });
  const exited = new Promise<number>((r) => child.on("close", (c) => r(c ?? -1)));
  const until = (match: (e: any) => boolean) => new Promise<any>((resolve) => (events.find(match) ? resolve(events.find(match)) : waiters.push({ match, resolve })));
  return { child, events, until, exited, stderr: () => stderr };
}

describe("triplicate schedule", () => {
  it("fires every second, never overlaps, logs each run as JSON, and stops cleanly on SIGTERM", async () => {
    const s = startSchedule(["--cron", "* * * * * *"]);
    expect((await s.until((e) => e.event === "scheduled")).cron).toBe("* * * * * *");
    await s.until((e) => e.event === "run-finished" && e.run === 2);
    s.child.kill("SIGTERM");
    expect(await s.exited, s.stderr()).toBe(0);

    const finished = s.events.filter((e) => e.event === "run-finished");
    expect(finished.length).toBeGreaterThanOrEqual(2);
    for (const f of finished) {
      expect(f.exitCode).toBe(0);
      expect(f.report.command).toBe("backup");
      expect(f.report.databases[0].destinations[0].status).toBe("verified");
    }
    // Never two runs at once: each run starts after the one before it finished.
    const started = s.events.filter((e) => e.event === "run-started");
    for (let i = 1; i < started.length; i++) {
      const before = finished.find((f) => f.run === started[i].run - 1);
      expect(before, `run ${started[i].run - 1} finished before run ${started[i].run} started`).toBeDefined();
      expect(s.events.indexOf(before)).toBeLessThan(s.events.indexOf(started[i]));
    }
    expect(s.events.at(-1)).toMatchObject({ event: "stopped", signal: "SIGTERM" });
    const manifests = (await readdir(path.join(dir, "disk", "app"))).filter((f) => f.endsWith(".manifest.json"));
    expect(manifests.length).toBe(1 + finished.length);
  }, 30_000);

  it("SIGTERM during a run lets that run finish and verify before exiting", async () => {
    const s = startSchedule(["--cron", "* * * * * *"]);
    await s.until((e) => e.event === "run-started");
    s.child.kill("SIGTERM");
    expect(await s.exited, s.stderr()).toBe(0);
    const stopping = s.events.find((e) => e.event === "stopping");
    const finished = s.events.filter((e) => e.event === "run-finished");
    expect(stopping.waitingForRun).toBe(1);
    expect(finished).toHaveLength(1);
    expect(finished[0].exitCode).toBe(0);
    expect(s.events.indexOf(finished[0])).toBeGreaterThan(s.events.indexOf(stopping));
    expect(s.stderr()).toContain("waiting for the run under way to finish");
    expect(await readdir(path.join(dir, "staging"))).not.toContain("triplicate.lock");
  }, 30_000);

  it("a bad cron expression or a broken config is a usage error (exit 2) at start, not a schedule that fails every night", async () => {
    const bad = await runCli(["schedule", "--cron", "every night", "--config", cfg]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--cron "every night" is not a cron expression');
    const none = await runCli(["schedule", "--config", cfg]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("schedule needs --cron EXPR");
    await writeFile(cfg, "databases: []\n");
    const broken = await runCli(["schedule", "--cron", "0 2 * * *", "--config", cfg]);
    expect(broken.code).toBe(2);
  });
});
