// One vending machine under test, built from the real parts as they run in the field: the daemon (`Machine` from
// apps/machine dist) with its HTTP API, the sim board's physics on a real pin map, the sim Lightning node through
// the production LND adapter, the controller's journal in SQLite on disk, and the bridge on a real MQTT broker (a
// private Mosquitto per test file, `ZAPVEND_TEST_MQTT_URL` overrides). Each system has its own sim node, so node
// faults and the buyer's wallet balance of one test never leak into another, and tests may run side by side.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll } from "vitest";
import { createLogger, Machine } from "@zapvend/machine";
import { testFileBroker } from "@zapvend/mqtt-bridge/testing";
import { startSimNode, type SimInvoice, type SimNodeServer } from "@zapvend/payments/sim";
import { parseMachineConfig, topics, type CatalogEntry, type DemoVmcResponse, type Order, type OrderState } from "@zapvend/protocol";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
/** This test file's broker: each file has its own, so suites side by side never see each other's machines. */
export const brokerUrl = await testFileBroker(process.env.ZAPVEND_TEST_MQTT_URL, afterAll);
const runId = `${Date.now().toString(36).slice(-4)}${Math.random().toString(36).slice(2, 6)}`;
let seq = 0;

/** `mdb`: the MDB cashless reader of the sim VMC (behind a socat pty), selling the VMC's selections. */
export const MachineKind = { DRINKS: "drinks", SNACKS: "snacks", MDB: "mdb" } as const;
export type MachineKind = (typeof MachineKind)[keyof typeof MachineKind];

/** The two machine kinds of the demo: a pour station with a flow meter, and spirals with a drop beam. */
export const KINDS: Record<MachineKind, { pinmap: string; slot: string; otherSlot: string | null; priceMsat: bigint; catalog: Array<Record<string, unknown>> }> = {
  drinks: {
    pinmap: path.join(repo, "hardware/pinmaps/drinks.json"),
    slot: "P1",
    otherSlot: null,
    priceMsat: 500_000n,
    // 40 ml at the sim pump's 25 ml/s: a pour takes under two seconds.
    catalog: [{ slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 40, price: { unit: "msat", amountMsat: "500000" }, stock: 3, capacity: 40 }],
  },
  snacks: {
    pinmap: path.join(repo, "hardware/pinmaps/snacks.json"),
    slot: "A1",
    otherSlot: "A2",
    priceMsat: 1_500_000n,
    catalog: [
      // Priced in fiat: 1.50 EUR at the fixed rate below is 1 500 000 msat.
      { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 3, capacity: 10 },
      { slot: "A2", name: "Nuts", kind: "spiral", price: { unit: "msat", amountMsat: "900000" }, stock: 3, capacity: 10 },
    ],
  },
  mdb: {
    pinmap: "",
    slot: "S12",
    otherSlot: "S13",
    // The sim VMC asks 150 units = 1.50 EUR for selection 12: 1 500 000 msat at the fixed rate below.
    priceMsat: 1_500_000n,
    catalog: [
      { slot: "S12", name: "Cola", kind: "mdb", icon: "🥤", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 10, capacity: 10 },
      { slot: "S13", name: "Water", kind: "mdb", price: { unit: "fiat", currency: "EUR", amountMinor: 100 }, stock: 10, capacity: 10, enabled: false },
    ],
  },
};

/** The sim VMC's price list of the `mdb` system: 12 → 1.50, 13 (disabled in the selection map) → 1.00, 14 → 2.00. */
const MDB_SELECTIONS = [
  { selection: 12, priceUnits: 150 },
  { selection: 13, priceUnits: 100 },
  { selection: 14, priceUnits: 200 },
];

