/**
 * encryption/: age (age-encryption.org/v1) through typage, the age author's
 * JavaScript implementation. The backup host holds public keys only; the
 * identity (private key) is read from a file given to restore or a deep check.
 */
import type { Duplex } from "node:stream";
import { Decrypter, Encrypter, identityToRecipient } from "age-encryption";
import { webTransformDuplex } from "./webBridge.js";

/**
 * Recipient kinds this version can encrypt to. typage 0.3 has no
 * ssh-ed25519 or ssh-rsa recipients (the Go age CLI does), so those are a
 * config error that says so rather than a silent skip. Post-quantum
 * (age1pq1…) recipients are refused too: Debian's age 1.1 cannot open them,
 * and a manual recovery with the age CLI is a promise of this tool.
 */
export function recipientProblem(recipient: string): string | null {
  if (/^ssh-(ed25519|rsa)\s/.test(recipient)) {
    return `SSH recipients (${recipient.split(/\s/)[0]}) are not supported: the age library used here (typage 0.3) cannot encrypt to them. Use an age X25519 public key (age1…, made with age-keygen)`;
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

function short(s: string): string {
  return s.length > 24 ? `${s.slice(0, 20)}…` : s;
}

/** A transform from compressed bytes to an age file for `recipients` (already validated). */
export function encryptStream(recipients: string[]): Duplex {
  const enc = new Encrypter();
  for (const r of recipients) enc.addRecipient(r);
  return webTransformDuplex((input) => enc.encrypt(input));
}

/** Age identities loaded from one file, with the public key each one answers to. */
export interface AgeKeys {
  file: string;
  identities: string[];
  recipients: string[];
}

/** The problem with an identity file's text, or the keys it holds. */
export async function parseIdentityFile(file: string, text: string): Promise<AgeKeys | string> {
  if (/-----BEGIN (OPENSSH|RSA) PRIVATE KEY-----/.test(text)) {
    return `${file} is an SSH private key; SSH identities are not supported by this version (typage 0.3 has no ssh-ed25519): give an age identity file (AGE-SECRET-KEY-1…)`;
  }
  // The age identity file format: one key per line, '#' comments and blank lines allowed.
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
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
