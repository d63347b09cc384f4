// The plumbing the fake servers share: a real HTTP server on 127.0.0.1 port 0, a request log, and the transport
// faults a real service shows (a request that never gets an answer, a connection cut before the answer).
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  json: unknown;
  form: URLSearchParams;
}

export interface FakeReply {
  status: number;
  body?: unknown;
  /** Sent as is (text/plain) instead of JSON. */
  text?: string;
  headers?: Record<string, string>;
}

/** What a handler returns: a reply, or a promise of one (a long-poll), or "stall" / "drop". */
export type Handled = FakeReply | "stall" | "drop" | Promise<FakeReply | "stall" | "drop">;

export class HttpFake {
  readonly requests: FakeRequest[] = [];
  /** Applied to the next requests, in order, before the handler: the faults a test scripts. */
  readonly faults: Array<"stall" | "drop" | FakeReply> = [];
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly stalled = new Set<http.ServerResponse>();
  url = "";

  /** `tls`: serve https with this key and certificate chain (PEM, leaf first) instead of plain http. */
  constructor(
    private readonly handle: (req: FakeRequest) => Handled,
    private readonly tls?: { keyPem: string; certPem: string },
  ) {}

  async start(): Promise<this> {
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => void this.serve(req, res, Buffer.concat(chunks)));
    };
    this.server = this.tls ? https.createServer({ key: this.tls.keyPem, cert: this.tls.certPem }, onRequest) : http.createServer(onRequest);
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    this.url = `${this.tls ? "https" : "http"}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Cuts every open connection (a restart of the service, as the client sees it). */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
    this.stalled.clear();
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse, rawBody: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const text = rawBody.toString("utf8");
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const fr: FakeRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      json,
      form: new URLSearchParams(req.headers["content-type"]?.includes("x-www-form-urlencoded") ? text : ""),
    };
    this.requests.push(fr);
    const fault = this.faults.shift();
    let out: FakeReply | "stall" | "drop";
    try {
      out = fault ?? (await this.handle(fr));
    } catch (err) {
      out = { status: 500, text: `fake server error: ${String(err)}` };
    }
    if (out === "stall") {
      this.stalled.add(res);
      return;
    }
    if (out === "drop") {
      req.socket.destroy();
      return;
    }
    const body = out.text ?? (out.body === undefined ? "" : JSON.stringify(out.body));
    res.writeHead(out.status, {
      "content-type": out.text !== undefined ? "text/plain" : "application/json",
      ...out.headers,
    });
    res.end(body);
  }
}
