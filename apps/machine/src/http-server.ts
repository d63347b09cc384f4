// The machine's HTTP API and WebSocket (DESIGN.md "Machine HTTP API"), and the kiosk's static files.
import { randomBytes } from "node:crypto";
import type { EventEmitter } from "node:events";
import { createReadStream, readFileSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { WebSocketServer, type WebSocket } from "ws";
import { FirstScreenLoader } from "./kiosk-first-screen.js";
import {
  ApiErrorCode,
  MAX_HTTP_BODY_BYTES,
  parseCreateOrderRequest,
  parseKioskClientMessage,
  type ApiError,
  type Catalog,
  type DemoSimResponse,
  type DemoVmcResponse,
  type HealthResponse,
  type KioskServerMessage,
  type MachineStatusView,
  type Order,
  type VendProgress,
} from "@zapvend/protocol";

/** An error the API answers with a status and a coded body. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiFailure";
  }
}

export interface MachineApiEvents {
  order: [order: Order];
  progress: [orderId: string, progress: VendProgress];
  status: [status: MachineStatusView];
  catalog: [catalog: Catalog];
}

/** What the HTTP layer needs from the daemon. */
export interface MachineApi extends EventEmitter<MachineApiEvents> {
  readonly machineId: string;
  readonly boot: number;
  readonly version: string;
  health(): HealthResponse;
  status(): MachineStatusView;
  catalog(): Catalog;
  /** Creates an order; with `creditId` the price is paid (partly or wholly) from that credit. */
  createOrder(slot: string, creditId?: string): Promise<Order>;
  getOrder(orderId: string): Order | undefined;
  /** `GET /api/orders/current`: the order being vended, else one that ended in the last 15 s, else null. */
  currentOrder(): Order | null;
  cancelOrder(orderId: string): Promise<Order>;
  /** Pays an order from the sim node's wallet (demo only); undefined when the backend is not the sim. */
  demoPay?: (orderId: string) => Promise<void>;
  /** Opens/closes the sim door and replaces the injected sim faults (demo, tests); undefined when the board is not the sim. */
  demoSim?: (body: unknown) => DemoSimResponse;
  /** The sim VMC's keypad and faults (demo, tests); undefined unless the machine is the MDB reader of the sim VMC. */
  demoVmc?: { get(): DemoVmcResponse; post(body: unknown): Promise<DemoVmcResponse> };
  /**
   * Hands one BTCPay webhook delivery (the raw body and its `BTCPay-Sig` header) to the BTCPay adapter; undefined
   * when the backend is not BTCPay. A delivery is a hint only: the adapter's lookup is the proof of payment.
   */
  btcpayWebhook?: (rawBody: Uint8Array, signature: string | undefined) => Promise<{ accepted: boolean; status: number; reason?: string }>;
  /** A stored catalog picture (issue #18) by its sha256 (64 lower-case hex digits), or undefined. */
  picture?(sha256: string): { file: string; type: string } | undefined;
  /** Extra routes (the technician's service API); return undefined when the route is not theirs. */
  serviceRoute?: (req: { method: string; path: string; body: unknown; authorization: string | undefined }) => Promise<{ status: number; body: unknown } | undefined>;
}

/** Which kiosk session opened each order (kept across restarts by the daemon, so a reloaded kiosk keeps its credit). */
export interface OrderSessionStore {
  /** The session that created the order; null: created without one (an API client); undefined: not known. */
  get(orderId: string): string | null | undefined;
  set(orderId: string, session: string | null): void;
  /** Orders recorded since `sinceMs` (epoch ms), so a restarted daemon counts the invoices still open against its caps. */
  recent?(sinceMs: number): Array<{ orderId: string; session: string | null }>;
}

/** In memory, the newest 10,000 orders (the default when the daemon gives no store). */
export function memoryOrderSessions(max = 10_000): OrderSessionStore {
  const m = new Map<string, { session: string | null; at: number }>();
  return {
    get: (id) => m.get(id)?.session,
    set: (id, session) => {
      m.set(id, { session, at: Date.now() });
      if (m.size > max) m.delete(m.keys().next().value!);
    },
    recent: (sinceMs) => [...m].filter(([, v]) => v.at >= sinceMs).map(([orderId, v]) => ({ orderId, session: v.session })),
  };
}

export interface MachineServerOptions {
  api: MachineApi;
  /** Folder with the built kiosk; when absent or missing, `/` explains that the kiosk is not built. */
  kioskDir?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /**
   * Origins whose pages may POST and open the WebSocket; a request without `Origin` (not from a browser) passes.
   * Default: `http://127.0.0.1:<port>`, `http://localhost:<port>`, `http://[::1]:<port>` and `http://<host>:<port>`
   * for a listen host that is not a wildcard.
   */
  allowedOrigins?: readonly string[];
  /** `Host` headers accepted on POST and the WebSocket (DNS rebinding). Default: the hosts of the default origins. */
  allowedHosts?: readonly string[];
  /** Most unpaid orders (`pending`) open at once, machine-wide. Default 3. */
  maxPendingOrders?: number;
  /** Where the session of each order is kept. Default: memory. */
  orderSessions?: OrderSessionStore;
}

/**
 * The kiosk session: a random id in an HttpOnly, SameSite=Strict cookie that the machine sets when it serves the
 * kiosk page. The kiosk's fetches and its WebSocket carry it (same origin), so nothing in the kiosk app handles it.
 * It scopes the one open invoice a kiosk may have and who learns an order's credit id.
 */
export const KIOSK_SESSION_COOKIE = "zapvend_kiosk";
const SESSION_RE = /^[A-Za-z0-9_-]{22,64}$/;

/** The kiosk session a request carries (its cookie), or null. */
export function sessionOf(req: http.IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== KIOSK_SESSION_COOKIE) continue;
    const v = part.slice(eq + 1).trim();
    return SESSION_RE.test(v) ? v : null;
  }
  return null;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".map": "application/json",
  ".woff2": "font/woff2",
};

