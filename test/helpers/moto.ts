import { spawn, spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { captureOutput, freePort, stopChild, waitForHttp, type S3TestServer } from "./s3rver.js";

/**
 * moto 5.2.1 checks SigV4 against werkzeug's `request.url`, an IRI in which
 * `%2F` in the query is already decoded to `/`, and botocore's canonical query
 * does not re-encode it. So any request whose query holds a '/' (ListObjectsV2
 * with Prefix "db/", ListObjectVersions, ListMultipartUploads...) fails with
 * SignatureDoesNotMatch, from boto3 as well (getmoto/moto#5948, checked here
 * by hand). This wrapper re-encodes the query the SigV4 way before moto
 * computes the signature; everything else is stock moto_server.
 */
const MOTO_WITH_QUERY_FIX = `
import sys
from urllib.parse import urlsplit, urlunsplit, quote, unquote
try:
    from moto.iam import access_control as ac
    _orig = ac.IAMRequestBase._create_aws_request
    def _create_aws_request(self):
        parts = urlsplit(self._path)
        if parts.query:
            pairs = []
            for pair in parts.query.split("&"):
                k, _, v = pair.partition("=")
                pairs.append(quote(unquote(k), safe="-_.~") + "=" + quote(unquote(v), safe="-_.~"))
            self._path = urlunsplit(parts._replace(query="&".join(pairs)))
        return _orig(self)
    ac.IAMRequestBase._create_aws_request = _create_aws_request
except Exception as e:
    print("moto query-signature patch not applied:", e, file=sys.stderr)
from moto.server import main
main(sys.argv[1:])
`;

/** IAM calls made before signatures are enforced: CreateUser, PutUserPolicy, CreateAccessKey. */
const BOOTSTRAP_REQUESTS = 3;

export interface MotoOptions {
  /** Create the bucket with Object Lock enabled (implies versioning). */
  objectLock?: boolean;
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Starts moto_server (moto 5.x) on a free 127.0.0.1 port as a strict S3:
 * with INITIAL_NO_AUTH_ACTION_COUNT=3 only the first three requests go
 * unchecked. They create an IAM user with an `s3:*` inline policy and an
 * access key; from then on moto verifies every SigV4 signature (a wrong
 * secret gets SignatureDoesNotMatch) and checks the user's policy. The bucket
 * is created with those credentials.
 */
export async function startMoto(opts: MotoOptions = {}): Promise<S3TestServer> {
  if (!onPath("moto_server")) {
    throw new Error(
      "moto_server is not on PATH; the strict S3 tests need it. Install with: pip install 'moto[server]'  (or: apt-get install python3-moto)",
    );
  }
  const port = await freePort();
  const args = ["-H", "127.0.0.1", "-p", String(port)];
  // Run moto in-process from python3 with the signature patch when that
  // python has moto (pip and Debian installs both do); else plain moto_server.
  const patched = spawnSync("python3", ["-c", "import moto.server, moto.iam.access_control"], { stdio: "ignore" }).status === 0;
  const [cmd, argv] = patched ? ["python3", ["-c", MOTO_WITH_QUERY_FIX, ...args]] : ["moto_server", args];
  const child = spawn(cmd, argv, {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(BOOTSTRAP_REQUESTS) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = captureOutput(child);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child);
  try {
    // The dashboard API is not an AWS action, so polling it does not use up the unauthenticated budget.
    await waitForHttp(`${endpoint}/moto-api/data.json`, child, output, 30_000);
    const user = `triplicate-${port}`;
    await iam(endpoint, { Action: "CreateUser", UserName: user });
    await iam(endpoint, {
      Action: "PutUserPolicy",
      UserName: user,
      PolicyName: "s3-all",
      PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }),
    });
    const created = await iam(endpoint, { Action: "CreateAccessKey", UserName: user });
    const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(created)?.[1];
    const secretAccessKey = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(created)?.[1];
    if (!accessKeyId || !secretAccessKey) throw new Error(`moto CreateAccessKey gave no key:\n${created}`);

    const bucket = opts.objectLock ? "triplicate-locked" : "triplicate-test";
    const client = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: opts.objectLock || undefined }));
    } finally {
      client.destroy();
    }
    return { endpoint, accessKeyId, secretAccessKey, bucket, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * One IAM query-API call at the moto endpoint. Signed with SigV4 (dummy
 * bootstrap credentials): moto routes unsigned-looking requests by guesswork,
 * and the credential scope in a signature names the service reliably.
 */
async function iam(endpoint: string, params: Record<string, string>): Promise<string> {
  const body = new URLSearchParams({ ...params, Version: "2010-05-08" }).toString();
  const url = new URL(endpoint);
  const headers = signV4({
    method: "POST",
    host: url.host,
    path: "/",
    body,
    contentType: "application/x-www-form-urlencoded; charset=utf-8",
    service: "iam",
    region: "us-east-1",
    accessKeyId: "bootstrap",
    secretAccessKey: "bootstrap",
  });
  const res = await fetch(endpoint + "/", { method: "POST", headers, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto IAM ${params.Action} failed with HTTP ${res.status}:\n${text}`);
  return text;
}

interface SignInput {
  method: string;
  host: string;
  path: string;
  body: string;
  contentType: string;
  service: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** AWS Signature Version 4 for a request without a query string. */
function signV4(r: SignInput): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const date = amzDate.slice(0, 8);
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  const hmac = (k: Buffer | string, s: string) => createHmac("sha256", k).update(s).digest();
  const payloadHash = sha(r.body);
  const signedHeaders = "content-type;host;x-amz-date";
  const canonical = [
    r.method,
    r.path,
    "",
    `content-type:${r.contentType}\nhost:${r.host}\nx-amz-date:${amzDate}\n`,
    signedHeaders,
    payloadHash,
  ].join("\n");
  const scope = `${date}/${r.region}/${r.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${r.secretAccessKey}`, date), r.region), r.service), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return {
    "content-type": r.contentType,
    "x-amz-date": amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=${r.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}
