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
  CreateOrderRequest,
  CreateOrderResponse,
  CurrentOrderResponse,
  DemoSimRequest,
  DemoSimResponse,
  DemoVmcRequest,
  DemoVmcResponse,
  HarnessReport,
  HealthResponse,
  KioskClientMessage,
  KioskServerMessage,
  MachineStatusView,
  Order,
  RestockRequest,
  RestockResponse,
  ServiceLoginRequest,
  ServiceLoginResponse,
  ServiceModeRequest,
  ServiceStatusResponse,
  TestVendRequest,
  TestVendResponse,
} from "@zapvend/protocol";

export type ServiceMode = ServiceModeRequest["mode"];

/**
 * What index.html's inline script started before this code arrived (it takes a Pi a while to download and compile
 * the kiosk's script): the WebSocket with the messages it got so far, and `GET /api/orders/current`.
 */
export interface EarlyStart {
  /** Opened only for a page served without the daemon's snapshot (with one, the kiosk opens it after its first frame). */
  ws?: WebSocket;
  opened: boolean;
  closed: boolean;
  msgs: string[];
  /**
   * What the daemon put into the page it served (`<script type="application/json" id="zapvend-boot">`): its status,
   * catalog and current order as of that request. Absent when the page was served without it; then `current` is set.
   */
  boot?: BootSnapshot;
  /**
   * The slot of a product the buyer tapped on the daemon's pre-rendered first screen before the kiosk took over
   * (first-screen.ts records it): the kiosk buys it once it has.
   */
  tap?: string;
  /** `GET /api/orders/current` as status and body text (undefined when unreachable); `currentAnswer` once arrived. */
  current?: Promise<EarlyAnswer | undefined>;
  currentAnswer?: EarlyAnswer;
}

export interface BootSnapshot {
  v: 1;
  status: MachineStatusView;
  catalog: Catalog;
  order: Order | null;
}

/** The daemon's snapshot, when it is one the kiosk can use (checked as the WebSocket's messages are). */
export function bootOf(early: EarlyStart | undefined): BootSnapshot | undefined {
  const b = early?.boot;
  if (typeof b !== "object" || b === null) return undefined;
  const ok =
    isServerMessage({ type: "status", status: b.status }) &&
    isServerMessage({ type: "catalog", catalog: b.catalog }) &&
    (b.order === null || isOrderLike(b.order));
  return ok ? b : undefined;
}

export interface EarlyAnswer {
  status: number;
  text: string;
}

