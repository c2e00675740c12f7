/**
 * encryption/: age (age-encryption.org/v1) through typage, the age author's
 * JavaScript implementation, plus the ssh-ed25519 recipient type it lacks
 * (sshEd25519.ts). The backup host holds public keys only; the identity
 * (private key) is read from a file given to restore or a deep check.
 */
import type { Duplex } from "node:stream";
import { Decrypter, Encrypter, identityToRecipient, type Identity } from "age-encryption";
import { webTransformDuplex } from "./webBridge.js";
import { parseSshEd25519PublicKey, SshEd25519Recipient } from "./sshEd25519.js";
import { parseSshIdentity } from "./sshIdentity.js";

/**
 * Recipient kinds this version can encrypt to: age X25519 keys (age1…) and
 * Ed25519 SSH keys. ssh-rsa is a config error that says so rather than a
 * silent skip. Post-quantum (age1pq1…) recipients are refused too: Debian's
 * age 1.1 cannot open them, and a manual recovery with the age CLI is a
 * promise of this tool.
 */
export function recipientProblem(recipient: string): string | null {
  if (/^ssh-rsa\s/.test(recipient)) {
    return `ssh-rsa recipients are not supported (only ssh-ed25519 SSH keys are): use an Ed25519 SSH key (ssh-keygen -t ed25519) or an age X25519 public key (age1…, made with age-keygen)`;
  }
  if (/^ssh-ed25519\s/.test(recipient)) {
    const key = parseSshEd25519PublicKey(recipient);
    return typeof key === "string" ? `"${short(recipient)}" is ${key}` : null;
  }
  if (!/^age1[02-9ac-hj-np-z]{58}$/.test(recipient)) {
    return `"${short(recipient)}" is not an age X25519 public key (age1 followed by 58 bech32 characters, as printed by age-keygen)`;
  }
  try {
    new Encrypter().addRecipient(recipient);
  } catch (err) {
    return `"${short(recipient)}" is not a valid age public key: ${(err as Error).message}`;
  }
  return null;
}

/**
 * The form a recipient is recorded and matched in: an age key as it is, an
 * SSH key as `ssh-ed25519 <key>` without its comment (a comment is not key
 * material, and editing it must not look like a key change).
 */
export function canonicalRecipient(recipient: string): string {
  const trimmed = recipient.trim();
  // A valid key's base64 round-trips (parseSshEd25519PublicKey insists), so its first two fields are its canonical form.
  return /^ssh-ed25519\s/.test(trimmed) ? trimmed.split(/\s+/, 2).join(" ") : trimmed;
}

function short(s: string): string {
  return s.length > 24 ? `${s.slice(0, 20)}…` : s;
}

/** A transform from compressed bytes to an age file for `recipients` (already validated). */
export function encryptStream(recipients: string[]): Duplex {
  const enc = new Encrypter();
  for (const r of recipients) {
    const ssh = /^ssh-ed25519\s/.test(r) ? parseSshEd25519PublicKey(r) : null;
    if (typeof ssh === "string") throw new Error(`encryption recipient "${short(r)}" is ${ssh}`);
    enc.addRecipient(ssh ? new SshEd25519Recipient(ssh) : r);
  }
  return webTransformDuplex((input) => enc.encrypt(input));
}

/** Age identities loaded from one file, with the public key each one answers to. */
export interface AgeKeys {
  file: string;
  /** age identity strings (AGE-SECRET-KEY-1…) or SSH identities. */
  identities: (string | Identity)[];
  /** The public key each identity answers to, in canonical form (canonicalRecipient). */
  recipients: string[];
}

/** The problem with an identity file's text, or the keys it holds. */
export async function parseIdentityFile(file: string, text: string, passphrase?: string): Promise<AgeKeys | string> {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    const ssh = parseSshIdentity(file, text, passphrase);
    return typeof ssh === "string" ? ssh : { file, identities: [ssh], recipients: [ssh.recipient] };
  }
  // The age identity file format: one key per line, '#' comments and blank lines allowed.
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (lines.some((l) => /^ssh-(ed25519|rsa) AAAA/.test(l))) return `${file} holds an SSH public key; --identity needs the private key (id_ed25519, not id_ed25519.pub)`;
  if (!lines.length) return `${file} holds no age identity (a line AGE-SECRET-KEY-1…, as written by age-keygen)`;
  const recipients: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(line)) return `${file}: line ${i + 1} of its keys is not an age X25519 identity (AGE-SECRET-KEY-1…)`;
    try {
      recipients.push(await identityToRecipient(line));
    } catch (err) {
      return `${file}: key ${i + 1} is not a valid age identity: ${(err as Error).message}`;
    }
  }
  return { file, identities: lines, recipients };
}

/** A transform from an age file to its plaintext, decrypting with `keys`. */
export function decryptStream(keys: AgeKeys): Duplex {
  const dec = new Decrypter();
  for (const id of keys.identities) dec.addIdentity(id);
  return webTransformDuplex((input) => dec.decrypt(input));
}
