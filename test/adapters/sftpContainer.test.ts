import { describe, it } from "vitest";
import pino from "pino";
import { createSftpAdapter, parseSftpOptions } from "../../adapters/sftp/index.js";
import { describeAdapterContract } from "./contract.js";
import { noteSkipped } from "../helpers/docker.js";
import { startNasContainer, whyNoNasContainer, NAS_IMAGE } from "../helpers/nasContainer.js";

/**
 * The SFTP contract against OpenSSH in a container of its own (a NAS in its
 * own namespaces), from the image test/prereqs.sh builds locally. Where no
 * engine answers or the image is missing, skipped with a visible note; the
 * loopback sshd suite (sftp.test.ts) always runs.
 */
const why = await whyNoNasContainer();
if (!why) {
  describeAdapterContract(`sftp (OpenSSH container ${NAS_IMAGE} via testcontainers)`, async () => {
    const nas = await startNasContainer();
    try {
      const adapter = await createSftpAdapter(
        parseSftpOptions({
          host: nas.host,
          port: nas.port,
          username: nas.username,
          privateKeyPath: nas.privateKeyPath,
          hostKeySha256: nas.hostKeySha256,
          path: `${nas.root}/contract`,
        }),
        { logger: pino({ level: "silent" }), createRoot: true },
      );
      return { adapter, cleanup: () => nas.stop() };
    } catch (err) {
      await nas.stop();
      throw err;
    }
  });
} else {
  noteSkipped("sftp contract against an OpenSSH container", why);
  describe.skip(`sftp (OpenSSH container) — skipped: ${why}`, () => {
    it("adapter contract against the OpenSSH container", () => undefined);
  });
}
