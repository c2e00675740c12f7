import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import pino from "pino";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  checkSftpOptions,
  createSftpAdapter,
  fingerprintOf,
  knownHostMatches,
  parseSftpOptions,
  type SftpConfig,
} from "../../adapters/sftp/index.js";
import {
  AuthError,
  ChecksumMismatchError,
  DestinationConfigError,
  NotFoundError,
  TransientError,
} from "../../adapters/errors.js";
import type { BlobSource, StorageAdapter } from "../../adapters/types.js";
import { describeAdapterContract } from "./contract.js";
import { bufferSource, readAll } from "../helpers/blob.js";
import { startSshd, type SshdServer } from "../helpers/sshd.js";
import { runCli } from "../helpers/cli.js";
import { createSampleDb } from "../helpers/sqlite.js";

const run = promisify(execFile);
const silent = pino({ level: "silent" });
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function configFor(s: SshdServer, sub: string, over: Record<string, unknown> = {}): SftpConfig {
  return parseSftpOptions({
    host: s.host,
    port: s.port,
    username: s.username,
    privateKeyPath: s.privateKeyPath,
    hostKeySha256: s.hostKeySha256,
    path: path.join(s.root, sub),
    ...over,
  });
}

/** A pino logger whose JSON lines land in `lines`. */
function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: pino({ level: "debug" }, { write: (l: string) => void lines.push(JSON.parse(l)) }) };
}

/** A source that trickles out, so a test can act while the upload is under way. */
/** `hold`: from byte `at` on, wait for `until` first, so a test can act mid-upload without racing a fast machine. */
function slowSource(data: Buffer, chunk: number, delayMs: number, hold?: { at: number; until: Promise<void> }): BlobSource {
  return {
    ...bufferSource(data),
    open: () =>
      Readable.from(
        (async function* () {
          for (let i = 0; i < data.length; i += chunk) {
            if (hold && i >= hold.at) await hold.until;
            await new Promise((r) => setTimeout(r, delayMs));
            yield data.subarray(i, i + chunk);
          }
        })(),
      ),
  };
}

async function tempFilesUnder(dir: string): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.includes(".tmp-")) out.push({ name, size: (await stat(path.join(dir, name)).catch(() => ({ size: -1 }))).size });
  }
  return out;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describeAdapterContract("sftp", async () => {
  const s = await startSshd();
  try {
    return { adapter: await createSftpAdapter(configFor(s, "contract"), { logger: silent }), cleanup: () => s.stop() };
  } catch (err) {
    await s.stop();
    throw err;
  }
});

