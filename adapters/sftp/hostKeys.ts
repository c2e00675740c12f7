import { createHash, createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { ServerHostKeyAlgorithm } from "ssh2";
import { DestinationConfigError } from "../errors.js";

/**
 * Who the SFTP server is: the host key pin (a SHA-256 fingerprint or an
 * OpenSSH known_hosts file) checked during the handshake, before login.
 * Apart from the transport in index.ts because it is its own trust decision.
 */
type Ctx = { adapter: string; op: string; key?: string };

/** The settings this needs from an sftp destination. */
export interface HostKeySettings {
  host: string;
  hostKeySha256?: string;
  knownHostsPath?: string;
}


export interface HostKeyPin {
  accepts(key: Buffer): boolean;
  /** Why `offered` was refused, naming its fingerprint and what was expected. */
  mismatch(offered: Buffer): string;
  /** Host key algorithms to ask for, when known_hosts tells us which key types we can verify. */
  serverHostKey?: ServerHostKeyAlgorithm[];
  /** Why the handshake failed when the server has none of those key types. */
  noCommonKeyType(detail: string): string;
}

/** "SHA256:<base64 without padding>", as ssh-keygen -l prints it. */
export function fingerprintOf(key: Buffer): string {
  return "SHA256:" + createHash("sha256").update(key).digest("base64").replace(/=+$/, "");
}

export async function loadHostKeyPin(config: HostKeySettings, port: number, ctx: Ctx): Promise<HostKeyPin> {
  const where = `${config.host}:${port}`;
  const advice = `check the key out of band (ssh-keyscan -p ${port} ${config.host} | ssh-keygen -lf -) before trusting it; if it changed unexpectedly, someone may be intercepting the connection`;
  if (config.hostKeySha256) {
    const expected = config.hostKeySha256.replace(/=+$/, "");
    return {
      accepts: (key) => fingerprintOf(key) === expected,
      mismatch: (got) =>
        `host key verification failed for ${where}: the server offered ${fingerprintOf(got)}, but hostKeySha256 expects ${expected}; ${advice}`,
      noCommonKeyType: (detail) => `handshake with ${where} failed before a host key was offered: ${detail}`,
    };
  }
  const file = config.knownHostsPath!;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new DestinationConfigError(
      `cannot read knownHostsPath ${file} (${(err as NodeJS.ErrnoException).code ?? "error"}); create it with: ssh-keyscan -p ${port} ${config.host} >> ${file}`,
      { ...ctx, cause: err },
    );
  }
  const entries = parseKnownHosts(text).filter((e) => knownHostMatches(e.hosts, config.host, port));
  const trusted = entries.filter((e) => !e.marker);
  const revoked = entries.filter((e) => e.marker === "@revoked");
  const name = port === 22 ? config.host : `[${config.host}]:${port}`;
  const types = new Set(trusted.map((e) => e.type));
  const serverHostKey = HOST_KEY_ALGORITHMS.filter(([, type]) => types.has(type)).map(([alg]) => alg);
  return {
    accepts: (key) => !revoked.some((e) => e.key.equals(key)) && trusted.some((e) => e.key.equals(key)),
    mismatch: (offered) => {
      const got = fingerprintOf(offered);
      if (revoked.some((e) => e.key.equals(offered))) {
        return `host key verification failed for ${where}: the server offered ${got}, which ${file} marks @revoked; ${advice}`;
      }
      if (trusted.length === 0) {
        return `host key verification failed for ${where}: ${file} has no entry for ${name}; the server offered ${got}; ${advice}, then add it with: ssh-keyscan -p ${port} ${config.host} >> ${file}`;
      }
      const expected = trusted.map((e) => `${fingerprintOf(e.key)} (${e.type})`).join(", ");
      return `host key verification failed for ${where}: the server offered ${got}, but ${file} expects ${expected}; ${advice}`;
    },
    serverHostKey: serverHostKey.length ? serverHostKey : undefined,
    noCommonKeyType: (detail) =>
      `host key verification failed for ${where}: ${file} lists only ${[...types].join(", ")} keys for ${name}, and the server offers none of those types (${detail}); ${advice}, then add its key with: ssh-keyscan -p ${port} ${config.host} >> ${file}`,
  };
}

/** ssh2 algorithm names in its default preference order, with the known_hosts key type each verifies. */
const HOST_KEY_ALGORITHMS: [ServerHostKeyAlgorithm, string][] = [
  ["ssh-ed25519", "ssh-ed25519"],
  ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"],
  ["ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"],
  ["ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"],
  ["rsa-sha2-512", "ssh-rsa"],
  ["rsa-sha2-256", "ssh-rsa"],
  ["ssh-rsa", "ssh-rsa"],
];

interface KnownHost {
  marker?: "@revoked" | "@cert-authority";
  hosts: string;
  type: string;
  key: Buffer;
}

/** OpenSSH known_hosts lines: `[marker] hosts keytype base64 [comment]`. @cert-authority lines are kept but never trusted. */
export function parseKnownHosts(text: string): KnownHost[] {
  const out: KnownHost[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHost["marker"];
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") marker = fields.shift() as KnownHost["marker"];
    const [hosts, type, b64] = fields;
    if (!hosts || !type || !b64) continue;
    const key = Buffer.from(b64, "base64");
    if (key.length === 0) continue;
    out.push({ marker: marker === "@cert-authority" ? "@cert-authority" : marker, hosts, type, key });
  }
  return out.filter((e) => e.marker !== "@cert-authority");
}

/** Does a known_hosts host field name this host? OpenSSH looks up `host` on port 22, `[host]:port` otherwise. */
export function knownHostMatches(field: string, host: string, port: number): boolean {
  const name = port === 22 ? host : `[${host}]:${port}`;
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (!salt || !hash) return false;
    const mac = createHmacSha1(Buffer.from(salt, "base64"), name);
    return mac === hash;
  }
  let matched = false;
  for (const pattern of field.split(",")) {
    const negated = pattern.startsWith("!");
    const glob = negated ? pattern.slice(1) : pattern;
    if (globMatch(glob.toLowerCase(), name.toLowerCase())) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function createHmacSha1(key: Buffer, data: string): string {
  return createHmac("sha1", key).update(data).digest("base64");
}

function globMatch(glob: string, text: string): boolean {
  const re = new RegExp("^" + glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
  return re.test(text);
}