export class MachineServer {
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  /** Each WebSocket with the kiosk session it was opened with (null: none). */
  private readonly clients = new Map<WebSocket, string | null>();
  private readonly unsubscribe: Array<() => void> = [];
  private origins = new Set<string>();
  private hosts = new Set<string>();
  private readonly sessions: OrderSessionStore;
  /** Orders created here that may still be unpaid, with their session; pruned as they leave `pending`. */
  private readonly open = new Map<string, string | null>();
  /** Order creations under way (counted against the caps before the controller answers). */
  private readonly creating: Array<string | null> = [];
  /** The kiosk build's pre-renderer of its first screen, if it has one. */
  private readonly firstScreen: FirstScreenLoader | undefined;

  constructor(private readonly opts: MachineServerOptions) {
    this.sessions = opts.orderSessions ?? memoryOrderSessions();
    this.firstScreen = opts.kioskDir ? new FirstScreenLoader(opts.kioskDir) : undefined;
  }

  /** Listens on host:port (port 0 picks a free one) and returns the base URL. */
  async start(host: string, port: number): Promise<string> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.opts.log?.("http handler failed", { err: String(err) });
        if (!res.headersSent) send(res, 500, { error: { code: "internal", message: "internal error" } });
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 });
    server.on("upgrade", (req, socket, head) => {
      if (new URL(req.url ?? "/", "http://x").pathname !== "/ws") {
        socket.destroy();
        return;
      }
      // A page of another origin (or a rebound name) gets no socket: it would see every order and status.
      const refused = this.refusedOrigin(req);
      if (refused) {
        this.opts.log?.("ws: refused", { code: refused.code, origin: String(req.headers.origin ?? "").slice(0, 200), host: String(req.headers.host ?? "").slice(0, 200) });
        socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify({ error: { code: refused.code, message: refused.message } })}`);
        return;
      }
      const session = sessionOf(req);
      wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, session));
    });
    this.server = server;
    this.wss = wss;
    const api = this.opts.api;
    const on = <K extends keyof MachineApiEvents>(event: K, fn: (...args: MachineApiEvents[K]) => void) => {
      api.on(event, fn as never);
      this.unsubscribe.push(() => api.off(event, fn as never));
    };
    // An order goes to every screen (a second screen follows the vend), its credit id only to the session that
    // created the order: the credit id is a bearer secret, whoever holds it spends the credit.
    on("order", (order) => this.broadcastOrder(order));
    on("progress", (orderId, progress) => this.broadcast({ type: "progress", orderId, progress }));
    on("status", (status) => this.broadcast({ type: "status", status }));
    on("catalog", (catalog) => this.broadcast({ type: "catalog", catalog }));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const defaults = defaultOrigins(host, addr.port);
    // Invoices opened before a restart and still unpaid count against the caps (an invoice lives at most an hour).
    for (const { orderId, session } of this.sessions.recent?.(Date.now() - 3_600_000) ?? []) {
      if (api.getOrder(orderId)?.state === "pending") this.open.set(orderId, session);
    }
    this.origins = new Set(this.opts.allowedOrigins ?? defaults);
    this.hosts = new Set((this.opts.allowedHosts ?? (this.opts.allowedOrigins ?? defaults).map((o) => new URL(o).host)).map((h) => h.toLowerCase()));
    return `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
  }

  /** Why a request may not change anything here (its Origin or Host), or undefined when it may. */
  private refusedOrigin(req: http.IncomingMessage): ApiFailure | undefined {
    const host = (req.headers.host ?? "").toLowerCase();
    if (!this.hosts.has(host)) return new ApiFailure(403, ApiErrorCode.HOST_NOT_ALLOWED, `Host "${host.slice(0, 100)}" is not one this machine answers to`);
    const origin = req.headers.origin;
    // No Origin: not a browser page (curl, a script, the BTCPay server), which no web site can make a browser send.
    if (origin !== undefined && !this.origins.has(origin)) return new ApiFailure(403, ApiErrorCode.ORIGIN_NOT_ALLOWED, `pages of ${origin.slice(0, 100)} may not use this machine`);
    return undefined;
  }

  /**
   * Every POST: an allowed Host and Origin, and a JSON body declared as such (no form or text/plain "simple" POST).
   * The BTCPay webhook is exempt from the Host and Origin checks: it comes from the BTCPay server, through whatever
   * public name and proxy the operator set up, and is authenticated by its HMAC signature instead.
   */
  private guardPost(req: http.IncomingMessage, p: string): void {
    const refused = p === "/api/webhooks/btcpay" ? undefined : this.refusedOrigin(req);
    if (refused) throw refused;
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      throw new ApiFailure(415, ApiErrorCode.UNSUPPORTED_MEDIA_TYPE, `send the body as content-type: application/json${type ? `, not ${type.slice(0, 60)}` : ""}`);
    }
  }

  /** The order as `session` may see it: without its credit id unless that session created the order. */
  private orderFor(order: Order, session: string | null): Order {
    if (!order.credit) return order;
    const owner = this.sessions.get(order.orderId);
    return owner !== undefined && owner === session ? order : { ...order, credit: null };
  }

  private broadcastOrder(order: Order): void {
    if (order.state !== "pending") this.open.delete(order.orderId);
    const full = JSON.stringify({ type: "order", order } satisfies KioskServerMessage);
    const stripped = order.credit ? JSON.stringify({ type: "order", order: { ...order, credit: null } } satisfies KioskServerMessage) : full;
    const owner = order.credit ? this.sessions.get(order.orderId) : undefined;
    for (const [ws, session] of this.clients) {
      if (ws.readyState !== ws.OPEN) continue;
      ws.send(!order.credit || (owner !== undefined && owner === session) ? full : stripped);
    }
  }

  /**
   * The pending-order caps, checked and reserved before the controller creates an invoice: at most one unpaid order
   * per kiosk session, at most `maxPendingOrders` machine-wide. A request without a session (an API client) meets
   * only the machine-wide cap.
   */
  private async createOrderCapped(session: string | null, slot: string, creditId: string | undefined): Promise<Order> {
    const api = this.opts.api;
    for (const id of [...this.open.keys()]) if (api.getOrder(id)?.state !== "pending") this.open.delete(id);
    const max = this.opts.maxPendingOrders ?? 3;
    if (session !== null && ([...this.open.values()].includes(session) || this.creating.includes(session))) {
      throw new ApiFailure(429, ApiErrorCode.SESSION_ORDER_OPEN, "this screen already shows an unpaid invoice: cancel it or let it expire first");
    }
    if (this.open.size + this.creating.length >= max) {
      throw new ApiFailure(429, ApiErrorCode.TOO_MANY_PENDING_ORDERS, `the machine already has ${max} unpaid invoice${max === 1 ? "" : "s"} open; try again when one is paid or expired`);
    }
    this.creating.push(session);
    try {
      const order = await api.createOrder(slot, creditId);
      this.sessions.set(order.orderId, session);
      if (order.state === "pending") this.open.set(order.orderId, session);
      return order;
    } finally {
      this.creating.splice(this.creating.indexOf(session), 1);
    }
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const ws of this.clients.keys()) ws.terminate();
    this.clients.clear();
    this.wss?.close();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  private broadcast(msg: KioskServerMessage): void {
    const data = JSON.stringify(msg);
    for (const ws of this.clients.keys()) if (ws.readyState === ws.OPEN) ws.send(data);
  }

  private onSocket(ws: WebSocket, session: string | null): void {
    this.clients.set(ws, session);
    const api = this.opts.api;
    const send1 = (m: KioskServerMessage) => ws.send(JSON.stringify(m));
    // A new screen (or one that reconnected after a restart) first learns the truth: who, status, catalog.
    send1({ type: "hello", machineId: api.machineId, boot: api.boot, version: api.version });
    send1({ type: "status", status: api.status() });
    send1({ type: "catalog", catalog: api.catalog() });
    ws.on("message", (data: Buffer) => {
      const parsed = parseKioskClientMessage(new Uint8Array(data));
      if (!parsed.ok) {
        this.opts.log?.("ws: refused message", { code: parsed.error.code });
        return;
      }
      const m = parsed.value;
      if (m.type === "ping") send1({ type: "pong", t: m.t });
      else if (m.type === "watch") {
        const order = api.getOrder(m.orderId);
        if (order) send1({ type: "order", order: this.orderFor(order, session) });
      }
    });
    ws.on("close", () => this.clients.delete(ws));
    ws.on("error", () => this.clients.delete(ws));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const p = url.pathname;
    const method = req.method ?? "GET";
    const api = this.opts.api;
    const session = sessionOf(req);
    try {
      if (p.startsWith("/api/")) {
        if (method === "POST") this.guardPost(req, p);
        if (method === "GET" && p === "/api/health") return send(res, 200, api.health());
        if (method === "GET" && p === "/api/catalog") return send(res, 200, api.catalog());
        if (method === "POST" && p === "/api/orders") {
          const parsed = parseCreateOrderRequest(await readBody(req));
          if (!parsed.ok) throw new ApiFailure(400, parsed.error.code, `${parsed.error.message} (at ${parsed.error.path})`);
          const order = await this.createOrderCapped(session, parsed.value.slot, parsed.value.creditId);
          return send(res, 201, order);
        }
        // Before the `:id` route: "current" is a valid order id pattern.
        if (method === "GET" && p === "/api/orders/current") {
          const current = api.currentOrder();
          return send(res, 200, { order: current && this.orderFor(current, session) });
        }
        const m = /^\/api\/orders\/([A-Za-z0-9_-]{1,64})(\/cancel)?$/.exec(p);
        if (m) {
          if (method === "GET" && !m[2]) {
            const order = api.getOrder(m[1]!);
            if (!order) throw new ApiFailure(404, "not_found", `no order ${m[1]}`);
            // Order ids go to every screen: the id alone does not reveal the order's credit id.
            return send(res, 200, this.orderFor(order, session));
          }
          if (method === "POST" && m[2]) return send(res, 200, await api.cancelOrder(m[1]!));
        }
        if (method === "POST" && p === "/api/demo/pay") {
          if (!api.demoPay) throw new ApiFailure(404, "not_found", "the demo wallet exists only with the sim Lightning node");
          const body = (await readBody(req)) as { orderId?: unknown } | null;
          if (!body || typeof body.orderId !== "string" || !/^[A-Za-z0-9_-]{8,64}$/.test(body.orderId)) {
            throw new ApiFailure(400, "bad_value", "orderId is required");
          }
          // The wallet call resolves only when the payment settles or fails: answer now, the WebSocket tells the rest.
          api.demoPay(body.orderId).catch((err: unknown) => this.opts.log?.("demo pay failed", { orderId: body.orderId, err: String(err) }));
          return send(res, 202, { status: "paying" });
        }
        if (method === "POST" && p === "/api/webhooks/btcpay") {
          if (!api.btcpayWebhook) throw new ApiFailure(404, "not_found", "this machine's payments backend is not BTCPay");
          const raw = await readRawBody(req, MAX_WEBHOOK_BYTES);
          const sig = req.headers["btcpay-sig"];
          const outcome = await api.btcpayWebhook(raw, Array.isArray(sig) ? sig[0] : sig);
          if (outcome.status === 401) throw new ApiFailure(401, "bad_signature", `webhook refused: ${outcome.reason ?? "bad signature"}`);
          // Anything signed is answered 200 (BTCPay would only redeliver what it cannot change); it is a hint, not proof.
          return send(res, 200, { accepted: outcome.accepted, ...(outcome.reason ? { reason: outcome.reason } : {}) });
        }
        if (p === "/api/demo/vmc" && (method === "GET" || method === "POST")) {
          if (!api.demoVmc) throw new ApiFailure(404, "not_found", "the VMC controls exist only with the sim VMC");
          return send(res, 200, method === "GET" ? api.demoVmc.get() : await api.demoVmc.post(await readBody(req)));
        }
        if (method === "POST" && p === "/api/demo/sim") {
          if (!api.demoSim) throw new ApiFailure(404, "not_found", "the sim controls exist only with the sim board");
          return send(res, 200, api.demoSim(await readBody(req)));
        }
        if (api.serviceRoute && p.startsWith("/api/service/")) {
          const body = method === "POST" ? await readBody(req) : undefined;
          const r = await api.serviceRoute({ method, path: p, body, authorization: req.headers.authorization });
          if (r) return send(res, r.status, r.body);
        }
        throw new ApiFailure(404, "not_found", `no route ${method} ${p}`);
      }
      if (p.startsWith("/pictures/") && (method === "GET" || method === "HEAD")) return this.servePicture(p, res);
      if (method === "GET" || method === "HEAD") return this.serveStatic(p, res, session, url.searchParams.get("lang"));
      throw new ApiFailure(405, "method_not_allowed", `${method} is not allowed here`);
    } catch (err) {
      if (err instanceof ApiFailure) return send(res, err.status, { error: { code: err.code, message: err.message } } satisfies ApiError);
      const coded = err as { code?: unknown; httpStatus?: unknown; message?: unknown };
      if (typeof coded.code === "string" && typeof coded.httpStatus === "number") {
        return send(res, coded.httpStatus, { error: { code: coded.code, message: String(coded.message) } } satisfies ApiError);
      }
      throw err;
    }
  }

  /**
   * The kiosk's index.html with what the WebSocket greeting and `GET /api/orders/current` would tell it, as of this
   * request (never cached: the page is `no-store`): the screen can draw its first catalog without a round trip; and
   * that first catalog itself, in the buyer's language (`?lang=` of the page's URL), where the kiosk build renders it.
   * Undefined when the page has no marker (an older build): then served as it is.
   */
  private async kioskPage(file: string, session: string | null, lang: string | null): Promise<Buffer | undefined> {
    const htmlText = readFileSync(file, "utf8");
    if (!htmlText.includes(KIOSK_BOOT_MARKER)) return undefined;
    const api = this.opts.api;
    let boot;
    try {
      const current = api.currentOrder();
      boot = { v: 1, status: api.status(), catalog: api.catalog(), order: current && this.orderFor(current, session) };
    } catch (err) {
      // The page without it: the kiosk asks over the WebSocket and the API as before.
      this.opts.log?.("kiosk page: no snapshot", { error: String(err) });
      return undefined;
    }
    const block = `<script type="application/json" id="zapvend-boot">${jsonForScript(boot)}</script>`;
    let page = htmlText.replace(KIOSK_BOOT_MARKER, () => block);
    // The first screen itself, pre-rendered by the kiosk build's own renderer (kiosk-first-screen.ts): Chromium paints
    // the products before the kiosk's script runs. Any failure: the page without it (the kiosk renders as before).
    try {
      const withFirstScreen = await this.firstScreen?.get();
      if (withFirstScreen) page = withFirstScreen(page, boot, lang);
    } catch (err) {
      this.opts.log?.("kiosk page: no first screen", { error: String(err) });
    }
    return Buffer.from(page, "utf8");
  }

  /**
   * `GET /pictures/<sha256>`: a catalog picture the machine fetched from the fleet and verified. The name is its
   * hash, so the bytes never change: cached for a year. Only 64 hex digits name a file (no path ever reaches the disk).
   */
  private servePicture(p: string, res: http.ServerResponse): void {
    const m = /^\/pictures\/([0-9a-f]{64})$/.exec(p);
    const stored = m ? this.opts.api.picture?.(m[1]!) : undefined;
    let size: number | undefined;
    try {
      if (stored) size = statSync(stored.file).size;
    } catch {
      size = undefined; // pruned or lost since the index said so
    }
    if (!stored || size === undefined) {
      return send(res, 404, { error: { code: "not_found", message: m ? "this machine has no such picture (yet)" : "a picture is named by its sha256 in lower-case hex" } });
    }
    res.writeHead(200, {
      "content-type": stored.type,
      "content-length": size,
      "cache-control": "public, max-age=31536000, immutable",
      "x-content-type-options": "nosniff",
    });
    if (res.req.method === "HEAD") {
      res.end();
      return;
    }
    createReadStream(stored.file).pipe(res);
  }

  private async serveStatic(p: string, res: http.ServerResponse, session: string | null, lang: string | null): Promise<void> {
    const dir = this.opts.kioskDir;
    const rel = p === "/" ? "index.html" : decodeURIComponent(p).replace(/^\/+/, "");
    const file = dir ? path.resolve(dir, rel) : undefined;
    // Never serve outside the kiosk folder.
    if (!dir || !file || !file.startsWith(path.resolve(dir) + path.sep)) {
      return send(res, 404, { error: { code: "not_found", message: "not found" } });
    }
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error("not a file");
      size = st.size;
    } catch {
      if (p === "/") {
        res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
        res.end("The kiosk is not built: run `npm run build`.\n");
        return;
      }
      return send(res, 404, { error: { code: "not_found", message: "not found" } });
    }
    if (rel === "index.html") {
      // The kiosk page opens (or keeps) the screen's session; a reload keeps the cookie, and so its orders' credits.
      if (session === null) res.setHeader("set-cookie", `${KIOSK_SESSION_COOKIE}=${randomBytes(18).toString("base64url")}; Path=/; HttpOnly; SameSite=Strict`);
      const page = await this.kioskPage(file, session, lang);
      if (page) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": page.length, "cache-control": "no-store" });
        res.end(page);
        return;
      }
    }
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
      "content-length": size,
      // index.html must never be cached (a stale screen after an update); hashed assets may be.
      "cache-control": rel === "index.html" ? "no-store" : "public, max-age=300",
    });
    createReadStream(file).pipe(res);
  }
}

