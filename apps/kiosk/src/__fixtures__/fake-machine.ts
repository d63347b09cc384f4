// A test server that plays the machine daemon's HTTP API and WebSocket exactly as DESIGN.md and
// @zapvend/protocol define them, for the kiosk's browser tests. It serves the built kiosk at `/`, signs real BOLT 11
// invoices, and runs every answer and push through protocol's schemas before sending it, so a kiosk that passes
// here speaks the real contract. The tests script the machine's side (pay, vend, fail, expire, restart).
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import bolt11 from "bolt11";
import { WebSocketServer, type WebSocket } from "ws";
import { withFirstScreen } from "../app/first-screen.js";
import {
  ApiError,
  Catalog,
  CreateOrderResponse,
  CurrentOrderResponse,
  DemoSimRequest,
  DemoSimResponse,
  DemoVmcRequest,
  DemoVmcResponse,
  HarnessReport,
  HealthResponse,
  Order,
  RestockRequest,
  RestockResponse,
  ServiceLoginRequest,
  ServiceLoginResponse,
  ServiceModeRequest,
  ServiceStatusResponse,
  TestVendRequest,
  TestVendResponse,
  parseCreateOrderRequest,
  parseKioskClientMessage,
  parseKioskServerMessage,
  type CatalogEntry,
  type KioskServerMessage,
  type MachineStatusView,
  type VendProgress,
} from "@zapvend/protocol";

/** Faults the sim board knows (DESIGN.md, harness contract). */
/** Fault codes of parts every slot shares: the daemon stops selling on them (see @zapvend/controller's faults). */
const MACHINE_WIDE_FAULTS = ["DROP_SENSOR_STUCK", "BOARD_DISCONNECTED"];
const SIM_FAULTS = ["pump-dry", "spiral-jam", "drop-sensor-stuck", "door-open", "flow-sensor-dead"];
/** How long a finished order stays `GET /api/orders/current`, ms. */
const CURRENT_AFTER_FINAL_MS = 15_000;

const REGTEST = { bech32: "bcrt", pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };

export interface FakeProduct {
  slot: string;
  name: string;
  kind: "pour" | "spiral" | "mdb";
  priceMsat: string | null;
  fiatMinor: number | null;
  stock: number;
  capacity: number;
  volumeMl?: number;
  icon?: string;
  enabled?: boolean;
  /** The fleet product's names (issue #18). */
  names?: CatalogEntry["names"];
  /** The fleet product's picture: in the catalog (as the daemon does) only while `FakeMachine.pictures` holds it. */
  picture?: { sha256: string; width: number; height: number };
}

export interface FakeMachineOptions {
  kioskDir: string;
  products?: FakeProduct[];
  /** Invoice lifetime, ms. Default 10 minutes. */
  invoiceTtlMs?: number;
  demoWallet?: boolean;
  /** The board is the sim board: health says `demoBoard` and `POST /api/demo/sim` works. Default true. */
  demoBoard?: boolean;
  /**
   * The status carries `operatingMode` (the stored mode, also while the door is open), as the daemon does. False
   * plays an older daemon without it. Default true.
   */
  operatingMode?: boolean;
  /** False plays an older daemon without `GET /api/orders/current` (404). Default true. */
  currentOrderRoute?: boolean;
  pin?: string;
  currency?: string;
  /**
   * index.html served as the daemon serves it: its status, catalog and current order in place of the marker
   * `<!-- %ZAPVEND_BOOT% -->` (apps/machine http-server.ts). Default false: the page as built (another server).
   */
  bootSnapshot?: boolean;
  /**
   * With `bootSnapshot`: the first screen pre-rendered into the page too, as the daemon does with the kiosk build's
   * `first-screen.mjs` (here the same code from source). Default true; false plays a kiosk build without it.
   */
  firstScreen?: boolean;
  /**
   * An MDB machine (zapvend is the card reader of a VMC): the status carries `mdb` (the reader enabled), the products
   * are the selection map, and the service menu opens as the daemon's `board.serviceAccess` says: `vmc-service` only
   * while the reader is disabled (`setMdb({state: "disabled"})`, the VMC's service mode), `pin` always.
   */
  mdb?: { serviceAccess: "vmc-service" | "pin"; demoVmc?: boolean };
}

