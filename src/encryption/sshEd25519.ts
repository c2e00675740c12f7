/**
 * encryption/: age's `ssh-ed25519` recipient type, which typage 0.3 lacks.
 * It follows the age v1 format as the Go reference implementation (and the
 * age CLI packaged in Debian) writes and reads it, so a copy encrypted here
 * opens with `age -d -i ~/.ssh/id_ed25519` and the reverse:
 *
 * - the recipient's Ed25519 public key is mapped to its X25519 (Montgomery)
 *   form; the identity's X25519 scalar is the first half of SHA-512(seed);
 * - an ephemeral X25519 share meets that key, and the shared secret is then
 *   multiplied by a tweak, HKDF-SHA-256(ikm: empty, salt: the SSH wire key,
 *   info: LABEL), which binds the secret to this exact SSH key;
 * - the wrapping key is HKDF-SHA-256(ikm: the tweaked secret, salt: share ‖
 *   recipient X25519 key, info: LABEL), and the stanza body is the file key
 *   sealed with ChaCha20-Poly1305 under a zero nonce (the key is used once);
 * - the stanza is `-> ssh-ed25519 TAG SHARE`, TAG being the first 4 bytes of
 *   SHA-256(wire key), so an identity can tell its stanzas from others
 *   without trying them all.
 *
 * The curve, HKDF and AEAD primitives are the audited @noble libraries that
 * typage itself is built on; only this composition is ours, and
 * test/unit/sshEd25519.test.ts checks it against the age CLI both ways.
 */
import { createHash, createPrivateKey, randomBytes } from "node:crypto";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { Stanza, type Identity, type Recipient } from "age-encryption";

const LABEL = new TextEncoder().encode("age-encryption.org/v1/ssh-ed25519");
const TYPE = "ssh-ed25519";
const ZERO_NONCE = new Uint8Array(12);

/** An Ed25519 public key, as `ssh-ed25519 AAAA…` and as the bytes age works with. */
export interface SshEd25519PublicKey {
  /** `ssh-ed25519 <base64 wire key>`, without the comment: what manifests record and identities match. */
  canonical: string;
  /** The SSH wire encoding: string "ssh-ed25519", string key (51 bytes). */
  wire: Uint8Array;
  /** The same key on Curve25519. */
  montgomery: Uint8Array;
}