/** The kiosk's own origins on `port`: loopback by every name, and the listen host when it names one address. */
export function defaultOrigins(host: string, port: number): string[] {
  const hosts = ["127.0.0.1", "localhost", "[::1]"];
  const h = host.includes(":") ? `[${host}]` : host;
  if (!["0.0.0.0", "[::]", "::", ...hosts].includes(h) && !hosts.includes(h)) hosts.push(h);
  return hosts.map((x) => `http://${x}:${port}`);
}

/** Where the kiosk's index.html takes the daemon's snapshot (an HTML comment: harmless when served without it). */
export const KIOSK_BOOT_MARKER = "<!-- %ZAPVEND_BOOT% -->";

/**
 * JSON for a `<script type="application/json">` block: `<` (so no `</script>` or `<!--` can end or bend it), `>`, `&`
 * and the two JavaScript line separators as \u escapes, which JSON.parse reads back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(data), "cache-control": "no-store" });
  res.end(data);
}

/** BTCPay webhook deliveries are small JSON events; anything larger is refused before it is buffered. */
const MAX_WEBHOOK_BYTES = 64 * 1024;

async function readRawBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) throw new ApiFailure(413, "too_large", `body larger than ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new ApiFailure(413, "too_large", `body larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const raw = await readRawBody(req, MAX_HTTP_BODY_BYTES);
  if (raw.length === 0) return null;
  const text = raw.toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiFailure(400, "bad_json", "the body is not valid JSON");
  }
}