export const MDB_PRODUCTS: FakeProduct[] = [
  { slot: "S11", name: "Cola", kind: "mdb", priceMsat: "2000000", fiatMinor: 200, stock: 10, capacity: 10, icon: "🥤" },
  { slot: "S12", name: "Chocolate bar", kind: "mdb", priceMsat: "2500000", fiatMinor: 250, stock: 10, capacity: 10, icon: "🍫", enabled: false },
];

export const DEFAULT_PRODUCTS: FakeProduct[] = [
  { slot: "A1", name: "Cold brew", kind: "pour", priceMsat: "2100000", fiatMinor: 250, stock: 12, capacity: 20, volumeMl: 250, icon: "☕" },
  { slot: "A2", name: "Sparkling water", kind: "pour", priceMsat: "1260000", fiatMinor: 150, stock: 0, capacity: 20, volumeMl: 330, icon: "💧" },
  { slot: "B1", name: "Dark chocolate", kind: "spiral", priceMsat: "1680000", fiatMinor: 200, stock: 5, capacity: 8, icon: "🍫" },
];

/** The JSON a schema accepts, checked: the fake never sends what the real daemon could not. */
function checked<T>(schema: { safeParse(v: unknown): { success: boolean; error?: { message: string } } }, value: T): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`fake machine would break the contract: ${r.error?.message}`);
  return value;
}

export class FakeMachine {
  readonly machineId = "snacks-01";
  boot = 1;
  status: MachineStatusView;
  products: FakeProduct[];
  readonly orders = new Map<string, Order>();
  /** The pictures this machine has stored, by sha256, served at `/pictures/<sha256>` as the daemon does. */
  readonly pictures = new Map<string, { type: string; bytes: Buffer }>();
  readonly requests: Array<{ method: string; path: string; body: unknown }> = [];
  demoWallet: boolean;
  demoBoard: boolean;
  simFaults: string[] = [];
  /** Credits granted after failed plain-paid vends: balance left, and the pending order that reserves it. */
  readonly credits = new Map<string, { balanceMsat: bigint; reservedBy?: string }>();
  /** The mode the technician (or the fleet) set; the status says `service` while the door is open, as the daemon does. */
  private baseMode: "normal" | "maintenance" = "normal";
  /** What the next vend does: complete, or fail with a fault (refund for hold invoices, credit otherwise). */
  nextVend: { ok: true } | { ok: false; code: string; hold: boolean } = { ok: true };
  /** When set, the service harness answer. */
  harnessReport: HarnessReport = {
    board: "sim",
    checks: [
      { name: "pump", status: "pass", detail: "drew 410 mA", measured: { currentMa: 410 } },
      { name: "flow meter", status: "fail", code: "FLOW_SENSOR_DEAD", detail: "no pulse in 2000 ms" },
      { name: "door switch", status: "skip", detail: "door open" },
    ],
  };
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  /** True: every WebSocket upgrade is refused (the HTTP API still answers). */
  refuseWebSocket = false;
  private readonly sockets = new Set<WebSocket>();
  private port = 0;
  private readonly nodeKey = randomBytes(32).toString("hex");
  private readonly tokens = new Set<string>();
  private readonly pin: string;

  constructor(private readonly opts: FakeMachineOptions) {
    this.products = structuredClone(opts.products ?? (opts.mdb ? MDB_PRODUCTS : DEFAULT_PRODUCTS));
    this.demoWallet = opts.demoWallet ?? true;
    this.demoBoard = opts.demoBoard ?? true;
    this.pin = opts.pin ?? "2468";
    this.status = { machineId: this.machineId, mode: "normal", selling: true, payments: "up", hardware: "up", door: "closed", faults: [] };
    if (opts.operatingMode ?? true) this.status.operatingMode = "normal";
    if (opts.mdb) this.status.mdb = { state: "enabled", selling: true, approvalTimeoutSec: 60, badLines: 0, lastLineAt: null, unconfirmedVends: 0 };
  }

