/**
 * An OpenSSH "NAS" in its own container (the image test/containers/build.sh
 * makes from Debian's packages), for the suites that need what a process on
 * loopback cannot give: a whole machine that freezes (docker pause) or
 * reboots (docker restart). Host networking: sshd binds 127.0.0.1 on a port
 * we chose, so the tests still talk to loopback only, and the port survives
 * a restart (a mapped port would not). The NAS's disk is a host folder
 * mounted at /srv/nas, so a test can watch partial uploads from outside.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { StartedTestContainer } from "testcontainers";
import { dockerEngineAnswers } from "./docker.js";
import { freePort } from "./sshd.js";

const run = promisify(execFile);
export const NAS_IMAGE = process.env.TRIPLICATE_SSHD_IMAGE ?? "local/triplicate-sshd:current";
const REMOTE_ROOT = "/srv/nas";

export interface NasContainer {
  host: "127.0.0.1";
  port: number;
  username: string;
  privateKeyPath: string;
  hostKeySha256: string;
  /** The SFTP path of the NAS's disk, inside the container. */
  root: string;
  /** The same disk as seen from this machine (a bind mount). */
  hostRoot: string;
  container: StartedTestContainer;
  /** Freezes every process of the NAS (cgroup freezer): connections stay open, nothing answers. */
  pause(): Promise<void>;
  unpause(): Promise<void>;
  /** A reboot: sshd is stopped and started again, every session is cut; same port, keys and disk. */
  restart(): Promise<void>;
  /** Stops and removes the container and its folders. Idempotent. */
  stop(): Promise<void>;
}

/** Why the container suites cannot run here, or undefined when they can. */
export async function whyNoNasContainer(): Promise<string | undefined> {
  if (!(await dockerEngineAnswers())) return "no Docker engine answers here (as root: bash test/prereqs.sh starts one)";
  // Asked of the same engine testcontainers will use (not the docker CLI, whose DOCKER_HOST may differ).
  const { getContainerRuntimeClient, ImageName } = await import("testcontainers");
  const client = await getContainerRuntimeClient();
  const present = await client.image.exists(ImageName.fromString(NAS_IMAGE)).catch(() => false);
  if (!present) return `the image ${NAS_IMAGE} is not built (as root: bash test/prereqs.sh builds it)`;
  return undefined;
}

function sshdConfig(port: number): string {
  return [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    "HostKey /etc/triplicate/host_ed25519",
    "PidFile /run/sshd.pid",
    "AuthorizedKeysFile /etc/triplicate/authorized_keys",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "PermitRootLogin prohibit-password",
    "StrictModes no",
    "AllowTcpForwarding no",
    "X11Forwarding no",
    "Subsystem sftp internal-sftp",
    `ForceCommand internal-sftp -d ${REMOTE_ROOT}`,
    "LogLevel VERBOSE",
    "",
  ].join("\n");
}

export async function startNasContainer(): Promise<NasContainer> {
  const { GenericContainer, getContainerRuntimeClient } = await import("testcontainers");
  const engine = await getContainerRuntimeClient();
  const dir = await mkdtemp(path.join(os.tmpdir(), "tri-nasc-"));
  const keys = path.join(dir, "keys");
  const hostRoot = path.join(dir, "disk");
  let container: StartedTestContainer | undefined;
  try {
    await mkdir(keys);
    await mkdir(hostRoot, { mode: 0o755 });
    await Promise.all(
      ["host", "client"].map((k) => run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `triplicate-nas-${k}`, "-f", path.join(keys, k)])),
    );
    await chmod(path.join(keys, "client"), 0o600);
    const hostPub = (await readFile(path.join(keys, "host.pub"), "utf8")).trim().split(/\s+/)[1];
    const hostKeySha256 = "SHA256:" + createHash("sha256").update(Buffer.from(hostPub, "base64")).digest("base64").replace(/=+$/, "");
    const port = await freePort();
    container = await new GenericContainer(NAS_IMAGE)
      .withNetworkMode("host")
      .withBindMounts([{ source: hostRoot, target: REMOTE_ROOT, mode: "rw" }])
      .withCopyContentToContainer([
        { content: sshdConfig(port), target: "/etc/triplicate/sshd_config", mode: 0o644 },
        { content: await readFile(path.join(keys, "host"), "utf8"), target: "/etc/triplicate/host_ed25519", mode: 0o600 },
        { content: await readFile(path.join(keys, "client.pub"), "utf8"), target: "/etc/triplicate/authorized_keys", mode: 0o600 },
      ])
      .withCommand(["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/triplicate/sshd_config"])
      .start();
    await waitForBanner(port, 15_000);
    const c = container;
    // testcontainers has no pause; dockerode (under it) has, on the same engine.
    const raw = engine.container.getById(c.getId());
    let stopped = false;
    return {
      host: "127.0.0.1",
      port,
      username: "root",
      privateKeyPath: path.join(keys, "client"),
      hostKeySha256,
      root: REMOTE_ROOT,
      hostRoot,
      container: c,
      pause: () => raw.pause().then(() => undefined),
      unpause: () => raw.unpause().then(() => undefined),
      async restart() {
        await c.restart({ timeout: 2 });
        await waitForBanner(port, 15_000);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await raw.unpause().catch(() => undefined); // a frozen container cannot be stopped cleanly
        await c.stop({ timeout: 2 });
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await container?.stop({ timeout: 1 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Resolves once 127.0.0.1:port answers with an SSH identification line. */
async function waitForBanner(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host: "127.0.0.1", port });
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(1_000, () => done(false));
      sock.once("data", (d) => done(d.toString("latin1").startsWith("SSH-")));
      sock.once("error", () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the NAS container did not answer SSH on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
