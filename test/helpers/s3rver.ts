import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

export interface S3TestServer {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  stop(): Promise<void>;
  /** s3rver only: SIGKILL the server, keeping its files (a crashed store). */
  kill?(): Promise<void>;
  /** s3rver only: start it again after kill(), same port, same files. */
  restart?(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls `url` until anything answers over HTTP. `ok` may reject responses
 * that come from something that is not ready yet. Fails early when the child exits.
 */
export async function waitForHttp(url: string, child: ChildProcess, output: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited early (code ${child.exitCode}, signal ${child.signalCode}):\n${output()}`);
    }
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`server at ${url} did not answer within ${timeoutMs} ms:\n${output()}`);
}

/** Ends a child we started: SIGTERM, then SIGKILL if it lingers. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Keeps the last few KB of a child's output, for error messages. */
export function captureOutput(child: ChildProcess, limit = 8_000): () => string {
  let text = "";
  const add = (b: Buffer) => {
    text = (text + b.toString()).slice(-limit);
  };
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  return () => text;
}

/**
 * Starts s3rver (npm, v3.7.1) on a free 127.0.0.1 port with its data in a
 * temp folder, waits until it answers and creates one bucket.
 *
 * The CLI runs as a child process with NODE_OPTIONS=--openssl-legacy-provider:
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node 20's
 * OpenSSL 3 refuses otherwise (HTTP 500 on the second page).
 */
export async function startS3rver(): Promise<S3TestServer> {
  const require = createRequire(import.meta.url);
  const cli = path.join(path.dirname(require.resolve("s3rver/package.json")), "bin", "s3rver.js");
  const dir = await mkdtemp(path.join(os.tmpdir(), "tri-s3rver-"));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const launch = () => {
    const proc = spawn(process.execPath, [cli, "-d", dir, "-a", "127.0.0.1", "-p", String(port), "--silent"], {
      env: { ...process.env, NODE_OPTIONS: "--openssl-legacy-provider" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { proc, out: captureOutput(proc) };
  };
  let { proc: child, out: output } = launch();
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await gone;
  };
  const restart = async () => {
    await kill();
    ({ proc: child, out: output } = launch());
    await waitForHttp(endpoint, child, output);
  };
  try {
    await waitForHttp(endpoint, child, output);
    const bucket = "triplicate-test";
    const client = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    return { endpoint, accessKeyId: "S3RVER", secretAccessKey: "S3RVER", bucket, stop, kill, restart };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A plain SDK client for a test server, to look at the bucket behind the adapter's back. */
export function testS3Client(server: S3TestServer): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