/** The authorized_keys line `ssh-ed25519 AAAA… [comment]` as a key, or what is wrong with it. */
export function parseSshEd25519PublicKey(line: string): SshEd25519PublicKey | string {
  const [type, b64] = line.trim().split(/\s+/);
  if (type !== TYPE || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return `not an "ssh-ed25519 AAAA…" public key line (as in id_ed25519.pub)`;
  const wire = Buffer.from(b64, "base64");
  // Buffer.from skips what it cannot decode: only a key that round-trips is the key that was pasted.
  if (wire.toString("base64") !== b64) return "its key data is not valid base64 (a truncated or mistyped line)";
  const key = readWireKey(wire);
  if (!key) return `its key data is not an ssh-ed25519 key (expected 51 bytes naming ssh-ed25519, found ${wire.length} bytes)`;
  let montgomery: Uint8Array;
  try {
    montgomery = ed25519.utils.toMontgomery(key);
  } catch {
    return "its key data is not a point on the Ed25519 curve (a damaged or truncated key)";
  }
  try {
    // A low-order point would fail every backup's encryption: refuse it with the config instead.
    x25519.getSharedSecret(x25519.utils.randomSecretKey(), montgomery);
  } catch {
    return "its key is a low-order point, which no real Ed25519 key is (a forged or damaged key)";
  }
  return { canonical: canonicalOf(wire), wire, montgomery };
}

/** `ssh-ed25519 <base64 wire key>`: how a key is recorded, and what an identity answers to. */
function canonicalOf(wire: Uint8Array): string {
  return `${TYPE} ${Buffer.from(wire).toString("base64")}`;
}

/** The 32-byte key inside a wire-encoded ssh-ed25519 public key, or null. */
function readWireKey(wire: Buffer): Uint8Array | null {
  if (wire.length !== 51 || wire.readUInt32BE(0) !== 11 || wire.subarray(4, 15).toString() !== TYPE || wire.readUInt32BE(15) !== 32) return null;
  return new Uint8Array(wire.subarray(19));
}

function wireOf(publicKey: Uint8Array): Uint8Array {
  const out = Buffer.alloc(51);
  out.writeUInt32BE(11, 0);
  out.write(TYPE, 4);
  out.writeUInt32BE(32, 15);
  Buffer.from(publicKey).copy(out, 19);
  return out;
}

function tagOf(wire: Uint8Array): string {
  return base64NoPad(createHash("sha256").update(wire).digest().subarray(0, 4));
}

function base64NoPad(b: Uint8Array): string {
  return Buffer.from(b).toString("base64").replace(/=+$/, "");
}

/** Strict unpadded base64, as age's header uses; null when `s` is not that. */
function fromBase64NoPad(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return null;
  const bytes = Buffer.from(s, "base64");
  return base64NoPad(bytes) === s ? new Uint8Array(bytes) : null;
}

/** The shared secret, tweaked to the SSH key; throws on a low-order point (an all-zero secret). */
function tweakedSecret(scalar: Uint8Array, point: Uint8Array, wire: Uint8Array): Uint8Array {
  const shared = x25519.getSharedSecret(scalar, point); // noble refuses an all-zero result
  const tweak = hkdf(sha256, new Uint8Array(0), wire, LABEL, 32);
  return x25519.scalarMult(tweak, shared);
}

function wrappingKey(secret: Uint8Array, share: Uint8Array, recipient: Uint8Array): Uint8Array {
  const salt = new Uint8Array(64);
  salt.set(share);
  salt.set(recipient, 32);
  return hkdf(sha256, secret, salt, LABEL, 32);
}

/** Encrypts age file keys to one Ed25519 SSH public key. */
export class SshEd25519Recipient implements Recipient {
  constructor(private readonly key: SshEd25519PublicKey) {}

  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    const ephemeral = new Uint8Array(randomBytes(32));
    const share = x25519.getPublicKey(ephemeral);
    const secret = tweakedSecret(ephemeral, this.key.montgomery, this.key.wire);
    const body = chacha20poly1305(wrappingKey(secret, share, this.key.montgomery), ZERO_NONCE).encrypt(fileKey);
    return [new Stanza([TYPE, tagOf(this.key.wire), base64NoPad(share)], body)];
  }
}

/** Decrypts age file keys sealed to an Ed25519 SSH key, from its 32-byte private seed. */
export class SshEd25519Identity implements Identity {
  private readonly scalar: Uint8Array;
  private readonly montgomery: Uint8Array;
  private readonly wire: Uint8Array;
  private readonly tag: string;
  /** `ssh-ed25519 AAAA…`: the recipient this identity answers to. */
  readonly recipient: string;

  constructor(seed: Uint8Array) {
    const publicKey = ed25519.getPublicKey(seed);
    this.wire = wireOf(publicKey);
    this.tag = tagOf(this.wire);
    this.scalar = ed25519.utils.toMontgomerySecret(seed);
    this.montgomery = ed25519.utils.toMontgomery(publicKey);
    this.recipient = canonicalOf(this.wire);
  }

  unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
    for (const s of stanzas) {
      if (s.args[0] !== TYPE) continue;
      // Age's rule: a malformed stanza of our type is an error, another key's stanza is skipped.
      const share = s.args.length === 3 ? fromBase64NoPad(s.args[2]) : null;
      if (!share || share.length !== 32 || s.body.length !== 32) throw new Error("invalid ssh-ed25519 stanza in the age header");
      if (s.args[1] !== this.tag) continue;
      const secret = tweakedSecret(this.scalar, share, this.wire);
      try {
        return chacha20poly1305(wrappingKey(secret, share, this.montgomery), ZERO_NONCE).decrypt(s.body);
      } catch {
        continue; // a 4-byte tag can collide: a stanza that does not open is someone else's
      }
    }
    return null;
  }
}

/** The private seed of an OpenSSH Ed25519 key, from the PKCS#8 PEM ssh2's key parser gives. */
export function seedFromPkcs8Pem(pem: string): Uint8Array {
  const jwk = createPrivateKey(pem).export({ format: "jwk" });
  if (jwk.crv !== "Ed25519" || !jwk.d) throw new Error("not an Ed25519 private key");
  return new Uint8Array(Buffer.from(jwk.d, "base64url"));
}
