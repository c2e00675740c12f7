/**
 * encryption/: which identity opens which copy. Both failures here are the
 * operator's input, not the copy's state, so they are usage errors (exit 2):
 * a copy is never called damaged, and no failed proof is recorded, because
 * the key given to open it was missing or the wrong one.
 */
import { readFile } from "node:fs/promises";
import { UsageError } from "../runtime/errors.js";
import { canonicalRecipient, parseIdentityFile, type AgeKeys } from "./age.js";
import { IDENTITY_PASSPHRASE_ENV } from "./sshIdentity.js";

/** An encrypted copy, and no --identity to open it. */
export class MissingIdentityError extends UsageError {}
/** The identity given is not one the copy was encrypted to. */
export class WrongIdentityError extends UsageError {}

/**
 * Reads `--identity FILE` (an age identity file or an Ed25519 SSH private
 * key; a protected SSH key opens with the passphrase in `env`); every
 * problem names the file and the fix.
 */
export async function loadIdentity(file: string, env: NodeJS.ProcessEnv = {}): Promise<AgeKeys> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`--identity ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the age identity file (AGE-SECRET-KEY-1…) or Ed25519 SSH private key whose public key the backups were encrypted to`, { cause: err });
  }
  const parsed = await parseIdentityFile(file, text, env[IDENTITY_PASSPHRASE_ENV] || undefined);
  if (typeof parsed === "string") throw new UsageError(`--identity ${parsed}`);
  return parsed;
}

/** What a copy's manifest says about its encryption. */
export interface EncryptedCopy {
  db: string;
  snapshotId: string;
  encryption: { recipients: string[] } | null;
}

/**
 * Checks, before anything is downloaded or written, that `keys` can open
 * `copy`: the identity's public key must be one of the recipients in the
 * manifest. When it is and the age header still does not open, the copy is
 * what is wrong (restore/fetch.ts reports that as damage).
 */
export function requireIdentityFor(copy: EncryptedCopy, keys: AgeKeys | undefined, command: string): void {
  if (!copy.encryption) return;
  const to = copy.encryption.recipients.join(", ");
  if (!keys) {
    throw new MissingIdentityError(
      `${copy.db} snapshot ${copy.snapshotId} is encrypted with age to ${to}: ${command} needs the matching private key. Add --identity FILE (an age identity file, AGE-SECRET-KEY-1…, or the SSH private key of an ssh-ed25519 recipient); nothing was written`,
    );
  }
  // Manifests written before recipients were recorded in canonical form may carry an SSH key's comment.
  const recordedTo = new Set(copy.encryption.recipients.map(canonicalRecipient));
  if (!keys.recipients.some((r) => recordedTo.has(r))) {
    throw new WrongIdentityError(
      `--identity ${keys.file} (public key ${keys.recipients.join(", ")}) is not one of the recipients ${copy.db} snapshot ${copy.snapshotId} was encrypted to (${to}); give the identity file for one of those keys. The copy itself was not checked and is not marked damaged; nothing was written`,
    );
  }
}
