import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { canonicalRecipient, decryptStream, encryptStream, parseIdentityFile, recipientProblem, type AgeKeys } from "../../src/encryption/age.js";
import { tempDir } from "../helpers/cli.js";

async function through(input: Buffer, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([input]), transform, new Writable({ write: (c, _e, done) => (out.push(c), done()) }));
  return Buffer.concat(out);
}

function run(cmd: string, args: string[], input?: Buffer): Buffer {
  const r = spawnSync(cmd, args, { input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

let dir: string;
let cleanup: () => Promise<void>;
/** Two Ed25519 keys made by ssh-keygen, one of them behind a passphrase. */
let key: string, pub: string, other: string, locked: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("tri-ssh-age-"));
  key = path.join(dir, "id_ed25519");
  other = path.join(dir, "other");
  locked = path.join(dir, "locked");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ops@backup-host", "-f", key]);
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "correct horse", "-f", locked]);
  pub = (await readFile(`${key}.pub`, "utf8")).trim();
});
afterAll(async () => cleanup());

async function identity(file: string, passphrase?: string): Promise<AgeKeys> {
  const keys = await parseIdentityFile(file, await readFile(file, "utf8"), passphrase);
  if (typeof keys === "string") throw new Error(keys);
  return keys;
}

describe("age ssh-ed25519 recipients and identities", () => {
  it("accepts an authorized_keys line, records it without its comment, and refuses damaged or RSA keys", () => {
    expect(recipientProblem(pub)).toBeNull();
    expect(canonicalRecipient(pub)).toBe(pub.split(" ").slice(0, 2).join(" "));
    expect(canonicalRecipient(`  ${pub.replace("ops@backup-host", "renamed")}`)).toBe(canonicalRecipient(pub));
    const [type, b64] = pub.split(" ");
    const wire = Buffer.from(b64, "base64");
    // All-ones key bytes: y = 2^255 - 1 is above the field prime, so no point decodes from it.
    const offCurve = Buffer.from(wire);
    offCurve.fill(0xff, 19, 51);
    offCurve[50] = 0x7f;
    expect(recipientProblem(`${type} ${offCurve.toString("base64")}`)).toMatch(/not a point on the Ed25519 curve/);
    expect(recipientProblem(`${type} ${wire.subarray(0, 40).toString("base64")}`)).toMatch(/expected 51 bytes/);
    expect(recipientProblem(`${type} ${b64}A`)).toMatch(/not valid base64/);
    // The point (0, -1), of order 2: it maps to u = 0 on Curve25519, which no exchange may use.
    const lowOrder = Buffer.from(wire);
    lowOrder.fill(0xff, 19, 51);
    lowOrder[19] = 0xec;
    lowOrder[50] = 0x7f;
    expect(recipientProblem(`${type} ${lowOrder.toString("base64")}`)).toMatch(/low-order point/);
    expect(recipientProblem("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ me")).toMatch(/ssh-rsa recipients are not supported/);
  });

  it("round-trips through our recipient and our identity, and another key is refused", async () => {
    const plain = randomBytes(200_000);
    const sealed = await through(plain, encryptStream([pub]));
    expect(sealed.toString("latin1", 0, 200)).toMatch(/\n-> ssh-ed25519 [A-Za-z0-9+/]{6} [A-Za-z0-9+/]{43}\n/);
    const keys = await identity(key);
    expect(keys.recipients).toEqual([canonicalRecipient(pub)]);
    expect((await through(sealed, decryptStream(keys))).equals(plain)).toBe(true);
    await expect(through(sealed, decryptStream(await identity(other)))).rejects.toThrow(/identit/i);
  });

  it("the age CLI opens what we seal to an SSH key, and we open what it seals (beside an X25519 recipient)", async () => {
    const plain = randomBytes(150_000);
    const sealed = await through(plain, encryptStream([pub]));
    expect(run("age", ["-d", "-i", key], sealed).equals(plain)).toBe(true);

    const ageKey = await generateIdentity();
    const byCli = run("age", ["-r", await identityToRecipient(ageKey), "-R", `${key}.pub`], plain);
    expect(byCli.toString("latin1", 0, 300)).toContain("-> ssh-ed25519 ");
    expect((await through(byCli, decryptStream(await identity(key)))).equals(plain)).toBe(true);
    // Several recipients of both kinds in one file from us, opened by the CLI with each key.
    const both = await through(plain, encryptStream([await identityToRecipient(ageKey), pub]));
    const ageFile = path.join(dir, "age-key.txt");
    await writeFile(ageFile, `${ageKey}\n`);
    expect(run("age", ["-d", "-i", ageFile], both).equals(plain)).toBe(true);
    expect(run("age", ["-d", "-i", key], both).equals(plain)).toBe(true);
  });

  it("a passphrase-protected key opens only with its passphrase, and each failure says what to do", async () => {
    const text = await readFile(locked, "utf8");
    expect(await parseIdentityFile(locked, text)).toMatch(/protected by a passphrase: set TRIPLICATE_IDENTITY_PASSPHRASE/);
    expect(await parseIdentityFile(locked, text, "wrong")).toMatch(/does not open this SSH private key/);
    const keys = await identity(locked, "correct horse");
    const lockedPub = (await readFile(`${locked}.pub`, "utf8")).trim();
    const plain = randomBytes(1000);
    expect((await through(await through(plain, encryptStream([lockedPub])), decryptStream(keys))).equals(plain)).toBe(true);
    expect(await parseIdentityFile(`${key}.pub`, pub)).toMatch(/holds an SSH public key; --identity needs the private key/);
  });

  it("a damaged ssh-ed25519 stanza for our key is an error, not a skipped stanza", async () => {
    const sealed = await through(randomBytes(1000), encryptStream([pub]));
    const text = sealed.toString("latin1");
    const share = /-> ssh-ed25519 \S+ (\S+)\n/.exec(text)![1];
    const truncated = Buffer.from(text.replace(share, share.slice(0, 20)), "latin1");
    await expect(through(truncated, decryptStream(await identity(key)))).rejects.toThrow(/invalid ssh-ed25519 stanza/);
  });
});
