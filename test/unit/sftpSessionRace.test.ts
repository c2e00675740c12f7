import { describe, expect, it } from "vitest";
import { EventEmitter } from "node:events";
import type SftpClient from "ssh2-sftp-client";
import type { SFTPWrapper } from "ssh2";
import { newSession } from "../../adapters/sftp/connection.js";
import { race, req } from "../../adapters/sftp/session.js";

/** A session on a fake channel: only what newSession touches. */
function session() {
  const channel = new EventEmitter() as unknown as SFTPWrapper;
  return { s: newSession({} as SftpClient, undefined, channel), channel };
}

describe("sftp requests raced against the session's loss", () => {
  it("a settled request leaves nothing behind on the session (a fleet's replies are not kept until the run ends)", async () => {
    const { s } = session();
    for (let i = 0; i < 1000; i++) {
      await req<Buffer>(s, (cb) => setImmediate(() => cb(null, Buffer.alloc(1024))));
      await race(s, Promise.reject(new Error("no such file"))).catch(() => undefined);
    }
    expect(s.lossListeners.size).toBe(0);
  });

  it("a request in flight fails the moment the connection is lost, and later ones fail at once", async () => {
    const { s, channel } = session();
    const hanging = req(s, () => undefined); // a server that never answers
    expect(s.lossListeners.size).toBe(1);
    channel.emit("close");
    await expect(hanging).rejects.toThrow(/the SFTP channel closed/);
    expect(s.lossListeners.size).toBe(0);
    await expect(req(s, (cb) => cb(null, 1))).rejects.toThrow(/the SFTP channel closed/);
  });
});
