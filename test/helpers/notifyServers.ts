import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { SMTPServer } from "smtp-server";

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP server on 127.0.0.1 that records every request (pings, webhooks) and answers `status`. */
export async function startHttpSink(status = 200): Promise<{ url: string; received: Received[]; stop(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      res.writeHead(status, { "content-type": "text/plain" }).end("OK");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, received, stop: () => new Promise((r) => server.close(() => r())) };
}

export interface Mail {
  from: string;
  to: string[];
  user?: string;
  raw: string;
}

/**
 * A real SMTP server (smtp-server) on 127.0.0.1 that requires AUTH with
 * `user`/`password`. STARTTLS is not offered, so the test sees AUTH over
 * plain loopback, as `secure: false` against a server without TLS does.
 */
export async function startSmtpSink(user: string, password: string): Promise<{ port: number; mails: Mail[]; authFailures: number; stop(): Promise<void> }> {
  const mails: Mail[] = [];
  const state = { authFailures: 0 };
  const server = new SMTPServer({
    secure: false,
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user: auth.username });
      state.authFailures++;
      cb(new Error("535 authentication failed"));
    },
    onData(stream, session, cb) {
      let raw = "";
      stream.setEncoding("utf8");
      stream.on("data", (d: string) => (raw += d));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    mails,
    get authFailures() {
      return state.authFailures;
    },
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