/** Takes over what index.html started (once); undefined when the page has no early start. */
export function takeEarlyStart(): EarlyStart | undefined {
  const w = window as { zapvendEarly?: EarlyStart };
  const early = w.zapvendEarly;
  w.zapvendEarly = undefined;
  return early && Array.isArray(early.msgs) ? early : undefined;
}

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

  constructor(
    private readonly base: string,
    /** What index.html started: its `GET /api/orders/current` is used by the first `currentOrder()`. */
    private early?: EarlyStart,
  ) {}

  health(): Promise<HealthResponse> {
    return this.request("GET", "/api/health");
  }
  catalog(): Promise<Catalog> {
    return this.request("GET", "/api/catalog");
  }
  /** A new order; with `creditId` the machine spends that credit on it. */
  createOrder(slot: string, creditId?: string): Promise<CreateOrderResponse> {
    const body: CreateOrderRequest = creditId ? { slot, creditId } : { slot };
    return this.request("POST", "/api/orders", body);
  }
  /** The order being vended or finished in the last seconds (404 from a daemon without the route). */
  async currentOrder(): Promise<CurrentOrderResponse> {
    const early = this.early?.current;
    this.early = undefined;
    const a = early && (await early);
    return a ? decode(a.status, a.text, "") : this.request("GET", "/api/orders/current");
  }
  /**
   * The answer of index.html's `GET /api/orders/current` if it has already arrived (then `currentOrder()` asks
   * the machine again), so the first screen can be decided without waiting a turn. Throws its error answer.
   */
  currentOrderIfArrived(): CurrentOrderResponse | undefined {
    const a = this.early?.currentAnswer;
    if (!a) return undefined;
    this.early = undefined;
    return decode(a.status, a.text, "");
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
  /** Opens or closes the sim board's door (demo only). */
  /** The sim VMC (demo only): its keypad and service mode (`POST /api/demo/vmc`). */
  demoVmc(body: DemoVmcRequest): Promise<DemoVmcResponse> {
    return this.request("POST", "/api/demo/vmc", body);
  }
  demoSim(body: DemoSimRequest): Promise<DemoSimResponse> {
    return this.request("POST", "/api/demo/sim", body);
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
  setMode(mode: ServiceMode): Promise<ServiceStatusResponse> {
    const body: ServiceModeRequest = { mode };
    return this.request("POST", "/api/service/mode", body, true);
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
    // The machine takes a POST only as JSON (a form or text/plain POST from another web page is refused): a POST
    // without a body (cancel, logout) sends an empty object.
    const payload = body !== undefined ? JSON.stringify(body) : method === "POST" ? "{}" : undefined;
    if (payload !== undefined) headers["content-type"] = "application/json";
    if (auth && this.serviceToken) headers.authorization = `Bearer ${this.serviceToken}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(timeoutMs),
        cache: "no-store",
      });
    } catch (err) {
      throw new KioskApiError(0, "network", err instanceof Error ? err.message : String(err));
    }
    return this.answer(res);
  }

  private async answer<T>(res: Response): Promise<T> {
    if (res.status === 204) return undefined as T;
    return decode(res.status, await res.text().catch(() => ""), res.statusText);
  }
}

/** An HTTP answer of the machine as the kiosk uses it: the JSON of a 2xx, else a `KioskApiError` with its code. */
function decode<T>(status: number, text: string, statusText: string): T {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (status < 200 || status > 299) {
    const e = (data as Partial<ApiError> | undefined)?.error;
    throw new KioskApiError(status, typeof e?.code === "string" ? e.code : `http_${status}`, typeof e?.message === "string" ? e.message : statusText);
  }
  if (data === undefined) throw new KioskApiError(status, "bad_json", "the machine answered something that is not JSON");
  return data as T;
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

/** The credit of an order, when it has a usable one. */
export function creditOf(o: Order): { creditId: string; amountMsat: string } | undefined {
  const c = o.credit;
  return c && typeof c.creditId === "string" && typeof c.amountMsat === "string" ? c : undefined;
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
  private early: EarlyStart | undefined;
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

  /** Opens the connection; `early` is a socket index.html opened already, with what it received so far. */
  start(early?: EarlyStart): void {
    this.stopped = false;
    this.early = early;
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
    const early = this.early;
    this.early = undefined;
    let ws: WebSocket;
    if (early?.ws && !early.closed && early.ws.readyState <= WebSocket.OPEN) {
      ws = early.ws;
    } else {
      early?.ws?.close();
      try {
        ws = new WebSocket(this.url);
      } catch {
        this.scheduleReconnect();
        return;
      }
    }
    this.ws = ws;
    const opened = () => {
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
    ws.onopen = opened;
    const receive = (raw: unknown) => {
      this.lastSeen = Date.now();
      if (typeof raw !== "string") return;
      let data: unknown;
      try {
        data = JSON.parse(raw);
      } catch {
        return;
      }
      if (isServerMessage(data)) this.events.onMessage(data);
    };
    ws.onmessage = (ev: MessageEvent) => receive(ev.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      clearInterval(this.ping);
      this.ws = undefined;
      this.events.onClose();
      this.scheduleReconnect();
    };
    if (early && ws === early.ws && ws.readyState === WebSocket.OPEN) {
      // Opened before this code ran: replay its open and the messages that came meanwhile, in order.
      opened();
      for (const raw of early.msgs) receive(raw);
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, this.opts.maxDelayMs ?? 5_000);
  }
}