describe("sftp options", () => {
  it("refuses to go without a pinned host key or credentials, and says how to fix it", async () => {
    const o = parseSftpOptions({ host: "nas.lan", username: "backup", path: "/volume1/backups" });
    expect(o.port).toBe(22);
    expect(o.transfer).toBe("auto");
    const problems = checkSftpOptions(o);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("ssh-keyscan -p 22 nas.lan | ssh-keygen -lf -");
    await expect(createSftpAdapter(o, { logger: silent })).rejects.toBeInstanceOf(DestinationConfigError);
    expect(() => parseSftpOptions({ host: "h", username: "u", path: "/p", hostKeySha256: "md5:aa:bb" })).toThrow(/SHA256/);
  });

  it("matches known_hosts host fields: plain, patterns, negation, [host]:port, hashed", () => {
    expect(knownHostMatches("nas.lan,10.0.0.5", "nas.lan", 22)).toBe(true);
    expect(knownHostMatches("nas.lan", "nas.lan", 2222)).toBe(false);
    expect(knownHostMatches("[nas.lan]:2222", "nas.lan", 2222)).toBe(true);
    expect(knownHostMatches("*.lan,!evil.lan", "nas.lan", 22)).toBe(true);
    expect(knownHostMatches("*.lan,!evil.lan", "evil.lan", 22)).toBe(false);
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update("[nas.lan]:2222").digest("base64")}`;
    expect(knownHostMatches(hashed, "nas.lan", 2222)).toBe(true);
    expect(knownHostMatches(hashed, "nas.lan", 22)).toBe(false);
  });
});

describe("sftp adapter against a real sshd", () => {
  let s: SshdServer;
  beforeAll(async () => {
    s = await startSshd();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("identifies OpenSSH, commits with posix-rename and never puts secrets in its id", async () => {
    const { logger, lines } = capture();
    const a = await createSftpAdapter(configFor(s, "ident", { privateKeyPassphrase: undefined, password: "hunter2-secret" }), { logger });
    try {
      expect(a.id).toBe(`sftp:${s.username}@127.0.0.1:${s.port}${path.join(s.root, "ident")}`);
      expect(a.id).not.toContain("hunter2");
      const connected = lines.find((l) => l.msg === "sftp connected");
      expect(connected).toMatchObject({ openssh: true, posixRename: true, fastPut: true, fsync: true });
      expect(String(connected?.server)).toMatch(/^OpenSSH_/);
    } finally {
      await a.close();
    }
  });

  it("put returns the server's own time stamp of the write (storeTime), close to now", async () => {
    const a = await createSftpAdapter(configFor(s, "clock"), { logger: silent });
    try {
      const before = Date.now();
      const info = await a.put("db/x.bin", bufferSource("x"));
      expect(info.storeTime).toBeInstanceOf(Date);
      // Whole seconds on the wire: up to a second before the write began.
      expect(info.storeTime!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(info.storeTime!.getTime()).toBeLessThanOrEqual(Date.now());
    } finally {
      await a.close();
    }
  });

  it("fsyncs every put's temp file before the rename (fsync@openssh.com), sequential and fastPut alike", async () => {
    // internal-sftp logs only to syslog, so the requests are watched on the client side: ssh2's SFTP
    // channel, wrapped to record which file each handle is, every fsync answered OK and every rename.
    const proto = createRequire(import.meta.url)("ssh2/lib/protocol/SFTP.js").SFTP.prototype;
    const events: string[] = [];
    const paths = new Map<string, string>();
    const orig = { open: proto.open, fsync: proto.ext_openssh_fsync, rename: proto.ext_openssh_rename };
    proto.open = function (this: unknown, file: string, flags: string, ...rest: any[]) {
      const cb = rest.pop();
      return orig.open.call(this, file, flags, ...rest, (err: Error | undefined, h: Buffer) => (h && paths.set(h.toString("hex"), file), cb(err, h)));
    };
    proto.ext_openssh_fsync = function (this: unknown, h: Buffer, cb: (err?: Error) => void) {
      return orig.fsync.call(this, h, (err?: Error) => (err || events.push(`fsync ${paths.get(h.toString("hex"))}`), cb(err)));
    };
    proto.ext_openssh_rename = function (this: unknown, from: string, to: string, cb: (err?: Error) => void) {
      events.push(`rename ${from} -> ${to}`);
      return orig.rename.call(this, from, to, cb);
    };
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-fsync-"));
    const a = await createSftpAdapter(configFor(s, "durable"), { logger: silent });
    try {
      const big = randomBytes(6 * 1024 * 1024);
      await writeFile(path.join(dir, "big.bin"), big);
      const puts = [
        await a.put("db/x.manifest.json", bufferSource('{"a":1}')), // a manifest: small, sequential
        await a.put("db/x.sqlite.zst", { ...bufferSource(big), localPath: path.join(dir, "big.bin") }), // fastPut
      ];
      expect(puts.map((p) => p.durable)).toEqual([true, true]);
      const committed = events.filter((e) => !e.includes(".triplicate-probe-"));
      expect(committed).toHaveLength(4);
      for (const [i, name] of ["x.manifest.json", "x.sqlite.zst"].entries()) {
        const [fsync, rename] = committed.slice(2 * i, 2 * i + 2);
        const tmp = rename.match(/^rename (\S+) -> (\S+)$/)!;
        expect(tmp[2]).toBe(path.join(s.root, "durable/db", name));
        expect(path.basename(tmp[1])).toMatch(new RegExp(`^\\.${name.replace(/\./g, "\\.")}\\.tmp-`));
        expect(fsync).toBe(`fsync ${tmp[1]}`);
      }
    } finally {
      Object.assign(proto, { open: orig.open, ext_openssh_fsync: orig.fsync, ext_openssh_rename: orig.rename });
      await a.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a missing root: created only when asked (backup --init), otherwise a NotFoundError naming it", async () => {
    const cfg = configFor(s, "not-mounted/backups");
    const err = await caught(createSftpAdapter(cfg, { logger: silent, createRoot: false }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(`the folder ${cfg.path} does not exist on the server`);
    await expect(stat(path.join(s.root, "not-mounted"))).rejects.toThrow();
    const a = await createSftpAdapter(cfg, { logger: silent, createRoot: true });
    await a.close();
    expect((await stat(path.join(s.root, "not-mounted/backups"))).isDirectory()).toBe(true);
  });

  it("maps SFTP status 2 (No such file) to NotFoundError, pinned", async () => {
    const a = await createSftpAdapter(configFor(s, "missing"), { logger: silent });
    try {
      const err = await caught(a.stat("db/none.bin"));
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err.cause as { code?: unknown }).code).toBe(2);
      expect((err.cause as Error).message).toBe("No such file");
      const viaGet = await caught(a.get("db/none.bin"));
      expect(viaGet).toBeInstanceOf(NotFoundError);
      expect((viaGet.cause as { code?: unknown }).code).toBe(2);
    } finally {
      await a.close();
    }
  });

  it("wrong hostKeySha256: AuthError before authentication, naming the offered and the expected key", async () => {
    const before = ((await s.log()).match(/Accepted publickey/g) ?? []).length;
    const wrong = fingerprintOf(randomBytes(51));
    const err = await caught(createSftpAdapter(configFor(s, "wrong-key", { hostKeySha256: wrong }), { logger: silent }));
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toContain(s.hostKeySha256);
    expect(err.message).toContain(wrong);
    // Rejected during key exchange: the server never saw a login, and nothing was written.
    await new Promise((r) => setTimeout(r, 100));
    expect(((await s.log()).match(/Accepted publickey/g) ?? []).length).toBe(before);
    expect(existsSync(path.join(s.root, "wrong-key"))).toBe(false);
  });

  it("knownHostsPath: accepts plain and hashed [host]:port entries, refuses a wrong or missing one", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-kh-"));
    try {
      const name = `[127.0.0.1]:${s.port}`;
      const salt = randomBytes(20);
      const hashed = `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
      const other = (await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "other")]), await readFile(path.join(dir, "other.pub"), "utf8"));
      const otherKey = other.trim().split(/\s+/).slice(0, 2).join(" ");
      const files = {
        plain: `# comment\nexample.org ${otherKey}\n${name} ${s.hostPublicKey}\n`,
        hashed: `${hashed} ${s.hostPublicKey}\n`,
        wrong: `${name} ${otherKey}\n`,
        absent: `example.org ${s.hostPublicKey}\n`,
      };
      for (const [kind, text] of Object.entries(files)) await writeFile(path.join(dir, kind), text);
      const cfg = (kind: string) => configFor(s, "kh", { hostKeySha256: undefined, knownHostsPath: path.join(dir, kind) });

      for (const kind of ["plain", "hashed"]) {
        const a = await createSftpAdapter(cfg(kind), { logger: silent });
        await a.put(`ok/${kind}.txt`, bufferSource(kind));
        expect((await a.stat(`ok/${kind}.txt`)).size).toBe(kind.length);
        await a.close();
      }
      const wrong = await caught(createSftpAdapter(cfg("wrong"), { logger: silent }));
      expect(wrong).toBeInstanceOf(AuthError);
      expect(wrong.message).toContain(s.hostKeySha256);
      expect(wrong.message).toContain(fingerprintOf(Buffer.from(otherKey.split(" ")[1], "base64")));
      const absent = await caught(createSftpAdapter(cfg("absent"), { logger: silent }));
      expect(absent).toBeInstanceOf(AuthError);
      expect(absent.message).toContain(`no entry for ${name}`);
      // Only a key type the server does not have: the handshake fails before any key is offered.
      await run("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", path.join(dir, "ecdsa")]);
      const ecdsa = (await readFile(path.join(dir, "ecdsa.pub"), "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
      await writeFile(path.join(dir, "types"), `${name} ${ecdsa}\n`);
      const types = await caught(createSftpAdapter(cfg("types"), { logger: silent }));
      expect(types).toBeInstanceOf(AuthError);
      expect(types.message).toContain("lists only ecdsa-sha2-nistp256 keys");
      const unreadable = await caught(createSftpAdapter(cfg("does-not-exist"), { logger: silent }));
      expect(unreadable).toBeInstanceOf(DestinationConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a key the server does not know: AuthError, and no secret in the message", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-key-"));
    try {
      await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "pass-phrase-secret", "-f", path.join(dir, "stranger")]);
      const err = await caught(
        createSftpAdapter(
          configFor(s, "auth", { privateKeyPath: path.join(dir, "stranger"), privateKeyPassphrase: "pass-phrase-secret", password: "hunter2-secret" }),
          { logger: silent },
        ),
      );
      expect(err).toBeInstanceOf(AuthError);
      expect(err.message).not.toMatch(/secret/);
      const badPassphrase = await caught(
        createSftpAdapter(configFor(s, "auth", { privateKeyPath: path.join(dir, "stranger"), privateKeyPassphrase: "nope-secret" }), { logger: silent }),
      );
      expect(badPassphrase).toBeInstanceOf(AuthError);
      expect(badPassphrase.message).not.toMatch(/secret/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("permission denied on the server is a DestinationConfigError", async () => {
    // Nobody, root included, may create folders at the top of sysfs (EPERM → SSH_FX_PERMISSION_DENIED).
    const err = await caught(createSftpAdapter({ ...configFor(s, "x"), path: "/sys/triplicate-test" }, { logger: silent }));
    expect(err).toBeInstanceOf(DestinationConfigError);
    expect((err.cause as { code?: unknown }).code).toBe(3);
  });

  it.each(["auto", "sequential"] as const)("a 20 MB upload from a local file verifies and round-trips (transfer: %s)", async (transfer) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-big-"));
    const { logger, lines } = capture();
    const a = await createSftpAdapter(configFor(s, `big-${transfer}`, { transfer }), { logger });
    try {
      const data = randomBytes(20 * 1024 * 1024);
      const file = path.join(dir, "artifact.bin");
      await writeFile(file, data);
      const src: BlobSource = { ...bufferSource(data), localPath: file };
      const info = await a.put("app/big.bin", src);
      expect(info.size).toBe(data.length);
      const committed = lines.find((l) => l.msg === "sftp put committed" && l.key === "app/big.bin");
      expect(committed?.transfer).toBe(transfer === "auto" ? "fastPut" : "sequential");
      expect(sha(await readFile(path.join(s.root, `big-${transfer}`, "app", "big.bin")))).toBe(src.sha256);
      expect(sha(await readAll(await a.get("app/big.bin")))).toBe(src.sha256);
      expect(await tempFilesUnder(path.join(s.root, `big-${transfer}`, "app"))).toEqual([]);
    } finally {
      await a.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fastPut path: a local file that differs from the declared hash is never committed", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-bad-"));
    const a = await createSftpAdapter(configFor(s, "badsrc"), { logger: silent });
    try {
      const data = randomBytes(6 * 1024 * 1024);
      const file = path.join(dir, "artifact.bin");
      await writeFile(file, Buffer.concat([data.subarray(0, 100), Buffer.from("X"), data.subarray(101)]));
      const err = await caught(a.put("app/bad.bin", { ...bufferSource(data), localPath: file }));
      expect(err).toBeInstanceOf(ChecksumMismatchError);
      await expect(a.stat("app/bad.bin")).rejects.toBeInstanceOf(NotFoundError);
      expect(await tempFilesUnder(path.join(s.root, "badsrc", "app"))).toEqual([]);
    } finally {
      await a.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("hides temp files from list and sweeps only old ones", async () => {
    const a = await createSftpAdapter(configFor(s, "sweep"), { logger: silent });
    try {
      await a.put("app/real.bin", bufferSource("real"));
      const dir = path.join(s.root, "sweep", "app");
      await writeFile(path.join(dir, ".x.sqlite.zst.tmp-123-abc"), "partial");
      await writeFile(path.join(dir, ".y.sqlite.zst.tmp-456-def"), "in progress");
      const past = new Date(Date.now() - 3 * 86_400_000);
      await utimes(path.join(dir, ".x.sqlite.zst.tmp-123-abc"), past, past);
      const listed: string[] = [];
      for await (const o of a.list("")) listed.push(o.key);
      expect(listed).toEqual(["app/real.bin"]);
      expect(await a.sweepTemporary("app/", new Date(Date.now() - 86_400_000))).toEqual(["app/.x.sqlite.zst.tmp-123-abc"]);
      expect((await readdir(dir)).sort()).toEqual([".y.sqlite.zst.tmp-456-def", "real.bin"]);
    } finally {
      await a.close();
    }
  });

  it("folders 0700 and files 0600 even when the server's umask is 000, sequential and fastPut alike", async () => {
    const open = await startSshd({ sftpUmask: "000" });
    const a = await createSftpAdapter(configFor(open, "modes/root", { transfer: "parallel" }), { logger: silent, createRoot: true });
    try {
      await a.put("app/small.bin", bufferSource("small"));
      const big = Buffer.alloc(5 << 20, 7);
      const file = path.join(open.root, "big.local");
      await writeFile(file, big);
      await a.put("app/big.bin", { ...bufferSource(big), localPath: file });
      const mode = async (p: string) => ((await stat(path.join(open.root, p))).mode & 0o777).toString(8);
      expect([await mode("modes"), await mode("modes/root"), await mode("modes/root/app")]).toEqual(["700", "700", "700"]);
      expect([await mode("modes/root/app/small.bin"), await mode("modes/root/app/big.bin")]).toEqual(["600", "600"]);
    } finally {
      await a.close();
      await open.stop();
    }
  });

  it("a missing remote root is created, relative paths under it too", async () => {
    await mkdir(path.join(s.root, "pre"), { recursive: true });
    const a = await createSftpAdapter(configFor(s, "pre/deep/er"), { logger: silent });
    try {
      await a.put("db/x/y/z.txt", bufferSource("deep"));
      expect(await readFile(path.join(s.root, "pre/deep/er/db/x/y/z.txt"), "utf8")).toBe("deep");
    } finally {
      await a.close();
    }
  });
});

