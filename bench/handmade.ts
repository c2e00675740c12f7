/**
 * The hand-made pipelines Triplicate is measured against, with the best
 * standard tools on this machine. rclone is not installed here, so SFTP goes
 * through OpenSSH's `sftp -b` and S3 through a ten-line node script on the
 * AWS SDK (lib-storage's multipart Upload, 8 MiB parts, 4 at once; a plain
 * GetObject to fetch), started with node directly.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { ROOT } from "./lib.js";
import type { SshdServer } from "../test/helpers/sshd.js";
import type { S3TestServer } from "../test/helpers/s3rver.js";

export interface HandTools {
  /** `sftp … -b -` with the bench's key and a known_hosts for the loopback sshd, without the batch. */
  sftp: string;
  /** `node s3.mjs put|get KEY FILE` with the endpoint and keys in its environment. */
  s3: string;
}

const S3_SCRIPT = `import { createRequire } from "node:module";
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
const req = createRequire(process.env.ROOT + "/package.json");
const { S3Client, GetObjectCommand } = req("@aws-sdk/client-s3");
const { Upload } = req("@aws-sdk/lib-storage");
const c = new S3Client({ endpoint: process.env.EP, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: process.env.K, secretAccessKey: process.env.S }, requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" });
const [op, key, file] = process.argv.slice(2);
if (op === "put") await new Upload({ client: c, params: { Bucket: process.env.B, Key: key, Body: createReadStream(file) }, partSize: 8 * 2 ** 20, queueSize: 4 }).done();
else await pipeline((await c.send(new GetObjectCommand({ Bucket: process.env.B, Key: key }))).Body, createWriteStream(file));
`;

export async function handTools(work: string, servers: { sshd: SshdServer; s3: S3TestServer }): Promise<HandTools> {
  const { sshd, s3 } = servers;
  const knownHosts = path.join(work, "known_hosts");
  await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
  const script = path.join(work, "s3.mjs");
  await writeFile(script, S3_SCRIPT);
  return {
    sftp: `sftp -q -b - -i '${sshd.privateKeyPath}' -P ${sshd.port} -o UserKnownHostsFile='${knownHosts}' ${sshd.username}@127.0.0.1 >/dev/null`,
    s3: `ROOT='${ROOT}' EP='${s3.endpoint}' K='${s3.accessKeyId}' S='${s3.secretAccessKey}' B='${s3.bucket}' node '${script}'`,
  };
}

/** What every hand-made backup does first: snapshot, check, compress, hash (no checks skipped that a careful admin would run). */
function snapshotSteps(db: string, w: string): string[] {
  return [
    `set -e`,
    `sqlite3 '${db}' ".backup '${w}/hand.db'"`,
    `test "$(sqlite3 '${w}/hand.db' 'PRAGMA integrity_check')" = ok`,
    `zstd -q -f -3 -T0 '${w}/hand.db' -o '${w}/hand.db.zst'`,
    `sha256sum '${w}/hand.db.zst' > '${w}/hand.db.zst.sha256'`,
    `rm -f '${w}/hand.db'`,
  ];
}

/** Runs the given shell commands in parallel and fails if any failed. */
function inParallel(cmds: string[]): string[] {
  return [...cmds.map((c, i) => `( ${c} ) & p${i}=$!`), cmds.map((_, i) => `wait $p${i}`).join(" && ")];
}

/** The 3-2-1 pipeline: snapshot steps, then cp ∥ sftp put ∥ S3 put. `run` makes each run's names fresh. */
export function handBackup321(db: string, w: string, tools: HandTools, sftpDir: string, run: number): string {
  const art = `${w}/hand.db.zst`;
  return [
    ...snapshotSteps(db, w),
    ...inParallel([
      `mkdir -p '${w}/hand-local' && cp '${art}' '${w}/hand-local/hand-${run}.db.zst'`,
      `printf '%s\\n' '-mkdir ${sftpDir}' 'put ${art} ${sftpDir}/hand-${run}.db.zst' | ${tools.sftp}`,
      `${tools.s3} put 'hand/hand-${run}.db.zst' '${art}'`,
    ]),
  ].join("\n");
}

/** The same snapshot steps, then three cp to three local folders at once. */
export function handBackupLocal(db: string, w: string, dirs: string[]): string {
  return [...snapshotSteps(db, w), ...inParallel(dirs.map((d) => `mkdir -p '${d}' && cp '${w}/hand.db.zst' '${d}/'`))].join("\n");
}

/** Restore by hand: fetch (given), `zstd -d`, `integrity_check`. */
export function handRestore(fetch: string, out: string): string {
  return `set -e; ${fetch} && zstd -q -d -f '${out}/hand.zst' -o '${out}/hand.db' && test "$(sqlite3 '${out}/hand.db' 'PRAGMA integrity_check')" = ok`;
}
