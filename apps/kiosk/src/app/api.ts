// The kiosk's only way to the machine: its HTTP API and WebSocket (DESIGN.md "Machine HTTP API").
//
// Types come from @zapvend/protocol as `import type` only. Its runtime schemas (zod) would cost ~35 KB gzip in the
// browser bundle, more than the kiosk's whole 40 KB budget, so the screens do not run them: the daemon validates
// at its edge and builds every answer from the same protocol types, and the kiosk checks only the few fields it
// acts on (`isServerMessage`, `isOrderLike`) and ignores anything else. The test server of the browser suite runs
// every message it sends through protocol's `parseKioskServerMessage`, so the two cannot drift apart unseen.
import type {
  ApiError,
  Catalog,
  CreateOrderResponse,
  HarnessReport,
  HealthResponse,
  KioskClientMessage,
  KioskServerMessage,
  Order,
  RestockRequest,
  RestockResponse,
  ServiceLoginRequest,
  ServiceLoginResponse,
  ServiceStatusResponse,
  TestVendRequest,
  TestVendResponse,
} from "@zapvend/protocol";

/** An answer of the machine that is not a success: its HTTP status and coded error (`network` when unreachable). */
export class KioskApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${message} (${code})`);
    this.name = "KioskApiError";
  }
}

/** Request timeout, ms: the machine is on the same board, an answer slower than this means it is gone. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Test vends and the harness drive hardware and take longer. */
const SLOW_REQUEST_TIMEOUT_MS = 180_000;

export class MachineClient {
  /** Bearer token of the technician's service session, when signed in. */
  serviceToken: string | undefined;

  constructor(private readonly base: string) {}

  health(): Promise<HealthResponse> {
    return this.request("GET", "/api/health");
  }
  catalog(): Promise<Catalog> {
    return this.request("GET", "/api/catalog");
  }
  createOrder(slot: string): Promise<CreateOrderResponse> {
    return this.request("POST", "/api/orders", { slot });
  }
  order(orderId: string): Promise<Order> {
    return this.request("GET", `/api/orders/${encodeURIComponent(orderId)}`);
  }
  cancel(orderId: string): Promise<Order> {
    return this.request("POST", `/api/orders/${encodeURIComponent(orderId)}/cancel`);
  }
  demoPay(orderId: string): Promise<unknown> {
    return this.request("POST", "/api/demo/pay", { orderId });
  }

  async serviceLogin(pin: string): Promise<ServiceLoginResponse> {
    const body: ServiceLoginRequest = { pin };
    const r = await this.request<ServiceLoginResponse>("POST", "/api/service/login", body);
    this.serviceToken = r.token;
    return r;
  }
  async serviceLogout(): Promise<void> {
    if (!this.serviceToken) return;
    try {
      await this.request("POST", "/api/service/logout", undefined, true);
    } finally {
      this.serviceToken = undefined;
    }
  }
  serviceStatus(): Promise<ServiceStatusResponse> {
    return this.request("GET", "/api/service/status", undefined, true);
  }
  restock(slot: string, stock: number): Promise<RestockResponse> {
    const body: RestockRequest = { slot, stock };
    return this.request("POST", "/api/service/restock", body, true);
  }
  testVend(slot: string): Promise<TestVendResponse> {
    const body: TestVendRequest = { slot };
    return this.request("POST", "/api/service/test-vend", body, true, SLOW_REQUEST_TIMEOUT_MS);
  }
  harness(): Promise<HarnessReport> {
    return this.request("GET", "/api/service/harness", undefined, true, SLOW_REQUEST_TIMEOUT_MS);
  }

  private async request<T>(method: string, path: string, body?: unknown, auth = false, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (auth && this.serviceToken) headers.authorization = `Bearer ${this.serviceToken}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        cache: "no-store",
      });
    } catch (err) {
      throw new KioskApiError(0, "network", err instanceof Error ? err.message : String(err));
    }
    if (res.status === 204) return undefined as T;
    const data: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const e = (data as Partial<ApiError> | undefined)?.error;
      throw new KioskApiError(res.status, typeof e?.code === "string" ? e.code : `http_${res.status}`, typeof e?.message === "string" ? e.message : res.statusText);
    }
    if (data === undefined) throw new KioskApiError(res.status, "bad_json", "the machine answered something that is not JSON");
    return data as T;
  }
}