describe("sftp faults (each with its own sshd)", () => {
  const servers: SshdServer[] = [];
  const adapters: StorageAdapter[] = [];
  afterAll(async () => {
    for (const a of adapters) await a.close().catch(() => undefined);
    for (const s of servers) await s.stop();
  });
  const server = async () => {
    const s = await startSshd();
    servers.push(s);
    return s;
  };
  const open = async (s: SshdServer, sub: string, over: Record<string, unknown> = {}) => {
    const a = await createSftpAdapter(configFor(s, sub, over), { logger: silent });
    adapters.push(a);
    return a;
  };

  it("server killed mid-upload: TransientError, nothing committed; a new sshd on the same port is reconnected to", async () => {
    const s = await server();
    const a = await open(s, "kill");
    const noise = vi.spyOn(console, "log");
    const noiseErr = vi.spyOn(console, "error");
    try {
      await a.put("app/before.txt", bufferSource("before"));
      const data = randomBytes(16 * 1024 * 1024);
      let release!: () => void;
      const killed = new Promise<void>((r) => (release = r));
      // The source holds at 4 MB until the server is dead: the upload is mid-way by construction.
      const uploading = a.put("app/db.sqlite.zst", slowSource(data, 512 * 1024, 20, { at: 4 * 1024 * 1024, until: killed }));
      uploading.catch(() => undefined);
      const dir = path.join(s.root, "kill", "app");
      await waitFor("the temp file to grow", async () => (await tempFilesUnder(dir)).some((t) => t.size > 1024 * 1024));
      await s.kill();
      release();

      const err = await caught(uploading);
      expect(err).toBeInstanceOf(TransientError);
      expect(existsSync(path.join(dir, "db.sqlite.zst"))).toBe(false);
      expect((await tempFilesUnder(dir)).length).toBe(1); // the partial upload, still hidden

      // While the server is down: transient (connection refused), so the retry wrapper keeps trying.
      const down = await caught(a.stat("app/before.txt"));
      expect(down).toBeInstanceOf(TransientError);
      expect(down.message).toMatch(/connect ECONNREFUSED 127\.0\.0\.1:\d+/);
      expect(down.message).not.toMatch(/ECONNREFUSED.*ECONNREFUSED/); // the cause, said once

      await s.restart();
      // The next operation reconnects transparently and removes the leftover temp file first.
      expect((await a.stat("app/before.txt")).size).toBe(6);
      await expect(a.stat("app/db.sqlite.zst")).rejects.toBeInstanceOf(NotFoundError);
      expect(await tempFilesUnder(dir)).toEqual([]);
      expect(await a.sweepTemporary("app/", new Date(Date.now() + 60_000))).toEqual([]);
      const src = bufferSource(data);
      await a.put("app/db.sqlite.zst", src);
      expect(sha(await readAll(await a.get("app/db.sqlite.zst")))).toBe(src.sha256);

      const printed = [...noise.mock.calls, ...noiseErr.mock.calls].flat().join("\n");
      expect(printed).not.toMatch(/Global (end|close|error) listener/);
    } finally {
      noise.mockRestore();
      noiseErr.mockRestore();
    }
  });

  it("hung server: an aborted operation fails fast with TransientError, and the next one reconnects", async () => {
    const s = await server();
    const a = await open(s, "hang");
    await a.put("app/x.txt", bufferSource("x"));
    await s.pause();
    try {
      const started = Date.now();
      const err = await caught(a.stat("app/x.txt", AbortSignal.timeout(300)));
      expect(err).toBeInstanceOf(TransientError);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await s.resume();
    }
    expect((await a.stat("app/x.txt")).size).toBe(1);
  });

  it("hung server without a deadline: the keepalive gives up and the operation fails with TransientError", async () => {
    const s = await server();
    const a = await open(s, "keepalive", { keepaliveSeconds: 0.5 });
    await a.put("app/x.txt", bufferSource("x"));
    await s.pause();
    try {
      const started = Date.now();
      const err = await caught(a.put("app/y.txt", bufferSource(randomBytes(100_000))));
      expect(err).toBeInstanceOf(TransientError);
      expect(err.message).toMatch(/Keepalive timeout/);
      expect(Date.now() - started).toBeLessThan(6_000);
    } finally {
      await s.resume();
    }
    await a.put("app/y.txt", bufferSource("y"));
    expect((await a.stat("app/y.txt")).size).toBe(1);
  });
});

