import { writeFile } from "node:fs/promises";
import path from "node:path";
import { startSshd, type SshdServer } from "../test/helpers/sshd.js";
import { startS3rver, type S3TestServer } from "../test/helpers/s3rver.js";

/** The same loopback servers the tests use, for benches that cross the network stack. */
export async function startServers(): Promise<{ sshd: SshdServer; s3: S3TestServer; stop: () => Promise<void> }> {
  const [sshd, s3] = await Promise.all([startSshd(), startS3rver()]);
  return { sshd, s3, stop: async () => void (await Promise.all([sshd.stop(), s3.stop()])) };
}

export interface BenchDest {
  kind: "local" | "sftp" | "s3";
  name: string;
  transfer?: "auto" | "sequential";
  /** Where it keeps its copies: the local folder / the SFTP folder under the server's root / the S3 prefix. Default: its name. */
  place?: string;
}

export interface BenchConfigOptions {
  /** The `databases:` entry; default one database named bench. */
  databaseLine?: string;
  staging?: string;
  /** More top-level lines (unchanged:, concurrency:, ...). */
  extra?: string[];
}

/** Writes a config for one database and the given destinations; S3 secrets go through ${ENV}. */
export async function writeBenchConfig(file: string, db: string, work: string, dests: BenchDest[], servers: { sshd: SshdServer; s3: S3TestServer }, opts: BenchConfigOptions = {}): Promise<NodeJS.ProcessEnv> {
  const lines = ["databases:", opts.databaseLine ?? `  - { name: bench, path: ${JSON.stringify(db)} }`, "destinations:"];
  for (const d of dests) {
    const place = d.place ?? d.name;
    if (d.kind === "local") lines.push(`  - { name: ${d.name}, type: local, path: ${JSON.stringify(path.join(work, place))} }`);
    if (d.kind === "sftp") {
      const s = servers.sshd;
      lines.push(
        `  - { name: ${d.name}, type: sftp, host: 127.0.0.1, port: ${s.port}, username: ${s.username}, privateKeyPath: ${JSON.stringify(s.privateKeyPath)}, hostKeySha256: "${s.hostKeySha256}", path: ${JSON.stringify(path.join(s.root, place))}, transfer: ${d.transfer ?? "auto"} }`,
      );
    }
    if (d.kind === "s3") {
      lines.push(
        `  - { name: ${d.name}, type: s3, bucket: ${servers.s3.bucket}, prefix: ${place}/, endpoint: ${servers.s3.endpoint}, forcePathStyle: true, accessKeyId: "\${BENCH_S3_KEY}", secretAccessKey: "\${BENCH_S3_SECRET}" }`,
      );
    }
  }
  lines.push("policy: { copies: 1, media: 0, offsite: 0 }", "compression: { algorithm: zstd, level: 3 }", `staging: ${JSON.stringify(opts.staging ?? path.join(work, "staging"))}`, ...(opts.extra ?? []));
  await writeFile(file, lines.join("\n") + "\n");
  return { ...process.env, BENCH_S3_KEY: servers.s3.accessKeyId, BENCH_S3_SECRET: servers.s3.secretAccessKey };
}
