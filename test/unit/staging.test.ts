import { describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { checkStagingRoom, stagedFile } from "../../src/backup/staging.js";
import { defaultStaging } from "../../src/config/schema.js";
import { StagingError } from "../../src/runtime/errors.js";

const fakeStatfs = (freeBytes: number) => async () => ({ bavail: freeBytes / 4096, bsize: 4096, type: 0xef53 });

describe("staging", () => {
  it("defaults to a state folder on disk: $XDG_STATE_HOME/triplicate, else /var/tmp/triplicate-<uid>", () => {
    expect(defaultStaging({ XDG_STATE_HOME: "/home/ops/.local/state" }, 1000)).toBe("/home/ops/.local/state/triplicate");
    expect(defaultStaging({}, 1000)).toBe("/var/tmp/triplicate-1000");
    expect(defaultStaging({ XDG_STATE_HOME: "relative/not/allowed" }, 0)).toBe("/var/tmp/triplicate-0");
  });

  it("names staged files after the run's process, so a later run can tell a dead run's files", () => {
    expect(stagedFile("/s", "app", "20261125T020000Z-0badc0de", 4242)).toBe("/s/app/20261125T020000Z-0badc0de.pid4242.sqlite");
  });

  it("refuses early, with the sizes and the fix, when staging has no room for the snapshot and its artifact", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-room-"));
    try {
      const db = path.join(dir, "app.db");
      await writeFile(db, Buffer.alloc(3 * 2 ** 20));
      await writeFile(`${db}-wal`, Buffer.alloc(2 ** 20));
      const err = await checkStagingRoom({ staging: dir, dbName: "app", dbPath: db, compressed: true }, fakeStatfs(5 * 2 ** 20)).catch((e) => e);
      expect(err).toBeInstanceOf(StagingError);
      expect(err.message).toMatch(/staging folder .* has 5\.0 MiB free; the snapshot of app needs about 8\.0 MiB \(the database with its -wal, 4\.0 MiB, and its artifact beside it\).*free space there, or set staging: to a folder with room/);
      await expect(checkStagingRoom({ staging: dir, dbName: "app", dbPath: db, compressed: true }, fakeStatfs(9 * 2 ** 20))).resolves.toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("sweepDeadRuns and encrypted artifacts", () => {
  it("removes a dead run's staged .sqlite.zst.age too, and leaves a live run's", async () => {
    const { sweepDeadRuns } = await import("../../src/backup/staging.js");
    const staging = await mkdtemp(path.join(os.tmpdir(), "tri-sweep-age-"));
    try {
      const { mkdir } = await import("node:fs/promises");
      await mkdir(path.join(staging, "app"));
      const dead = `${stagedFile(staging, "app", "20261125T020000Z-0a1b2c3d", 999_999)}.zst.age`;
      const live = `${stagedFile(staging, "app", "20261125T020000Z-0a1b2c3e", 4242)}.zst.age`;
      await writeFile(dead, "x");
      await writeFile(live, "x");
      const log = { info: () => {} } as unknown as import("pino").Logger;
      expect(await sweepDeadRuns(staging, log, (pid) => pid === 4242)).toEqual([dead]);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  });
});
