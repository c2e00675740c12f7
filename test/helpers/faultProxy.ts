/**
 * A TCP proxy on 127.0.0.1 in front of a loopback test server (s3rver,
 * moto, sshd), for the fault tests. It can:
 * - pass traffic untouched (the default);
 * - cut every connection once N more bytes have gone through (either way);
 * - stall: stop forwarding in both directions while keeping every socket
 *   open, as a hung NAS or a black-holed link does (optionally after N bytes);
 * - for HTTP, answer 500/503 itself to every Nth request, reading the
 *   request's body first, so the client sees a clean server error.
 * Modes can change while connections are open. Nothing here ever connects
 * anywhere but loopback.
 */
import net from "node:net";

export interface FaultProxy {
  readonly port: number;
  /** "http://127.0.0.1:<port>", for S3 endpoints. */
  readonly url: string;
  /** Forward everything (also ends a stall: paused sockets resume). */
  pass(): void;
  /** Destroy every connection once `bytes` more bytes (both directions together) have passed. */
  cutAfter(bytes: number): void;
  /** Stop forwarding once `afterBytes` more bytes have passed, keeping every socket open. */
  stall(afterBytes?: number): void;
  /** HTTP: answer `status` to every `n`th request from now on (0 turns it off); the others pass. */
  failEveryNth(n: number, status?: 500 | 503): void;
  readonly stats: { connections: number; requests: number; failed: number; bytes: number };
  /** Closes the listener and destroys every connection. */
  close(): Promise<void>;
}

type Mode = { kind: "pass" } | { kind: "cut"; at: number } | { kind: "stall"; at: number };

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * `http: true` follows the HTTP requests on every connection from its first
 * byte (needed by failEveryNth); leave it off for SSH.
 */
export async function startFaultProxy(target: { host?: string; port: number; http?: boolean }): Promise<FaultProxy> {
  const host = target.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host)) throw new Error(`the fault proxy only forwards to loopback, not ${host}`);
  let mode: Mode = { kind: "pass" };
  let nth = 0;
  let failStatus = 503;
  let counted = 0; // requests seen since failEveryNth was set
  const stats = { connections: 0, requests: 0, failed: 0, bytes: 0 };
  const pairs = new Set<Pair>();

  const stalled = () => mode.kind === "stall" && stats.bytes >= mode.at;

  /** Forwards `chunk` to `to` as far as the mode allows: a cut destroys the pair, a stall holds the rest. */
  const forward = (pair: Pair, to: net.Socket, chunk: Buffer): void => {
    if (pair.dead) return;
    let out = chunk;
    if (pair.held.length) return void pair.held.push({ to, chunk: out }); // keep the order behind what a stall holds
    if (mode.kind !== "pass") {
      const room = Math.max(0, mode.at - stats.bytes);
      if (out.length > room) {
        if (room > 0) {
          stats.bytes += room;
          to.write(out.subarray(0, room));
        }
        if (mode.kind === "cut") return pair.destroy();
        pair.held.push({ to, chunk: out.subarray(room) });
        pair.pause();
        return;
      }
    }
    stats.bytes += out.length;
    to.write(out);
  };

  const decide = (): boolean => {
    stats.requests++;
    if (nth <= 0) return false;
    counted++;
    if (counted % nth !== 0) return false;
    stats.failed++;
    return true;
  };

  const server = net.createServer((client) => {
    stats.connections++;
    const upstream = net.connect({ host, port: target.port });
    const pair = new Pair(client, upstream);
    pairs.add(pair);
    const http = target.http ? new HttpSplitter(decide, () => failStatus) : undefined;
    client.on("data", (chunk: Buffer) => {
      const { pass, reply } = http ? http.feed(chunk) : { pass: chunk, reply: undefined };
      if (pass.length) forward(pair, upstream, pass);
      if (reply) {
        client.end(reply);
        upstream.destroy();
        pair.dead = true;
        pairs.delete(pair);
      }
    });
    upstream.on("data", (chunk: Buffer) => forward(pair, client, chunk));
    if (stalled()) pair.pause();
    const done = () => {
      pair.destroy();
      pairs.delete(pair);
    };
    for (const s of [client, upstream]) {
      s.on("error", done);
      s.on("close", done);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stats,
    pass() {
      mode = { kind: "pass" };
      for (const p of pairs) p.release();
    },
    cutAfter(bytes) {
      mode = { kind: "cut", at: stats.bytes + bytes };
    },
    stall(afterBytes = 0) {
      mode = { kind: "stall", at: stats.bytes + afterBytes };
      if (afterBytes === 0) for (const p of pairs) p.pause();
    },
    failEveryNth(n, status = 503) {
      nth = n;
      failStatus = status;
      counted = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of pairs) p.destroy();
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}

/** One client connection and its upstream connection. */
class Pair {
  dead = false;
  /** Bytes that arrived while stalled; delivered in order by release(). */
  held: { to: net.Socket; chunk: Buffer }[] = [];
  constructor(
    readonly client: net.Socket,
    readonly upstream: net.Socket,
  ) {}
  pause(): void {
    this.client.pause();
    this.upstream.pause();
  }
  release(): void {
    if (this.dead) return;
    for (const { to, chunk } of this.held.splice(0)) to.write(chunk);
    this.client.resume();
    this.upstream.resume();
  }
  destroy(): void {
    this.dead = true;
    this.client.destroy();
    this.upstream.destroy();
  }
}

/**
 * Follows HTTP/1.1 requests on one client connection (heads, Content-Length
 * bodies) so that a chosen request can be answered by the proxy instead of
 * the server. Requests the proxy answers are read to their end first (or not
 * at all with `Expect: 100-continue`), then the connection is closed. A
 * chunked body makes the connection plain pass-through from then on.
 */
class HttpSplitter {
  private head = Buffer.alloc(0);
  private bodyLeft = 0;
  private failing = false;
  private raw = false;
  private status = 503;

  constructor(
    private readonly decide: () => boolean,
    private readonly statusNow: () => number,
  ) {}

  feed(chunk: Buffer): { pass: Buffer; reply?: string } {
    if (this.raw) return { pass: chunk };
    const out: Buffer[] = [];
    let rest = chunk;
    while (rest.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, rest.length);
        if (!this.failing) out.push(rest.subarray(0, take));
        this.bodyLeft -= take;
        rest = rest.subarray(take);
        if (this.bodyLeft === 0 && this.failing) return { pass: Buffer.concat(out), reply: this.reply() };
        continue;
      }
      this.head = Buffer.concat([this.head, rest]);
      const end = this.head.indexOf("\r\n\r\n");
      if (end < 0) return { pass: Buffer.concat(out) };
      const headBytes = this.head.subarray(0, end + 4);
      rest = this.head.subarray(end + 4);
      this.head = Buffer.alloc(0);
      const text = headBytes.toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
      const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(text);
      this.status = this.statusNow();
      this.failing = this.decide();
      if (this.failing) {
        if (chunked || length === 0 || /\r\nexpect:\s*100-continue/i.test(text)) return { pass: Buffer.concat(out), reply: this.reply() };
        this.bodyLeft = length;
        continue;
      }
      out.push(headBytes);
      if (chunked) {
        this.raw = true;
        out.push(rest);
        break;
      }
      this.bodyLeft = length;
    }
    return { pass: Buffer.concat(out) };
  }

  private reply(): string {
    const code = this.status === 500 ? "InternalError" : "ServiceUnavailable";
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the fault proxy</Message></Error>`;
    const reason = this.status === 500 ? "Internal Server Error" : "Service Unavailable";
    return `HTTP/1.1 ${this.status} ${reason}\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  }
}
