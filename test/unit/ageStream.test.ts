import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { decryptStream, encryptStream, parseIdentityFile, recipientProblem } from "../../src/encryption/age.js";

async function through(input: Buffer, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  // Odd chunk sizes, so age's 64 KiB chunks never line up with the writes.
  const chunks = [];
  for (let i = 0; i < input.length; i += 10_007) chunks.push(input.subarray(i, i + 10_007));
  await pipeline(Readable.from(chunks), transform, new Writable({ write: (c, _e, done) => (out.push(c), done()) }));
  return Buffer.concat(out);
}

describe("age streams (typage through a Node Duplex)", () => {
  it("round-trips bytes of every awkward size", async () => {
    const identity = await generateIdentity();
    const keys = await parseIdentityFile("key.txt", `# a comment\n\n${identity}\n`);
    if (typeof keys === "string") throw new Error(keys);
    for (const size of [0, 1, 65_536, 65_537, 3 * 65_536 + 5, 2_000_000]) {
      const plain = randomBytes(size);
      const sealed = await through(plain, encryptStream(keys.recipients));
      expect(sealed.subarray(0, 22).toString()).toBe("age-encryption.org/v1\n");
      expect((await through(sealed, decryptStream(keys))).equals(plain)).toBe(true);
    }
  });

  it("a flipped byte or a wrong key fails the pipeline instead of hanging", async () => {
    const identity = await generateIdentity();
    const keys = (await parseIdentityFile("k", identity)) as Exclude<Awaited<ReturnType<typeof parseIdentityFile>>, string>;
    const sealed = await through(randomBytes(300_000), encryptStream(keys.recipients));
    const rotted = Buffer.from(sealed);
    rotted[200_000] ^= 1;
    await expect(through(rotted, decryptStream(keys))).rejects.toThrow();
    const other = (await parseIdentityFile("o", await generateIdentity())) as typeof keys;
    await expect(through(sealed, decryptStream(other))).rejects.toThrow(/identit/i);
    await expect(through(sealed.subarray(0, 100_000), decryptStream(keys))).rejects.toThrow();
  });

  it("says plainly which recipients and identity files it cannot use", async () => {
    expect(recipientProblem(await identityToRecipient(await generateIdentity()))).toBeNull();
    expect(recipientProblem("ssh-ed25519 AAAAC3Nza me@host")).toMatch(/its key data is not valid base64/);
    expect(recipientProblem("ssh-rsa AAAAB3NzaC1yc2E me@host")).toMatch(/ssh-rsa recipients are not supported/);
    expect(recipientProblem("age1zzz")).toMatch(/not an age X25519 public key/);
    expect(await parseIdentityFile("id", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n")).toMatch(/cannot be read as an OpenSSH key/);
    expect(await parseIdentityFile("id", "# only a comment\n")).toMatch(/holds no age identity/);
    expect(await parseIdentityFile("id", "AGE-SECRET-KEY-1NOTAKEY\n")).toMatch(/not a valid age identity/);
  });
});