  /**
   * The VMC changes the reader's MDB state or its counters (MDB machine). As the daemon: not `enabled`/`idle`/`vend`
   * is not selling, and with `vmc-service` access the reader leaving `disabled` ends every service session.
   */
  setMdb(patch: Partial<NonNullable<MachineStatusView["mdb"]>>): void {
    const before = this.status.mdb;
    if (!before) throw new Error("not an MDB machine");
    const mdb = { ...before, ...patch };
    mdb.selling = mdb.state === "enabled" || mdb.state === "idle" || mdb.state === "vend";
    if (this.opts.mdb?.serviceAccess === "vmc-service" && before.state === "disabled" && mdb.state !== "disabled") this.tokens.clear();
    this.status = { ...this.status, mdb };
    this.setStatus({});
  }

  /**
   * When set, a test vend answers only once this settles (an MDB test vend waits for the technician's keypad press);
   * `nextVend` says how it ends.
   */
  testVendGate: Promise<void> | undefined;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get clientCount(): number {
    return this.sockets.size;
  }

  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "internal", message: String(err) } }));
      });
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on("upgrade", (req, socket, head) => {
      if (req.url !== "/ws" || this.refuseWebSocket) return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.wss = wss;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.wss?.close();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A daemon restart: every connection drops, orders in memory are gone, the boot counter moves on. */
  async restart(opts: { keepOrders?: boolean; downMs?: number } = {}): Promise<void> {
    await this.stop();
    if (!opts.keepOrders) this.orders.clear();
    this.boot++;
    if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
    await this.start();
  }

  // --- the machine's side, scripted by the tests -------------------------------------------------------------

  setStatus(patch: Partial<MachineStatusView>): void {
    const doorClosed = this.status.door === "open" && patch.door === "closed";
    if (patch.mode === "normal" || patch.mode === "maintenance") this.baseMode = patch.mode;
    this.status = { ...this.status, ...patch };
    const s = this.status;
    s.mode = s.door === "open" ? "service" : this.baseMode;
    if (this.opts.operatingMode ?? true) s.operatingMode = this.baseMode;
    else delete s.operatingMode;
    // As the daemon: a fault of a part every slot shares (the drop beam, the board) stops all selling; a slot's
    // fault (a jam) leaves the hardware `degraded` and the other slots on sale.
    const machineWide = s.faults.some((f) => MACHINE_WIDE_FAULTS.includes(f.code));
    this.status.selling = s.mode === "normal" && s.payments !== "down" && s.hardware !== "down" && !machineWide && s.door === "closed" && (s.mdb?.selling ?? true);
    // Closing the door ends every service session (the daemon revokes the tokens).
    if (doorClosed) this.tokens.clear();
    this.broadcast({ type: "status", status: this.status });
  }

  /** The order `GET /api/orders/current` answers: the one vending, else one that finished in the last 15 s. */
  currentOrder(): Order | null {
    const all = [...this.orders.values()];
    const vending = all.find((o) => o.state === "held" || o.state === "dispensing");
    if (vending) return vending;
    const recent = all
      .filter((o) => o.state !== "pending" && Date.now() - o.updatedAt <= CURRENT_AFTER_FINAL_MS)
      .sort((a, b) => b.updatedAt - a.updatedAt);
    return recent[0] ?? null;
  }

  catalog(): Catalog {
    const rate = { currency: this.opts.currency ?? "EUR", msatPerUnit: "84000000", source: "kraken", fetchedAt: Date.now() - 3 * 60_000 };
    const products: CatalogEntry[] = this.products.map((p) => ({
      slot: p.slot,
      name: p.name,
      kind: p.kind,
      icon: p.icon,
      volumeMl: p.volumeMl,
      priceMsat: p.priceMsat,
      fiat: p.fiatMinor === null ? null : { currency: this.opts.currency ?? "EUR", amountMinor: p.fiatMinor },
      stock: p.stock,
      soldOut: p.stock === 0,
      enabled: p.enabled ?? true,
      ...(p.names ? { names: p.names } : {}),
      ...(p.picture && this.pictures.has(p.picture.sha256) ? { picture: { url: `/pictures/${p.picture.sha256}`, width: p.picture.width, height: p.picture.height } } : {}),
    }));
    return checked(Catalog, { machineId: this.machineId, currency: this.opts.currency ?? "EUR", rate, products });
  }

  /** The wallet paid: the hold invoice is accepted, the machine vends, and settles or cancels. */
  async pay(orderId: string, { stepMs = 30 }: { stepMs?: number } = {}): Promise<Order> {
    const order = this.orders.get(orderId);
    if (!order || order.state !== "pending") throw new Error(`cannot pay order ${orderId} in state ${order?.state}`);
    this.spendReservedCredit(orderId);
    this.update(orderId, { state: "held" });
    return this.vend(orderId, stepMs);
  }

  /** The vend of a `held` order: dispensing with progress, then completed, refunded or credited (`nextVend`). */
  private async vend(orderId: string, stepMs = 30): Promise<Order> {
    const order = this.orders.get(orderId)!;
    const sleep = () => new Promise((r) => setTimeout(r, stepMs));
    await sleep();
    this.update(orderId, { state: "dispensing" });
    const product = this.products.find((p) => p.slot === order.slot)!;
    const progress: VendProgress[] =
      order.kind === "pour"
        ? [0.25, 0.5, 1].map((f) => ({ kind: "pour", pouredMl: Math.round((product.volumeMl ?? 0) * f), targetMl: product.volumeMl ?? 0 }))
        : [{ kind: "spiral", phase: "turning" }, { kind: "spiral", phase: "waiting-drop" }];
    for (const p of progress) {
      this.broadcast({ type: "progress", orderId, progress: p });
      await sleep();
    }
    const vend = this.nextVend;
    if (vend.ok) {
      product.stock--;
      this.broadcast({ type: "catalog", catalog: this.catalog() });
      return this.update(orderId, { state: "completed" });
    }
    const failure = { code: vend.code, message: "the product did not come out" };
    if (vend.hold) return this.update(orderId, { state: "refunded", failure, hold: true });
    // The buyer paid the whole price (over Lightning and from an earlier credit): all of it becomes the credit.
    const paidMsat = BigInt(order.amountMsat) + BigInt(order.creditAppliedMsat ?? "0");
    const creditId = `cr_${randomBytes(6).toString("hex")}`;
    this.credits.set(creditId, { balanceMsat: paidMsat });
    return this.update(orderId, { state: "credited", failure, hold: false, credit: { creditId, amountMsat: paidMsat.toString() } });
  }

  /** A paid rest: the credit reserved by the order is spent. */
  private spendReservedCredit(orderId: string): void {
    for (const c of this.credits.values()) {
      if (c.reservedBy === orderId) {
        c.balanceMsat = 0n;
        c.reservedBy = undefined;
      }
    }
  }

  /** An order that ends unpaid gives its reserved credit back. */
  private releaseCredit(orderId: string): void {
    for (const c of this.credits.values()) if (c.reservedBy === orderId) c.reservedBy = undefined;
  }

  /** Hold the vend at `dispensing` with some progress (to test what the screen shows meanwhile). */
  startVend(orderId: string, progress: VendProgress): void {
    this.update(orderId, { state: "held" });
    this.update(orderId, { state: "dispensing" });
    this.broadcast({ type: "progress", orderId, progress });
  }

  /** The vend started with `startVend` ends well: product out, payment settled. */
  complete(orderId: string): Order {
    return this.update(orderId, { state: "completed" });
  }

  /**
   * The wallet sent less than the invoice asked and the node held it: the machine cancels the hold at once, as the
   * daemon does (`pending` -> `refunded` with `failure.code` `underpaid`, nothing vended).
   */
  underpay(orderId: string, paidMsat: bigint): Order {
    const order = this.orders.get(orderId);
    if (!order || order.state !== "pending") throw new Error(`cannot underpay order ${orderId} in state ${order?.state}`);
    this.releaseCredit(orderId);
    return this.update(orderId, {
      state: "refunded",
      failure: { code: "underpaid", message: `${paidMsat} msat paid of ${order.amountMsat} msat; the payment goes back to the payer` },
    });
  }

  expire(orderId: string): Order {
    this.releaseCredit(orderId);
    return this.update(orderId, { state: "expired", failure: { code: "expired", message: "the invoice expired unpaid" } });
  }

  lastOrder(): Order | undefined {
    return [...this.orders.values()].at(-1);
  }

  private update(orderId: string, patch: Partial<Order>): Order {
    const prev = this.orders.get(orderId);
    if (!prev) throw new Error(`no order ${orderId}`);
    const order = checked(Order, { ...prev, ...patch, updatedAt: Date.now() });
    this.orders.set(orderId, order);
    this.broadcast({ type: "order", order });
    return order;
  }

  private broadcast(msg: KioskServerMessage): void {
    const data = this.wire(msg);
    for (const ws of this.sockets) if (ws.readyState === ws.OPEN) ws.send(data);
  }

  /** Every push goes through protocol's own parser first: the kiosk sees only what a real daemon may send. */
  private wire(msg: KioskServerMessage): string {
    const data = JSON.stringify(msg);
    const parsed = parseKioskServerMessage(data);
    if (!parsed.ok) throw new Error(`fake machine would push an invalid ${msg.type}: ${parsed.error.message} at ${parsed.error.path}`);
    return data;
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.send(this.wire({ type: "hello", machineId: this.machineId, boot: this.boot, version: "0.1.0-test" }));
    ws.send(this.wire({ type: "status", status: this.status }));
    ws.send(this.wire({ type: "catalog", catalog: this.catalog() }));
    ws.on("message", (data: Buffer) => {
      const m = parseKioskClientMessage(new Uint8Array(data));
      if (!m.ok) throw new Error(`kiosk sent an invalid message: ${m.error.message}`);
      if (m.value.type === "ping") ws.send(this.wire({ type: "pong", t: m.value.t }));
      else {
        const order = this.orders.get(m.value.orderId);
        if (order) ws.send(this.wire({ type: "order", order }));
      }
    });
    ws.on("close", () => this.sockets.delete(ws));
  }

  private health(): HealthResponse {
    return checked(HealthResponse, {
      ...this.status,
      status: this.status.selling ? "up" : "degraded",
      version: "0.1.0-test",
      uptimeMs: 60_000,
      ...(this.demoWallet ? { demoWallet: true } : {}),
      ...(this.demoBoard ? { demoBoard: true } : {}),
      ...(this.opts.mdb?.demoVmc ? { demoVmc: true } : {}),
    });
  }

  private createOrder(slot: string, creditId?: string): Order & { creditAppliedMsat?: string } {
    const product = this.products.find((p) => p.slot === slot);
    if (!product) throw new Failure(400, "unknown_slot", `no slot ${slot}`);
    if (!this.status.selling) {
      throw new Failure(503, this.status.payments === "down" ? "payments_unavailable" : "hardware_unavailable", "the machine cannot sell now");
    }
    if (product.stock === 0) throw new Failure(409, "sold_out", `${slot} is sold out`);
    const now = Date.now();
    const ttlMs = this.opts.invoiceTtlMs ?? 600_000;
    const priceMsat = BigInt(product.priceMsat!);
    let appliedMsat: bigint | undefined;
    const credit = creditId === undefined ? undefined : this.credits.get(creditId);
    if (creditId !== undefined) {
      if (!credit) throw new Failure(404, "credit_not_found", `no credit ${creditId}`);
      if (credit.balanceMsat === 0n) throw new Failure(409, "credit_spent", `credit ${creditId} is used up`);
      if (credit.reservedBy && this.orders.get(credit.reservedBy)?.state === "pending") {
        throw new Failure(409, "credit_in_use", `credit ${creditId} is reserved by order ${credit.reservedBy}`);
      }
      appliedMsat = credit.balanceMsat < priceMsat ? credit.balanceMsat : priceMsat;
    }
    const base = {
      orderId: `ord_${randomBytes(8).toString("hex")}`,
      slot,
      productName: product.name,
      kind: product.kind,
      fiat: product.fiatMinor === null ? null : { currency: this.opts.currency ?? "EUR", amountMinor: product.fiatMinor },
      createdAt: now,
      updatedAt: now,
      failure: null,
      evidence: null,
      credit: null,
      ...(appliedMsat === undefined ? {} : { creditAppliedMsat: appliedMsat.toString() }),
    };
    if (credit && appliedMsat === priceMsat) {
      // The credit covers the price: no invoice, the machine vends at once.
      credit.balanceMsat -= appliedMsat;
      const order = checked(Order, { ...base, state: "held" as const, amountMsat: "0", paymentHash: null, bolt11: null, hold: false, expiresAt: now + ttlMs });
      checked(CreateOrderResponse, order);
      this.orders.set(order.orderId, order);
      this.broadcast({ type: "order", order });
      setTimeout(() => void this.vend(order.orderId).catch(() => undefined), 30);
      return order;
    }
    const dueMsat = priceMsat - (appliedMsat ?? 0n);
    if (credit) credit.reservedBy = base.orderId;
    const paymentHash = randomBytes(32).toString("hex");
    const encoded = bolt11.encode({
      millisatoshis: dueMsat.toString(),
      timestamp: Math.floor(now / 1000),
      network: REGTEST,
      tags: [
        { tagName: "payment_hash", data: paymentHash },
        { tagName: "payment_secret", data: randomBytes(32).toString("hex") },
        { tagName: "description", data: `zapvend ${this.machineId} ${slot}` },
        { tagName: "expire_time", data: Math.round(ttlMs / 1000) },
      ],
    });
    const invoice = bolt11.sign(encoded, this.nodeKey).paymentRequest!;
    const order: Order = checked(Order, {
      ...base,
      state: "pending" as const,
      amountMsat: dueMsat.toString(),
      paymentHash,
      bolt11: invoice,
      // A rest paid after a credit is a plain payment in this fake (a failed vend credits it all again).
      hold: !credit,
      expiresAt: now + ttlMs,
    });
    checked(CreateOrderResponse, order);
    this.orders.set(order.orderId, order);
    this.broadcast({ type: "order", order });
    return order;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname;
    const method = req.method ?? "GET";
    const body = method === "POST" ? await readBody(req) : undefined;
    this.requests.push({ method, path: p, body });
    try {
      const pic = /^\/pictures\/([0-9a-f]{64})$/.exec(p);
      if (pic) {
        const stored = this.pictures.get(pic[1]!);
        if (!stored) return send(res, 404, { error: { code: "not_found", message: "no such picture" } });
        res.writeHead(200, { "content-type": stored.type, "content-length": stored.bytes.length, "cache-control": "public, max-age=31536000, immutable" });
        return void res.end(stored.bytes);
      }
      if (!p.startsWith("/api/")) return this.serveStatic(p, res, url.searchParams.get("lang"));
      if (method === "GET" && p === "/api/health") return send(res, 200, this.health());
      if (method === "GET" && p === "/api/catalog") return send(res, 200, this.catalog());
      if (method === "POST" && p === "/api/orders") {
        const parsed = parseCreateOrderRequest(body);
        if (!parsed.ok) throw new Failure(400, parsed.error.code, parsed.error.message);
        return send(res, 201, this.createOrder(parsed.value.slot, parsed.value.creditId));
      }
      if (method === "GET" && p === "/api/orders/current" && (this.opts.currentOrderRoute ?? true)) {
        return send(res, 200, checked(CurrentOrderResponse, { order: this.currentOrder() }));
      }
      const m = /^\/api\/orders\/([A-Za-z0-9_-]{1,64})(\/cancel)?$/.exec(p);
      if (m) {
        const order = this.orders.get(m[1]!);
        if (!order) throw new Failure(404, "not_found", `no order ${m[1]}`);
        if (method === "GET" && !m[2]) return send(res, 200, order);
        if (method === "POST" && m[2]) {
          if (order.state !== "pending") return send(res, 200, order);
          this.releaseCredit(order.orderId);
          return send(res, 200, this.update(order.orderId, { state: "expired", failure: { code: "cancelled", message: "cancelled by the buyer" } }));
        }
      }
      if (method === "POST" && p === "/api/demo/pay") {
        if (!this.demoWallet) throw new Failure(404, "not_found", "the demo wallet exists only with the sim Lightning node");
        const orderId = (body as { orderId?: unknown } | null)?.orderId;
        if (typeof orderId !== "string" || !this.orders.has(orderId)) throw new Failure(400, "bad_value", "orderId is required");
        send(res, 202, { status: "paying" });
        void this.pay(orderId).catch(() => undefined);
        return;
      }
      if (method === "POST" && p === "/api/demo/sim") {
        if (!this.demoBoard) throw new Failure(404, "not_found", "POST /api/demo/sim exists only with the sim board");
        const r = DemoSimRequest.safeParse(body);
        if (!r.success) throw new Failure(400, "bad_value", r.error.message);
        const unknown = r.data.faults?.find((f) => !SIM_FAULTS.includes(f));
        if (unknown) throw new Failure(400, "unknown_sim_fault", `the sim board has no fault ${unknown}`);
        if (r.data.faults) this.simFaults = [...r.data.faults];
        if (r.data.door) this.setStatus({ door: r.data.door });
        return send(res, 200, checked(DemoSimResponse, { door: this.status.door, faults: this.simFaults }));
      }
      if (method === "POST" && p === "/api/demo/vmc") {
        // The sim VMC's service mode only (what the service menu's demo buttons use).
        if (!this.opts.mdb?.demoVmc) throw new Failure(404, "not_found", "POST /api/demo/vmc exists only with the sim VMC");
        const r = DemoVmcRequest.safeParse(body);
        if (!r.success || !("inService" in r.data)) throw new Failure(400, "bad_value", "this fake takes {inService} only");
        this.setMdb({ state: r.data.inService ? "enabled" : "disabled" });
        return send(
          res,
          200,
          checked(DemoVmcResponse, { phase: this.status.mdb!.state, inService: r.data.inService, readerOn: true, plugged: true, failNext: false, selections: [], pending: null, lines: [] }),
        );
      }
      if (p.startsWith("/api/service/")) return this.service(method, p, body, req.headers.authorization, res);
      throw new Failure(404, "not_found", `no route ${method} ${p}`);
    } catch (err) {
      if (err instanceof Failure) return send(res, err.status, checked(ApiError, { error: { code: err.code, message: err.message } }));
      throw err;
    }
  }

  private service(method: string, p: string, body: unknown, authorization: string | undefined, res: http.ServerResponse): void {
    if (method === "POST" && p === "/api/service/login") {
      const parsed = ServiceLoginRequest.safeParse(body);
      if (!parsed.success) throw new Failure(400, "bad_value", "a PIN is 4 to 12 digits");
      // Before the PIN: a buyer at a closed machine cannot guess PINs.
      if (this.opts.mdb) {
        if (this.opts.mdb.serviceAccess === "vmc-service" && this.status.mdb?.state !== "disabled") {
          throw new Failure(403, "vmc_not_in_service", "put the vending machine in its own service mode (open it)");
        }
      } else if (this.status.door === "closed") throw new Failure(403, "door_closed", "open the machine's door to use the service menu");
      if (parsed.data.pin !== this.pin) throw new Failure(401, "wrong_pin", "wrong PIN");
      const token = randomBytes(24).toString("base64url");
      this.tokens.add(token);
      return send(res, 200, checked(ServiceLoginResponse, { token, expiresAt: Date.now() + 600_000 }));
    }
    const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
    if (!token || !this.tokens.has(token)) throw new Failure(401, "unauthorized", "sign in with the service PIN");
    if (method === "POST" && p === "/api/service/logout") {
      this.tokens.delete(token);
      res.writeHead(204).end();
      return;
    }
    if (method === "GET" && p === "/api/service/status") return send(res, 200, this.serviceStatus());
    if (method === "POST" && p === "/api/service/mode") {
      const r = ServiceModeRequest.safeParse(body);
      if (!r.success) throw new Failure(400, "bad_value", r.error.message);
      this.setStatus({ mode: r.data.mode });
      return send(res, 200, this.serviceStatus());
    }
    if (method === "POST" && p === "/api/service/restock") {
      const r = RestockRequest.safeParse(body);
      if (!r.success) throw new Failure(400, "bad_value", r.error.message);
      const product = this.products.find((x) => x.slot === r.data.slot);
      if (!product) throw new Failure(400, "unknown_slot", `no slot ${r.data.slot}`);
      if (r.data.stock > product.capacity) throw new Failure(400, "out_of_range", "stock exceeds capacity");
      product.stock = r.data.stock;
      this.broadcast({ type: "catalog", catalog: this.catalog() });
      return send(res, 200, checked(RestockResponse, { slot: product.slot, name: product.name, kind: product.kind, stock: product.stock, capacity: product.capacity, enabled: product.enabled ?? true }));
    }
    if (method === "POST" && p === "/api/service/test-vend") {
      const r = TestVendRequest.safeParse(body);
      if (!r.success) throw new Failure(400, "bad_value", r.error.message);
      const ok = this.nextVend.ok;
      if (this.opts.mdb) {
        const selection = Number(r.data.slot.slice(1));
        const answer = () =>
          send(
            res,
            200,
            checked(TestVendResponse, {
              slot: r.data.slot,
              ok,
              failure: ok ? null : { code: (this.nextVend as { code: string }).code, message: "the VMC could not vend" },
              evidence: { kind: "mdb", selection, priceUnits: 200, result: ok ? "success" : "failure", waitedMs: 1500 },
              finishedAt: Date.now(),
            }),
          );
        if (this.testVendGate) void this.testVendGate.then(answer);
        else answer();
        return;
      }
      return send(
        res,
        200,
        checked(TestVendResponse, {
          slot: r.data.slot,
          ok,
          failure: ok ? null : { code: (this.nextVend as { code: string }).code, message: "the product did not come out" },
          evidence: { kind: "spiral", dropSeen: ok, homed: true, runMs: 1800 },
          finishedAt: Date.now(),
        }),
      );
    }
    if (method === "GET" && p === "/api/service/harness") return send(res, 200, checked(HarnessReport, this.harnessReport));
    throw new Failure(404, "not_found", `no route ${method} ${p}`);
  }

  private serviceStatus(): ServiceStatusResponse {
    return checked(ServiceStatusResponse, {
      ...this.status,
      serviceAccess: this.opts.mdb?.serviceAccess ?? "door",
      version: "0.1.0-test",
      uptimeMs: 42 * 60_000,
      boot: this.boot,
      slots: this.products.map((x) => ({ slot: x.slot, name: x.name, kind: x.kind, stock: x.stock, capacity: x.capacity, enabled: x.enabled ?? true })),
    });
  }

  /** Revokes every service token, as a daemon restart or a token expiry does. */
  revokeServiceTokens(): void {
    this.tokens.clear();
  }

  private serveStatic(p: string, res: http.ServerResponse, lang: string | null): void {
    const rel = p === "/" ? "index.html" : decodeURIComponent(p).replace(/^\/+/, "");
    const file = path.resolve(this.opts.kioskDir, rel);
    if (!file.startsWith(path.resolve(this.opts.kioskDir) + path.sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      return send(res, 404, { error: { code: "not_found", message: "not found" } });
    }
    const type = file.endsWith(".html") ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8";
    res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
    if (rel === "index.html" && this.opts.bootSnapshot) {
      const boot = { v: 1, status: this.status, catalog: this.catalog(), order: checked(CurrentOrderResponse, { order: this.currentOrder() }).order };
      const json = JSON.stringify(boot).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
      const page = readFileSync(file, "utf8").replace("<!-- %ZAPVEND_BOOT% -->", () => `<script type="application/json" id="zapvend-boot">${json}</script>`);
      return void res.end(this.opts.firstScreen === false ? page : withFirstScreen(page, boot, lang));
    }
    res.end(readFileSync(file));
  }
}

class Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(data);
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  if (chunks.length === 0) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    return Symbol("bad json");
  }
}