/**
 * An in-memory SFTP server that is not OpenSSH, to reach the branches a real
 * sshd never takes: it identifies as "FakeNAS", advertises no
 * posix-rename@openssh.com, refuses a rename onto an existing name (SFTP v3),
 * and, like the servers in ssh2-sftp-client issues #380/#582, silently
 * zero-fills a WRITE that arrives while another one is still being handled
 * (the size comes out right; the bytes do not).
 */
async function startFakeNas(dir: string): Promise<{ port: number; hostKeySha256: string; files: Map<string, Buffer>; stop(): Promise<void> }> {
  const { Server, utils } = ssh2;
  const { STATUS_CODE: ST, OPEN_MODE: OM } = utils.sftp;
  // Not utils.generateKeyPairSync: in ssh2 1.17 about 1 ed25519 key in 300 comes out malformed.
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "fake_host")]);
  const hostKey = await readFile(path.join(dir, "fake_host"));
  const parsed = utils.parseKey(hostKey);
  if (parsed instanceof Error) throw parsed;
  const hostKeySha256 = fingerprintOf(parsed.getPublicSSH());
  const files = new Map<string, Buffer>();
  const dirs = new Set<string>(["/"]);
  const mtimes = new Map<string, number>();
  const now = () => Math.floor(Date.now() / 1000);
  const attrsOf = (p: string) =>
    dirs.has(p)
      ? { mode: 0o040755, size: 0, uid: 0, gid: 0, atime: now(), mtime: now() }
      : { mode: 0o100644, size: files.get(p)!.length, uid: 0, gid: 0, atime: now(), mtime: mtimes.get(p) ?? now() };
  const connections = new Set<ssh2.Connection>();
  const server = new Server({ hostKeys: [hostKey], ident: "FakeNAS_1.0" }, (client) => {
    connections.add(client);
    client.on("close", () => connections.delete(client));
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => ctx.accept());
    client.on("ready", () => {
      client.on("session", (acceptSession) => {
        acceptSession().on("sftp", (acceptSftp) => {
          const sftp = acceptSftp();
          const handles = new Map<number, { path: string; dir?: boolean; listed?: boolean; busy?: number }>();
          let nextHandle = 1;
          const h = (buf: Buffer) => handles.get(buf.readUInt32BE(0));
          const exists = (p: string) => files.has(p) || dirs.has(p);
          const parentOk = (p: string) => dirs.has(p.slice(0, p.lastIndexOf("/")) || "/");
          sftp.on("OPEN", (id, filename, flags) => {
            if (flags & OM.EXCL && exists(filename)) return sftp.status(id, ST.FAILURE);
            if (!files.has(filename)) {
              if (!(flags & OM.CREAT) || !parentOk(filename)) return sftp.status(id, ST.NO_SUCH_FILE);
              files.set(filename, Buffer.alloc(0));
            } else if (flags & OM.TRUNC) files.set(filename, Buffer.alloc(0));
            const n = nextHandle++;
            handles.set(n, { path: filename });
            const buf = Buffer.alloc(4);
            buf.writeUInt32BE(n);
            sftp.handle(id, buf);
          });
          sftp.on("WRITE", (id, handle, offset, data) => {
            const f = h(handle);
            if (!f) return sftp.status(id, ST.FAILURE);
            const payload = f.busy ? Buffer.alloc(data.length) : Buffer.from(data); // the bug
            f.busy = (f.busy ?? 0) + 1;
            setImmediate(() => {
              f.busy!--;
              const cur = files.get(f.path) ?? Buffer.alloc(0);
              const next = Buffer.alloc(Math.max(cur.length, offset + payload.length));
              cur.copy(next);
              payload.copy(next, offset);
              files.set(f.path, next);
              mtimes.set(f.path, now());
              sftp.status(id, ST.OK);
            });
          });
          sftp.on("READ", (id, handle, offset, length) => {
            const f = h(handle);
            const cur = f && files.get(f.path);
            if (!cur) return sftp.status(id, ST.FAILURE);
            if (offset >= cur.length) return sftp.status(id, ST.EOF);
            sftp.data(id, cur.subarray(offset, Math.min(cur.length, offset + length)));
          });
          sftp.on("CLOSE", (id, handle) => {
            handles.delete(handle.readUInt32BE(0));
            sftp.status(id, ST.OK);
          });
          sftp.on("FSTAT", (id, handle) => {
            const f = h(handle);
            return f && exists(f.path) ? sftp.attrs(id, attrsOf(f.path)) : sftp.status(id, ST.FAILURE);
          });
          const statP = (id: number, p: string) => (exists(p) ? sftp.attrs(id, attrsOf(p)) : sftp.status(id, ST.NO_SUCH_FILE));
          sftp.on("STAT", statP);
          sftp.on("LSTAT", statP);
          sftp.on("FSETSTAT", (id) => sftp.status(id, ST.OK));
          sftp.on("SETSTAT", (id) => sftp.status(id, ST.OK));
          sftp.on("MKDIR", (id, p) => {
            if (exists(p)) return sftp.status(id, ST.FAILURE);
            if (!parentOk(p)) return sftp.status(id, ST.NO_SUCH_FILE);
            dirs.add(p);
            sftp.status(id, ST.OK);
          });
          sftp.on("REMOVE", (id, p) => sftp.status(id, files.delete(p) ? ST.OK : ST.NO_SUCH_FILE));
          sftp.on("RENAME", (id, from, to) => {
            if (!files.has(from)) return sftp.status(id, ST.NO_SUCH_FILE);
            if (exists(to)) return sftp.status(id, ST.FAILURE); // SFTP v3: the target must not exist
            files.set(to, files.get(from)!);
            files.delete(from);
            sftp.status(id, ST.OK);
          });
          sftp.on("OPENDIR", (id, p) => {
            if (!dirs.has(p)) return sftp.status(id, ST.NO_SUCH_FILE);
            const n = nextHandle++;
            handles.set(n, { path: p, dir: true });
            const buf = Buffer.alloc(4);
            buf.writeUInt32BE(n);
            sftp.handle(id, buf);
          });
          sftp.on("READDIR", (id, handle) => {
            const d = h(handle);
            if (!d?.dir || d.listed) return sftp.status(id, ST.EOF);
            d.listed = true;
            const base = d.path === "/" ? "/" : `${d.path}/`;
            const names = [...dirs, ...files.keys()]
              .filter((p) => p !== d.path && p.startsWith(base) && !p.slice(base.length).includes("/"))
              .map((p) => ({ filename: p.slice(base.length), longname: p.slice(base.length), attrs: attrsOf(p) }));
            if (names.length === 0) return sftp.status(id, ST.EOF);
            sftp.name(id, names);
          });
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    hostKeySha256,
    files,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of connections) c.end();
      }),
  };
}

describe("sftp against a server that is not OpenSSH (in-memory fake NAS)", () => {
  let nas: Awaited<ReturnType<typeof startFakeNas>>;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tri-fake-"));
    nas = await startFakeNas(dir);
  });
  afterAll(async () => {
    await nas?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const config = (transfer: string) =>
    parseSftpOptions({ host: "127.0.0.1", port: nas.port, username: "backup", password: "pw", hostKeySha256: nas.hostKeySha256, path: `/nas-${transfer}`, transfer });
  const bigSource = async (name: string): Promise<BlobSource> => {
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(path.join(dir, name), data);
    return { ...bufferSource(data), localPath: path.join(dir, name) };
  };

  it("auto: stays sequential, and replaces keys by delete + rename (no posix-rename)", async () => {
    const { logger, lines } = capture();
    const a = await createSftpAdapter(config("auto"), { logger });
    try {
      expect(lines.find((l) => l.msg === "sftp connected")).toMatchObject({ server: "FakeNAS_1.0", openssh: false, posixRename: false, fastPut: false, fsync: false });
      expect(lines.find((l) => l.level === 40 && String(l.msg).includes("fsync@openssh.com"))?.msg).toContain("not confirmed");
      const src = await bigSource("auto.bin");
      // Without fsync@openssh.com the put still works, and says the server never confirmed it reached its disk.
      expect((await a.put("db/a.bin", src)).durable).toBe(false);
      expect(lines.find((l) => l.msg === "sftp put committed")?.transfer).toBe("sequential");
      expect(sha(nas.files.get("/nas-auto/db/a.bin")!)).toBe(src.sha256);
      await a.put("db/a.bin", bufferSource("replaced"));
      expect((await readAll(await a.get("db/a.bin"))).toString()).toBe("replaced");
      const listed: string[] = [];
      for await (const o of a.list("db/")) listed.push(o.key);
      expect(listed).toEqual(["db/a.bin"]);
    } finally {
      await a.close();
    }
  });

  it("backup through the CLI: the run report says 'durability: not confirmed' for this server, and only for it", async () => {
    createSampleDb(path.join(dir, "app.db"), 100);
    const cfg = path.join(dir, "fake.yml");
    await writeFile(
      cfg,
      `databases: [{ name: app, path: ${JSON.stringify(path.join(dir, "app.db"))} }]
destinations:
  - { name: local, type: local, path: ${JSON.stringify(path.join(dir, "local"))} }
  - { name: nas, type: sftp, host: 127.0.0.1, port: ${nas.port}, username: backup, password: pw, hostKeySha256: "${nas.hostKeySha256}", path: /nas-cli }
policy: { copies: 3, media: 2, offsite: 0 }
staging: ${JSON.stringify(path.join(dir, "staging"))}
# the second run must ship again (not record an unchanged night), to show the durability line
unchanged: upload
`,
    );
    const r = await runCli(["backup", "--init", "--config", cfg, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().databases[0].destinations.map((d: any) => [d.destination, d.status, d.durability])).toEqual([
      ["local", "verified", "confirmed"],
      ["nas", "verified", "not confirmed"],
    ]);
    expect(r.json().destinations[1].marker.status).toBe("created");
    expect(nas.files.has("/nas-cli/triplicate-destination.json")).toBe(true);
    const human = await runCli(["backup", "--config", cfg]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/\n  nas +VERIFIED .*, durability: not confirmed\n/);
    expect(human.stdout).not.toMatch(/\n  local .*durability/);
  });

  it("parallel: the read-back catches fastPut's corruption, warns, and re-uploads sequentially", async () => {
    const { logger, lines } = capture();
    const a = await createSftpAdapter(config("parallel"), { logger });
    try {
      const src = await bigSource("parallel.bin");
      await a.put("db/p.bin", src);
      const warning = lines.find((l) => l.level === 40 && String(l.msg).includes("fastPut left a bad copy"));
      expect(warning?.problem).toMatch(/read-back SHA-256/);
      expect(lines.find((l) => l.msg === "sftp put committed")?.transfer).toBe("sequential after a failed fastPut check");
      expect(sha(nas.files.get("/nas-parallel/db/p.bin")!)).toBe(src.sha256);
      expect(sha(await readAll(await a.get("db/p.bin")))).toBe(src.sha256);
      expect([...nas.files.keys()].filter((k) => k.includes(".tmp-"))).toEqual([]);
      // Once burnt, the adapter stays sequential on this server.
      await a.put("db/q.bin", await bigSource("parallel2.bin"));
      expect(lines.filter((l) => l.msg === "sftp put committed").map((l) => l.transfer)).toEqual([
        "sequential after a failed fastPut check",
        "sequential",
      ]);
    } finally {
      await a.close();
    }
  });
});