const SERVER_TYPES = new Set<KioskServerMessage["type"]>(["hello", "order", "status", "progress", "catalog", "pong"]);

/** The cheap shape check the kiosk does on a WebSocket message (see the note at the top of this file). */
export function isServerMessage(v: unknown): v is KioskServerMessage {
  if (typeof v !== "object" || v === null) return false;
  const m = v as { type?: unknown; order?: unknown; status?: unknown; catalog?: unknown; orderId?: unknown; progress?: unknown };
  if (typeof m.type !== "string" || !SERVER_TYPES.has(m.type as KioskServerMessage["type"])) return false;
  switch (m.type) {
    case "order":
      return isOrderLike(m.order);
    case "status":
      return typeof m.status === "object" && m.status !== null && typeof (m.status as { selling?: unknown }).selling === "boolean";
    case "catalog":
      return typeof m.catalog === "object" && m.catalog !== null && Array.isArray((m.catalog as { products?: unknown }).products);
    case "progress":
      return typeof m.orderId === "string" && typeof m.progress === "object" && m.progress !== null;
    default:
      return true;
  }
}

export function isOrderLike(v: unknown): v is Order {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Partial<Record<keyof Order, unknown>>;
  return typeof o.orderId === "string" && typeof o.state === "string" && typeof o.amountMsat === "string" && typeof o.expiresAt === "number";
}

export interface ConnectionEvents {
  onMessage(msg: KioskServerMessage): void;
  onOpen(): void;
  onClose(): void;
}

export interface ConnectionOptions {
  /** First reconnect delay, ms (doubles up to `maxDelayMs`). Default 500. */
  minDelayMs?: number;
  /** Longest reconnect delay, ms. Default 5000. */
  maxDelayMs?: number;
  /** Ping period, ms; a connection without any message for 2.5 periods is closed and reopened. Default 10000. */
  pingMs?: number;
}

/**
 * The WebSocket to the machine, reopened by itself after a restart of either side with a capped backoff, and
 * closed when it goes silent (a half-open TCP connection after the daemon's power loss sends no close frame).
 */
export class MachineConnection {
  private ws: WebSocket | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private ping: ReturnType<typeof setInterval> | undefined;
  private delayMs: number;
  private lastSeen = 0;
  private stopped = true;

  constructor(
    private readonly url: string,
    private readonly events: ConnectionEvents,
    private readonly opts: ConnectionOptions = {},
  ) {
    this.delayMs = opts.minDelayMs ?? 500;
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.ping);
    this.ws?.close();
    this.ws = undefined;
  }

  send(msg: KioskClientMessage): void {
    if (this.open) this.ws?.send(JSON.stringify(msg));
  }

  private connect(): void {
    if (this.stopped) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.delayMs = this.opts.minDelayMs ?? 500;
      this.lastSeen = Date.now();
      const pingMs = this.opts.pingMs ?? 10_000;
      clearInterval(this.ping);
      this.ping = setInterval(() => {
        if (Date.now() - this.lastSeen > pingMs * 2.5) ws.close();
        else this.send({ type: "ping", t: Date.now() });
      }, pingMs);
      this.events.onOpen();
    };
    ws.onmessage = (ev: MessageEvent) => {
      this.lastSeen = Date.now();
      if (typeof ev.data !== "string") return;
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (isServerMessage(data)) this.events.onMessage(data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      clearInterval(this.ping);
      this.ws = undefined;
      this.events.onClose();
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, this.opts.maxDelayMs ?? 5_000);
  }
}