export interface SystemOptions {
  /** Faults the sim board starts with (`pump-dry`, `spiral-jam`, ...). */
  simFaults?: string[];
  /** Stock of the kind's main slot at start (default 3). */
  stock?: number;
  /** Invoice expiry, s; the config's minimum is 30. Default 120. */
  invoiceExpirySec?: number;
  /** Wait until the machine says it is selling (default true). */
  waitSelling?: boolean;
  /** `mdb` machine: more of its board config (`approvalTimeoutSec`, `invoiceExpirySec`, `maxPriceMinor`, ...) and the sim VMC's vend duration. */
  mdb?: Record<string, unknown> & { vendDurationMs?: number };
  /** The service PIN's hash (`hashPin`), for the service menu's routes. Default: none (the menu is disabled). */
  servicePinHash?: string;
}

/** The board config of the `mdb` system: the sim VMC, with the test's settings. */
function mdbBoard({ vendDurationMs, ...board }: NonNullable<SystemOptions["mdb"]>): Record<string, unknown> {
  return { kind: "mdb", port: "sim", ...board, sim: { selections: MDB_SELECTIONS, ...(vendDurationMs !== undefined ? { vendDurationMs } : {}) } };
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface Transition {
  from: string | null;
  to: string;
  note: string | null;
}

/** A fleet event as it arrived on the broker, parsed. */
export type FleetEvent = Record<string, unknown> & { id: string; type: string };

export async function postJson(url: string, body: unknown): Promise<HttpAnswer> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context()}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class VendSystem {
  readonly id: string;
  readonly slot: string;
  readonly otherSlot: string | null;
  readonly priceMsat: bigint;
  readonly events: FleetEvent[] = [];
  /** The machine's online state as the fleet last saw it on its status topic (`online`, `service`, ...). */
  fleetStatus: string | undefined;
  url = "";
  private journalDb: Database.Database | undefined;
  private retained = new Set<string>();

  private constructor(
    readonly kind: MachineKind,
    readonly node: SimNodeServer,
    readonly machine: Machine,
    readonly dataDir: string,
    private readonly mqttClient: MqttClient,
    /** The daemon's log lines (JSON), kept for assertions and for the message of a failed wait. */
    readonly logs: string[],
  ) {
    this.id = machine.machineId;
    this.slot = KINDS[kind].slot;
    this.otherSlot = KINDS[kind].otherSlot;
    this.priceMsat = KINDS[kind].priceMsat;
  }

  static async start(kind: MachineKind, opts: SystemOptions = {}): Promise<VendSystem> {
    const node = await startSimNode({ port: 0 });
    const id = `sys-${runId}-${kind}-${++seq}`;
    const dataDir = mkdtempSync(path.join(tmpdir(), `zapvend-${id}-`));
    const catalog = KINDS[kind].catalog.map((p, i) => (i === 0 && opts.stock !== undefined ? { ...p, stock: opts.stock } : p));
    const parsed = parseMachineConfig({
      machineId: id,
      http: { host: "127.0.0.1", port: 0 },
      mqtt: { url: brokerUrl, telemetryIntervalMs: 60_000 },
      board:
        kind === "mdb"
          ? mdbBoard(opts.mdb ?? {})
          : { kind: "sim", pinmap: KINDS[kind].pinmap, simFaults: opts.simFaults ?? [] },
      payments: { backend: { kind: "sim", url: node.url }, network: "regtest", invoiceExpirySec: opts.invoiceExpirySec ?? 120 },
      pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" } },
      catalog,
      dataDir,
      ...(opts.servicePinHash ? { servicePinHash: opts.servicePinHash } : {}),
    });
    if (!parsed.ok) throw new Error(`config: ${parsed.error.message}`);
    const logs: string[] = [];
    const machine = new Machine(parsed.value, { logger: createLogger(`machine:${id}`, { level: "info", write: (line) => logs.push(line) }) });

    // The fleet's view: every event the machine publishes, from before the first order.
    const client = await mqtt.connectAsync(brokerUrl, { clientId: `sys-test-${id}`, clean: true, reconnectPeriod: 0 });
    const sys = new VendSystem(kind, node, machine, dataDir, client, logs);
    client.on("message", (topic, payload, packet) => {
      if (packet.retain && payload.length > 0) sys.retained.add(topic);
      if (topic === topics.status(id) && payload.length > 0) sys.fleetStatus = (JSON.parse(payload.toString()) as { state: string }).state;
      if (!topic.includes("/event/") || payload.length === 0) return;
      // MQTT delivers at least once: a bridge that waits for a fleet's acknowledgement (any fleet on this shared
      // broker may announce acks) resends what nobody acknowledged. The fleet dedupes by event id, and so does
      // this view, so a real second event (a new id) still counts twice.
      const event = JSON.parse(payload.toString()) as FleetEvent;
      if (!sys.events.some((e) => e.id === event.id)) sys.events.push(event);
    });
    await client.subscribeAsync(topics.machineFilter(id), { qos: 1 });
    sys.url = await machine.start();
    if (opts.waitSelling !== false) {
      await until("the machine to sell", async () => ((await getJson<{ selling: boolean }>(`${sys.url}/api/health`)).selling ? true : undefined), 15_000, () => sys.recentLogs());
    }
    return sys;
  }

  /** Stops the machine and the node, clears the retained messages the machine left on the broker, removes its files. */
  async stop(): Promise<void> {
    this.journalDb?.close();
    this.journalDb = undefined;
    await this.machine.stop();
    await this.node.stop();
    for (const t of [topics.status(this.id), topics.birth(this.id), topics.reported(this.id), ...this.retained]) {
      await this.mqttClient.publishAsync(t, "", { retain: true, qos: 1 });
    }
    await this.mqttClient.endAsync();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  recentLogs(n = 40): string {
    return this.logs.slice(-n).join("\n");
  }

  // --- the buyer at the machine (HTTP API) ----------------------------------------------------------------------

  createOrder(slot = this.slot): Promise<HttpAnswer> {
    return postJson(`${this.url}/api/orders`, { slot });
  }

  async order(orderId: string): Promise<Order> {
    return getJson<Order>(`${this.url}/api/orders/${orderId}`);
  }

  cancel(orderId: string): Promise<HttpAnswer> {
    return postJson(`${this.url}/api/orders/${orderId}/cancel`, {});
  }

  async catalogEntry(slot = this.slot): Promise<CatalogEntry> {
    const c = await getJson<{ products: CatalogEntry[] }>(`${this.url}/api/catalog`);
    const e = c.products.find((p) => p.slot === slot);
    if (!e) throw new Error(`no ${slot} in the catalog`);
    return e;
  }

  /** Polls the API until the order reaches `state` (and fails early on a final state that is not it). */
  async waitForState(orderId: string, state: OrderState, timeoutMs = 20_000): Promise<Order> {
    const finals: OrderState[] = ["completed", "refunded", "credited", "expired"];
    return until(
      `order ${orderId} to be ${state}`,
      async () => {
        const o = await this.order(orderId);
        if (o.state === state) return o;
        if (finals.includes(o.state)) throw new Error(`order ${orderId} ended ${o.state}, expected ${state} (${JSON.stringify(o.failure)})\n${this.recentLogs()}`);
        return undefined;
      },
      timeoutMs,
      () => this.recentLogs(),
    );
  }

  // --- the buyer's phone and the node (sim Lightning) -----------------------------------------------------------

  /**
   * The wallet pays; resolves when the node settled (200) or turned the payment away / refunded it (409). Never
   * rejects: a payment still in flight when a failed test stops the node resolves with status 0.
   */
  pay(bolt11: string): Promise<HttpAnswer> {
    return postJson(`${this.node.url}/wallet/pay`, { bolt11 }).catch((err: unknown) => ({ status: 0, body: { error: String(err) } }));
  }

  nodeFaults(body: Record<string, unknown>): Promise<HttpAnswer> {
    return postJson(`${this.node.url}/sim/faults`, body);
  }

  invoice(paymentHash: string): SimInvoice {
    const inv = this.node.node.lookup(paymentHash);
    if (!inv) throw new Error(`the node has no invoice ${paymentHash}`);
    return inv;
  }

  get balanceMsat(): bigint {
    return this.node.node.walletBalanceMsat;
  }

  // --- the journal (SQLite on disk, read-only) ------------------------------------------------------------------

  private get journal(): Database.Database {
    this.journalDb ??= new Database(path.join(this.dataDir, "machine.db"), { readonly: true, fileMustExist: true });
    return this.journalDb;
  }

  journalOrder(orderId: string): { state: string; failure: { code: string; message: string } | null; evidence: Record<string, unknown> | null } | undefined {
    const r = this.journal.prepare("SELECT state, failure, evidence FROM orders WHERE order_id = ?").get(orderId) as
      | { state: string; failure: string | null; evidence: string | null }
      | undefined;
    return r && { state: r.state, failure: r.failure ? (JSON.parse(r.failure) as { code: string; message: string }) : null, evidence: r.evidence ? (JSON.parse(r.evidence) as Record<string, unknown>) : null };
  }

  journalOrderCount(): number {
    return (this.journal.prepare("SELECT count(*) AS n FROM orders").get() as { n: number }).n;
  }

  transitions(orderId: string): Transition[] {
    return (this.journal.prepare("SELECT from_state, to_state, note FROM order_transitions WHERE order_id = ? ORDER BY seq").all(orderId) as Array<{
      from_state: string | null;
      to_state: string;
      note: string | null;
    }>).map((r) => ({ from: r.from_state, to: r.to_state, note: r.note }));
  }

  /** The states an order went through, in order, each once (a note-only transition repeats a state). */
  statePath(orderId: string): string[] {
    const path: string[] = [];
    for (const t of this.transitions(orderId)) if (path.at(-1) !== t.to) path.push(t.to);
    return path;
  }

  journalStock(slot = this.slot): number {
    const r = this.journal.prepare("SELECT stock FROM inventory WHERE slot = ?").get(slot) as { stock: number } | undefined;
    if (!r) throw new Error(`no inventory row for ${slot}`);
    return r.stock;
  }

  creditCount(): number {
    return (this.journal.prepare("SELECT count(*) AS n FROM credits").get() as { n: number }).n;
  }

  // --- the fleet (MQTT) -----------------------------------------------------------------------------------------

  // --- the sim VMC (mdb) ----------------------------------------------------------------------------------------

  /** Presses the sim VMC's keypad or injects one of its faults (`POST /api/demo/vmc`). */
  vmc(body: Record<string, unknown>): Promise<HttpAnswer> {
    return postJson(`${this.url}/api/demo/vmc`, body);
  }

  /** The sim VMC's state and the lines exchanged (`GET /api/demo/vmc`). */
  vmcState(): Promise<DemoVmcResponse> {
    return getJson<DemoVmcResponse>(`${this.url}/api/demo/vmc`);
  }

  /** The machine's newest order (a VMC vend request makes one without the kiosk asking). */
  latestOrderId(): string | undefined {
    return (this.journal.prepare("SELECT order_id FROM orders ORDER BY created_at DESC, rowid DESC LIMIT 1").get() as { order_id: string } | undefined)?.order_id;
  }

  /** Waits until a VMC vend request made an order with a payable invoice, and returns it. */
  async waitForVendRequestOrder(previous?: string): Promise<Order> {
    return until(
      "an order for the VMC's vend request",
      async () => {
        const id = this.latestOrderId();
        if (!id || id === previous) return undefined;
        const o = await this.order(id);
        return o.bolt11 ? o : undefined;
      },
      15_000,
      () => this.recentLogs(),
    );
  }

  eventsOf(type: string, orderId?: string): FleetEvent[] {
    return this.events.filter((e) => e.type === type && (orderId === undefined || e.orderId === orderId));
  }
}
