/**
 * A real OpenSSH sshd on 127.0.0.1 for the SFTP tests, set up the way
 * /work/shared/MACHINE.md section 3 checked by hand: its own temp folder,
 * fresh ed25519 host and client keys, an sshd_config with absolute paths,
 * `internal-sftp` only, `sshd -D -e` in the foreground on a free port.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, openSync, closeSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile, chmod } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const SSHD = "/usr/sbin/sshd";
const HOST = "127.0.0.1" as const;

export interface SshdServer {
  host: typeof HOST;
  port: number;
  username: string;
  privateKeyPath: string;
  /** OpenSSH form, "SHA256:<base64 without padding>", as `ssh-keygen -lf` prints it. */
  hostKeySha256: string;
  /** The host key line as it would appear in known_hosts, without the host part ("ssh-ed25519 AAAA..."). */
  hostPublicKey: string;
  /** Absolute path on this machine of the folder the SFTP session starts in; give it (or a child) to the adapter. */
  root: string;
  /** Scratch folder of this server (keys, config, log); removed by stop(). */
  dir: string;
  /** Kill every sshd process of this server and remove its temp folder. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the listener and every session process: a crashed NAS. */
  kill(): Promise<void>;
  /** Start sshd again after kill(), same port, same keys, same files. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT the listener and every session process: a hung NAS. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** What sshd wrote to stderr (LogLevel VERBOSE), for failure messages. */
  log(): Promise<string>;
}

/** `sftpUmask`: the umask the server applies to what clients create (internal-sftp -u), e.g. "000". */
export async function startSshd(opts: { sftpUmask?: string } = {}): Promise<SshdServer> {
  if (!existsSync(SSHD)) {
    throw new Error(`${SSHD} is missing; the SFTP tests need OpenSSH's server. Install it with: apt-get install -y openssh-server`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "tri-sshd-"));
  const keys = path.join(dir, "keys");
  const root = path.join(dir, "home");
  const logFile = path.join(dir, "sshd.log");
  const cfgFile = path.join(dir, "sshd_config");
  let proc: ChildProcess | undefined;
  try {
    await mkdir(keys, { recursive: true });
    await mkdir(root, { recursive: true });
    // Privilege separation needs this folder; it exists on a booted system but not in a fresh container.
    await mkdir("/run/sshd", { recursive: true, mode: 0o755 }).catch(() => undefined);

    await Promise.all([
      run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "triplicate-test-host", "-f", path.join(keys, "host_ed25519")]),
      run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "triplicate-test-client", "-f", path.join(keys, "client_ed25519")]),
    ]);
    const clientPub = await readFile(path.join(keys, "client_ed25519.pub"), "utf8");
    await writeFile(path.join(keys, "authorized_keys"), clientPub, { mode: 0o600 });
    await chmod(path.join(keys, "client_ed25519"), 0o600);

    const hostPublicKey = (await readFile(path.join(keys, "host_ed25519.pub"), "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
    const hostKeySha256 = "SHA256:" + createHash("sha256").update(Buffer.from(hostPublicKey.split(" ")[1], "base64")).digest("base64").replace(/=+$/, "");

    const port = await freePort();
    const username = os.userInfo().username;
    await writeFile(
      cfgFile,
      [
        `Port ${port}`,
        `ListenAddress ${HOST}`,
        `HostKey ${path.join(keys, "host_ed25519")}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${path.join(keys, "authorized_keys")}`,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "StrictModes no",
        "AllowTcpForwarding no",
        "X11Forwarding no",
        "Subsystem sftp internal-sftp",
        `ForceCommand internal-sftp${opts.sftpUmask ? ` -u ${opts.sftpUmask}` : ""} -d ${root}`,
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    await run(SSHD, ["-t", "-f", cfgFile]).catch((err: { stderr?: string }) => {
      throw new Error(`sshd rejected the test config: ${err.stderr ?? String(err)}`);
    });

    const launch = async (): Promise<void> => {
      const fd = openSync(logFile, "a");
      try {
        proc = spawn(SSHD, ["-D", "-e", "-f", cfgFile], { stdio: ["ignore", fd, fd] });
      } finally {
        closeSync(fd);
      }
      const exited = new Promise<never>((_, reject) => {
        proc!.once("exit", async (code, signal) =>
          reject(new Error(`sshd exited during start-up (code ${code}, signal ${signal}):\n${await readFile(logFile, "utf8").catch(() => "")}`)),
        );
        proc!.once("error", reject);
      });
      exited.catch(() => undefined);
      await Promise.race([waitForBanner(port, 10_000), exited]);
    };

    let stopped = false;
    const pids = async (): Promise<number[]> => (proc?.pid && proc.exitCode === null && proc.signalCode === null ? [proc.pid, ...(await descendants(proc.pid))] : []);
    const signalAll = async (sig: NodeJS.Signals): Promise<void> => {
      for (const pid of await pids()) {
        try {
          process.kill(pid, sig);
        } catch {
          /* already gone */
        }
      }
    };
    const killAndWait = async (): Promise<void> => {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => p.once("exit", () => resolve()));
      // Deepest processes first, so no session outlives the listener (SIGKILL also ends stopped ones).
      const all = await pids();
      for (const pid of all.reverse()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
      await gone;
    };

    await launch();
    return {
      host: HOST,
      port,
      username,
      privateKeyPath: path.join(keys, "client_ed25519"),
      hostKeySha256,
      hostPublicKey,
      root,
      dir,
      async stop() {
        if (stopped) return;
        stopped = true;
        await killAndWait();
        await rm(dir, { recursive: true, force: true });
      },
      kill: killAndWait,
      async restart() {
        await killAndWait();
        await launch();
      },
      pause: () => signalAll("SIGSTOP"),
      resume: () => signalAll("SIGCONT"),
      log: () => readFile(logFile, "utf8").catch(() => ""),
    };
  } catch (err) {
    if (proc?.pid && proc.exitCode === null) proc.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A port nobody listens on right now: bind 0 on loopback, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the port answers with an SSH identification line. */
async function waitForBanner(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host: HOST, port });
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(1_000, () => done(false));
      sock.once("data", (d) => done(d.toString("latin1").startsWith("SSH-")));
      sock.once("error", () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on ${HOST}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every process whose ancestry leads to `pid` (Linux /proc). */
async function descendants(pid: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const name of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    // Field 4 is the parent pid; field 2 (comm) may contain spaces, so parse after the last ')'.
    const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = Number(after[1]);
    if (Number.isFinite(ppid)) parent.set(Number(name), ppid);
  }
  const out: number[] = [];
  const frontier = [pid];
  while (frontier.length) {
    const p = frontier.pop()!;
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        frontier.push(child);
      }
    }
  }
  return out;
}
