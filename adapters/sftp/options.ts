/**
 * The options of an sftp destination, and the tunables of its transfers
 * (the measurements behind them are at the top of index.ts).
 */
import { z } from "zod";

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/**
 * Options of an sftp destination, as a plain shape so config.ts can spread it
 * into its own strictObject next to name/retention. Call checkSftpOptions on
 * the parsed object for the rules that span fields.
 */
export const sftpOptionsSchema = {
  host: z.string({ error: "host must name the SFTP server" }).min(1, { error: "host must name the SFTP server" }),
  port: z.number().int().min(1).max(65_535, { error: "port must be 1-65535" }).default(22),
  username: z.string({ error: "username is required" }).min(1, { error: "username is required" }),
  /** Private key file on this machine (OpenSSH or PEM format). */
  privateKeyPath: z.string().min(1).optional(),
  privateKeyPassphrase: z.string().optional(),
  password: z.string().optional(),
  /** The server's host key, as `ssh-keygen -lf` prints it: "SHA256:<base64 without padding>". */
  hostKeySha256: z
    .string()
    .regex(FINGERPRINT, { error: 'hostKeySha256 must look like "SHA256:" followed by 43 base64 characters, as printed by ssh-keygen -lf' })
    .optional(),
  /** An OpenSSH known_hosts file; plain and hashed (|1|) entries, for host or [host]:port. */
  knownHostsPath: z.string().min(1).optional(),
  /** Remote folder that holds `<db>/<snapshot>` files; absolute, or relative to the login folder. */
  path: z.string({ error: "path must name the remote folder" }).min(1, { error: "path must name the remote folder" }),
  /** "auto": parallel (fastPut) only against OpenSSH; "sequential" is safe on every server. */
  transfer: z.enum(["auto", "parallel", "sequential"], { error: "transfer must be auto, parallel or sequential" }).default("auto"),
  connectTimeoutSeconds: z.number().positive().max(600).default(20),
  /** SSH keepalive interval; the connection counts as lost after 3 unanswered ones. */
  keepaliveSeconds: z.number().positive().max(600).default(10),
};

const sftpConfigSchema = z.object(sftpOptionsSchema);
export type SftpConfig = z.output<typeof sftpConfigSchema>;
/** Parse helper for callers that hold raw options (tests, tools). */
export const parseSftpOptions = (raw: unknown): SftpConfig => sftpConfigSchema.parse(raw);

/** Problems that span fields, in plain words; empty when the options are usable. */
export function checkSftpOptions(o: Pick<SftpConfig, "host" | "port" | "privateKeyPath" | "privateKeyPassphrase" | "password" | "hostKeySha256" | "knownHostsPath">): string[] {
  const problems: string[] = [];
  if (!o.hostKeySha256 && !o.knownHostsPath) {
    problems.push(
      `hostKeySha256 or knownHostsPath is required: triplicate never connects to an unknown host; get the fingerprint with: ssh-keyscan -p ${o.port ?? 22} ${o.host} | ssh-keygen -lf -`,
    );
  }
  if (!o.privateKeyPath && o.password === undefined) {
    problems.push("privateKeyPath or password is required: give the key file of the backup user (recommended) or a password via ${ENV}");
  }
  if (o.privateKeyPassphrase !== undefined && !o.privateKeyPath) {
    problems.push("privateKeyPassphrase is set but privateKeyPath is not");
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Tunables (see the measurements at the top of index.ts)

/** OpenSSH's limits@openssh.com max read/write length is 261120 bytes; ssh2 splits bigger requests. */
export const REQUEST_BYTES = 255 * 1024;
/** READ requests in flight when parallel transfers are allowed. */
export const PARALLEL_READS = 8;
/** fastPut settings that measured best here (the ssh2 default, 64 x 32 KiB, ran at about half the speed). */
export const FASTPUT = { concurrency: 8, chunkSize: REQUEST_BYTES };
/** Below this, fastPut's set-up and the verification reads cost more than they save. */
export const FASTPUT_MIN_BYTES = 4 * 1024 * 1024;
/** Windows of the file compared byte for byte after a fastPut to an OpenSSH server. */
export const SPOT_CHECK_WINDOWS = 8;
export const SPOT_CHECK_BYTES = 64 * 1024;
export const KEEPALIVE_COUNT_MAX = 3;
/** Copies are production data: owner-only. Set after creating too, as the server's umask filters the mode asked for. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** The root as the server should see it: "~" and "~/" mean the login folder, no trailing slash. */
export function normalizeRoot(p: string): string {
  let r = p.trim();
  if (r === "~") return ".";
  if (r.startsWith("~/")) r = r.slice(2) || ".";
  if (r.length > 1) r = r.replace(/\/+$/, "");
  return r || ".";
}
