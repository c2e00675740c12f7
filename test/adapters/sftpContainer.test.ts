import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, it } from "vitest";
import pino from "pino";
import { createSftpAdapter, parseSftpOptions } from "../../adapters/sftp/index.js";
import { describeAdapterContract } from "./contract.js";
import { dockerEngineAnswers, noteSkipped } from "../helpers/docker.js";

const run = promisify(execFile);

/**
 * The contract against a non-OpenSSH-configured SFTP container (atmoz/sftp),
 * only where a Docker engine answers. It has never run on the machine this
 * was written on (no engine there); the loopback sshd suite is the default.
 */
if (await dockerEngineAnswers()) {
  describeAdapterContract("sftp (atmoz/sftp container via testcontainers)", async () => {
    const { GenericContainer, Wait } = await import("testcontainers");
    const keys = await mkdtemp(path.join(os.tmpdir(), "tri-sftpc-"));
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(keys, "id")]);
    const container = await new GenericContainer(process.env.TRIPLICATE_SFTP_IMAGE ?? "atmoz/sftp:alpine")
      .withCommand(["backup::1001:1001:upload"])
      .withCopyContentToContainer([{ content: await readFile(path.join(keys, "id.pub"), "utf8"), target: "/home/backup/.ssh/keys/id.pub", mode: 0o644 }])
      .withExposedPorts(22)
      .withWaitStrategy(Wait.forLogMessage(/Server listening/))
      .start();
    const host = container.getHost();
    if (!["127.0.0.1", "::1", "localhost"].includes(host)) throw new Error(`the container is on ${host}; tests only use loopback`);
    const port = container.getMappedPort(22);
    const { stdout } = await run("sh", ["-c", `ssh-keyscan -t ed25519 -p ${port} 127.0.0.1 2>/dev/null | ssh-keygen -lf -`]);
    const hostKeySha256 = stdout.split(" ")[1];
    const adapter = await createSftpAdapter(
      parseSftpOptions({ host: "127.0.0.1", port, username: "backup", privateKeyPath: path.join(keys, "id"), hostKeySha256, path: "upload/contract" }),
      { logger: pino({ level: "silent" }) },
    );
    return {
      adapter,
      cleanup: async () => {
        await container.stop();
        await rm(keys, { recursive: true, force: true });
      },
    };
  });
} else {
  noteSkipped("sftp contract against an SFTP container via testcontainers");
  describe.skip("sftp (SFTP container via testcontainers) — skipped: no Docker engine", () => {
    it("adapter contract against atmoz/sftp (needs a Docker engine)", () => undefined);
  });
}
