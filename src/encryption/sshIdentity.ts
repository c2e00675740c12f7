/**
 * encryption/: an SSH private key file given as `--identity`. ssh2's key
 * parser reads the OpenSSH format (and opens a passphrase-protected key);
 * only Ed25519 keys can be age identities here, so anything else is refused
 * with the key type named. Error texts never quote key material.
 */
import ssh2 from "ssh2";
import { SshEd25519Identity, seedFromPkcs8Pem } from "./sshEd25519.js";

/** The environment variable a passphrase-protected SSH identity is opened with. */
export const IDENTITY_PASSPHRASE_ENV = "TRIPLICATE_IDENTITY_PASSPHRASE";

/** The identity in an SSH private key file, or what is wrong with it (naming the file and the fix). */
export function parseSshIdentity(file: string, text: string, passphrase?: string): SshEd25519Identity | string {
  const parsed = ssh2.utils.parseKey(text, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || !key) {
    const why = key instanceof Error ? key.message : "no key found";
    if (/no passphrase given/i.test(why)) {
      return `${file} is an SSH private key protected by a passphrase: set ${IDENTITY_PASSPHRASE_ENV} to it for this command (it is never logged), or give an age identity file (AGE-SECRET-KEY-1…)`;
    }
    if (/bad passphrase|integrity check failed/i.test(why)) {
      return passphrase
        ? `${file}: the passphrase in ${IDENTITY_PASSPHRASE_ENV} does not open this SSH private key; check it and try again`
        : `${file}: this SSH private key fails its own integrity check (a damaged key file); give an intact copy of the key`;
    }
    return `${file} looks like a private key but cannot be read as an OpenSSH key (${why}); give an Ed25519 SSH private key (ssh-keygen -t ed25519) or an age identity file (AGE-SECRET-KEY-1…)`;
  }
  if (key.type !== "ssh-ed25519") {
    return `${file} is an ${key.type} SSH key; only ssh-ed25519 SSH keys can be age identities here. Give the Ed25519 key the backups were encrypted to, or an age identity file (AGE-SECRET-KEY-1…)`;
  }
  if (!key.isPrivateKey()) return `${file} holds a public key; --identity needs the private key (id_ed25519, not id_ed25519.pub)`;
  try {
    const identity = new SshEd25519Identity(seedFromPkcs8Pem(key.getPrivatePEM()));
    // The file's own public half must be the key the seed gives, or the file is inconsistent.
    const fromFile = `ssh-ed25519 ${key.getPublicSSH().toString("base64")}`;
    if (fromFile !== identity.recipient) return `${file}: its private and public halves do not match (a damaged key file)`;
    return identity;
  } catch (err) {
    return `${file}: cannot use this Ed25519 key (${(err as Error).message})`;
  }
}
