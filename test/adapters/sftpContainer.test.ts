import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { openAdapter } from "../../adapters/index.js";
import type { DestinationConfig } from "../../src/config/schema.js";
import { bufferSource, readAll } from "../helpers/blob.js";
import { createSftpAdapter, parseSftpOptions } from "../../adapters/sftp/index.js";
import { describeAdapterContract } from "./contract.js";
import { noteSkipped } from "../helpers/docker.js";
import { startNasContainer, whyNoNasContainer, NAS_IMAGE, type NasContainer } from "../helpers/nasContainer.js";

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

  describe("sftp adapter across a NAS reboot (OpenSSH container)", () => {
    let nas: NasContainer;
    beforeAll(async () => {
      nas = await startNasContainer();
    }, 60_000);
    afterAll(async () => nas?.stop(), 30_000);

    it("one open adapter (as a run holds it) reconnects on the next operation after the NAS restarts", async () => {
      const dest = {
        name: "nas",
        type: "sftp",
        host: nas.host,
        port: nas.port,
        username: nas.username,
        privateKeyPath: nas.privateKeyPath,
        hostKeySha256: nas.hostKeySha256,
        path: `${nas.root}/reboot`,
        connectTimeoutSeconds: 5,
        stallSeconds: 5,
        timeoutSeconds: 60,
        retry: { retries: 2, minDelayMs: 200, maxDelayMs: 500 },
      };
      const a = await openAdapter(dest as unknown as DestinationConfig, { logger: pino({ level: "silent" }), createRoot: true });
      try {
        await a.put("app/before.txt", bufferSource("before the reboot"));
        await nas.restart();
        await a.put("app/after.txt", bufferSource("after the reboot"));
        expect((await readAll(await a.get("app/before.txt"))).toString()).toBe("before the reboot");
        expect((await a.stat("app/after.txt")).size).toBe(16);
      } finally {
        await a.close();
      }
    }, 60_000);
  });
} else {
  noteSkipped("sftp contract against an OpenSSH container", why);
  describe.skip(`sftp (OpenSSH container) — skipped: ${why}`, () => {
    it("adapter contract against the OpenSSH container", () => undefined);
  });
}
