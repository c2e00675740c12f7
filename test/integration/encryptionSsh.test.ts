import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { countPosts as rows, createSampleDb } from "../helpers/sqlite.js";

let dir: string;
let cleanup: () => Promise<void>;
let cfg: string;
let key: string;
let pub: string;
let snapshotId: string;
const env = { TRIPLICATE_NOW: "2026-11-20T03:00:00Z" };

function keygen(file: string, passphrase = ""): string {
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "ops@vault", "-f", file]);
  if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  return `${file}.pub`;
}

/** One backup encrypted to an Ed25519 SSH key, the way an operator pastes it from id_ed25519.pub. */
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tri-age-ssh-"));
  const db = path.join(dir, "app.db");
  createSampleDb(db, 200);
  key = path.join(dir, "id_ed25519");
  pub = (await readFile(keygen(key), "utf8")).trim();
  cfg = path.join(dir, "triplicate.yml");
  await writeFile(
    cfg,
    [
      "databases:",
      `  - { name: app, path: ${JSON.stringify(db)} }`,
      "destinations:",
      `  - { name: disk, type: local, path: ${JSON.stringify(path.join(dir, "disk"))} }`,
      "policy: { copies: 2, media: 1, offsite: 0 }",
      `encryption: { recipients: [${JSON.stringify(pub)}] }`,
      `staging: ${JSON.stringify(path.join(dir, "staging"))}`,
    ].join("\n"),
  );
  const r = await runCli(["backup", "--init", "--config", cfg, "--json"], { env: { TRIPLICATE_NOW: "2026-11-20T02:00:00Z" } });
  expect(r.code, r.stderr).toBe(0);
  snapshotId = r.json().databases[0].snapshotId;
});
afterEach(async () => cleanup());

const artifact = () => path.join(dir, "disk", "app", `${snapshotId}.sqlite.zst.age`);

describe("encryption to an ssh-ed25519 key", () => {
  it("records the key without its comment, and restore and verify --deep open it with the SSH private key", async () => {
    const manifest = JSON.parse(await readFile(path.join(dir, "disk", "app", `${snapshotId}.manifest.json`), "utf8"));
    expect(manifest.encryption).toEqual({ recipients: [pub.replace(/ ops@vault$/, "")] });
    const to = path.join(dir, "restored.db");
    const r = await runCli(["restore", "app", "--config", cfg, "--to", to, "--identity", key, "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(rows(to)).toBe(200);
    const v = await runCli(["verify", "--deep", "--config", cfg, "--identity", key, "--json"], { env });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.json().destinations[0].copies[0]).toMatchObject({ state: "complete", deep: { ok: true } });
  });

  it("another SSH key, a public key, or a locked key without its passphrase: exit 2, nothing written, no proof recorded", async () => {
    const other = path.join(dir, "other");
    keygen(other);
    const locked = path.join(dir, "locked");
    keygen(locked, "s3cret-pass");
    const to = path.join(dir, "out", "restored.db");
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--identity", other], {}, /not one of the recipients/],
      [["--identity", `${key}.pub`], {}, /holds an SSH public key/],
      [["--identity", locked], {}, /protected by a passphrase: set TRIPLICATE_IDENTITY_PASSPHRASE/],
      [["--identity", locked], { TRIPLICATE_IDENTITY_PASSPHRASE: "wrong" }, /does not open this SSH private key/],
    ];
    for (const [flags, extra, message] of cases) {
      const r = await runCli(["restore", "app", "--config", cfg, "--to", to, ...flags], { env: { ...env, ...extra } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout + r.stderr).not.toMatch(/is damaged|damaged cop/i);
      expect(r.stdout + r.stderr).not.toContain("s3cret-pass");
    }
    expect(await readdir(path.join(dir, "out")).catch(() => [])).toEqual([]);
    const files = await readdir(path.join(dir, "disk", "app"));
    expect(files.filter((f) => f.includes(".proof-")).length).toBe(1);
  });

  it("opens with the age CLI and the SSH key, then zstd -d and sqlite3, without triplicate", async () => {
    const out = path.join(dir, "manual.db");
    const sh = spawnSync("sh", ["-c", `age -d -i "$1" "$2" | zstd -d -o "$3"`, "sh", key, artifact(), out]);
    expect(sh.status, sh.stderr.toString()).toBe(0);
    const q = spawnSync("sqlite3", [out, "PRAGMA integrity_check; SELECT count(*) FROM posts;"]);
    expect(q.stdout.toString().trim().split("\n")).toEqual(["ok", "200"]);
  });
});
