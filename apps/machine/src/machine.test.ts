// The daemon end to end with the real parts: the sim Lightning node through the production LND adapter, the sim
// board with its physics, the controller's journal on disk, the bridge on a real MQTT broker (a private
// Mosquitto for this file, or ZAPVEND_TEST_MQTT_URL), the HTTP API and the WebSocket.
import { mkdtempSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { decodeInvoice } from "@zapvend/payments";
import { startSimNode, type SimNodeServer } from "@zapvend/payments/sim";
import { parseMachineConfig, parseKioskServerMessage, topics, type MachineConfig, type Order } from "@zapvend/protocol";
import Database from "better-sqlite3";
import { createHmac } from "node:crypto";
import { createServer } from "node:net";
import { Journal } from "@zapvend/controller";
import { testFileBroker } from "@zapvend/mqtt-bridge/testing";
import { Machine } from "./machine.js";
import { hashPin } from "./service-auth.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const brokerUrl = await testFileBroker(process.env.ZAPVEND_TEST_MQTT_URL, afterAll);

/**
 * Records an event once per id. MQTT delivers at least once, and a bridge waiting for a fleet's acknowledgement
 * (where a fleet on a shared broker announced acks) resends what nobody acknowledged; a genuine second event
 * has a new id and still counts.
 */
function addEvent(list: Array<Record<string, unknown>>, payload: Buffer): void {
  const event = JSON.parse(payload.toString()) as Record<string, unknown>;
  if (!list.some((e) => e.id === event.id)) list.push(event);
}
const runId = Math.random().toString(36).slice(2, 8);

let sim: SimNodeServer;
beforeAll(async () => {
  sim = await startSimNode({ port: 0 });
});
afterAll(async () => {
  await sim?.stop();
});

function config(id: string, simFaults: string[] = [], drinks = false, extra: Record<string, unknown> = {}): MachineConfig {
  const parsed = parseMachineConfig({
    ...extra,
    machineId: id,
    http: { host: "127.0.0.1", port: 0 },
    mqtt: { url: brokerUrl, telemetryIntervalMs: 60_000 },
    board: { kind: "sim", pinmap: path.join(repo, `hardware/pinmaps/${drinks ? "drinks" : "snacks"}.json`), simFaults },
    payments: { backend: { kind: "sim", url: sim.url }, network: "regtest", invoiceExpirySec: 120 },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" } },
    catalog: drinks
      ? [{ slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 50, price: { unit: "msat", amountMsat: "500000" }, stock: 5, capacity: 40 }]
      : [
      { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 3, capacity: 10 },
      { slot: "A2", name: "Nuts", kind: "spiral", price: { unit: "msat", amountMsat: "900000" }, stock: 3, capacity: 10 },
    ],
    dataDir: mkdtempSync(path.join(tmpdir(), `zapvend-${id}-`)),
  });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

async function post(url: string, body: unknown, token?: string) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
}

async function getJson(url: string, token?: string) {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Collects the order states the kiosk WebSocket pushes, until `until` is seen. */
function watchOrder(url: string, until: Order["state"]): { states: string[]; done: Promise<Order>; ws: WebSocket } {
  const ws = new WebSocket(url.replace("http", "ws") + "/ws");
  const states: string[] = [];
  const done = new Promise<Order>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${until} order; saw ${states.join(",")}`)), 20_000);
    ws.on("message", (data: Buffer) => {
      const m = parseKioskServerMessage(new Uint8Array(data));
      if (!m.ok) return reject(new Error(m.error.message));
      if (m.value.type !== "order") return;
      states.push(m.value.order.state);
      if (m.value.order.state === until) {
        clearTimeout(timer);
        resolve(m.value.order);
      }
    });
  });
  return { states, done, ws };
}

describe("zapvend-machine on the sim node and sim board", () => {
  it("sells a product: verified invoice, held payment, vend, settle, sale event at the fleet", async () => {
    const id = `e2e-${runId}-ok`;
    const machine = new Machine(config(id));
    const sub = await mqtt.connectAsync(brokerUrl, { clientId: `test-${runId}`, clean: true, reconnectPeriod: 0 });
    const sales: Array<Record<string, unknown>> = [];
    sub.on("message", (topic, payload) => {
      if (topic === topics.event(id, "sale")) addEvent(sales, payload);
    });
    await sub.subscribeAsync(topics.machineFilter(id), { qos: 1 });
    try {
      const url = await machine.start();
      await expect.poll(async () => ((await (await fetch(`${url}/api/health`)).json()) as { selling: boolean }).selling, { timeout: 10_000 }).toBe(true);
      const catalog = (await (await fetch(`${url}/api/catalog`)).json()) as { products: Array<{ slot: string; priceMsat: string }> };
      expect(catalog.products.find((p) => p.slot === "A1")?.priceMsat).toBe("1500000"); // 1.50 EUR at 1,000 sat/EUR

      const watch = watchOrder(url, "completed");
      const created = await post(`${url}/api/orders`, { slot: "A1" });
      expect(created.status).toBe(201);
      const bolt11 = created.body.bolt11 as string;
      const decoded = decodeInvoice(bolt11);
      expect(decoded.amountMsat).toBe(1_500_000n);
      expect(decoded.paymentHash).toBe(created.body.paymentHash);
      expect(decoded.network).toBe("regtest");

      // The buyer's wallet pays; the call returns when the machine settled (after the product came out).
      const paid = await post(`${sim.url}/wallet/pay`, { bolt11 });
      expect(paid.status).toBe(200);
      const order = await watch.done;
      watch.ws.close();
      expect(watch.states).toEqual(["pending", "held", "dispensing", "completed"]);
      expect(order.evidence).toMatchObject({ kind: "spiral", dropSeen: true });

      const after = (await (await fetch(`${url}/api/orders/${order.orderId}`)).json()) as Order;
      expect(after.state).toBe("completed");
      await expect.poll(() => sales.length, { timeout: 10_000 }).toBe(1);
      expect(sales[0]).toMatchObject({ type: "sale", orderId: order.orderId, amountMsat: "1500000", paymentHash: order.paymentHash });
    } finally {
      await machine.stop();
      await sub.publishAsync(topics.status(id), "", { retain: true });
      await sub.publishAsync(topics.birth(id), "", { retain: true });
      await sub.endAsync();
    }
  }, 60_000);

  it("pours a drink closed-loop on the flow meter and settles", async () => {
    const machine = new Machine(config(`e2e-${runId}-pour`, [], true));
    try {
      const url = await machine.start();
      const watch = watchOrder(url, "completed");
      const created = await post(`${url}/api/orders`, { slot: "P1" });
      expect(created.status).toBe(201);
      expect((await post(`${sim.url}/wallet/pay`, { bolt11: created.body.bolt11 })).status).toBe(200);
      const order = await watch.done;
      watch.ws.close();
      expect(order.evidence).toMatchObject({ kind: "pour", targetMl: 50 });
      expect((order.evidence as { pouredMl: number }).pouredMl).toBeGreaterThanOrEqual(49);
    } finally {
      await machine.stop();
    }
  }, 60_000);

  it("refunds the buyer automatically when the spiral jams", async () => {
    const id = `e2e-${runId}-jam`;
    const machine = new Machine(config(id, ["spiral-jam"]));
    try {
      const url = await machine.start();
      const watch = watchOrder(url, "refunded");
      const created = await post(`${url}/api/orders`, { slot: "A2" });
      expect(created.status).toBe(201);
      const paid = await post(`${sim.url}/wallet/pay`, { bolt11: created.body.bolt11 });
      // The hold invoice was cancelled: the wallet's payment failed and its money stayed with the buyer.
      expect(paid.status).toBe(409);
      const order = await watch.done;
      watch.ws.close();
      expect(order.failure?.code).toMatch(/SPIRAL/);
      const again = await post(`${url}/api/orders`, { slot: "A2" });
      expect(again).toMatchObject({ status: 409, body: { error: { code: "slot_disabled" } } });
    } finally {
      await machine.stop();
    }
  }, 60_000);

  it("sim controls, the service menu behind PIN and open door, maintenance mode kept across a restart", async () => {
    const id = `e2e-${runId}-svc`;
    const cfg = config(id, [], false, { servicePinHash: hashPin("4321") });
    const statuses: string[] = [];
    const sub = await mqtt.connectAsync(brokerUrl, { clientId: `test-svc-${runId}`, clean: true, reconnectPeriod: 0 });
    sub.on("message", (topic, payload) => {
      if (topic === topics.status(id) && payload.length > 0) statuses.push((JSON.parse(payload.toString()) as { state: string }).state);
    });
    await sub.subscribeAsync(topics.status(id), { qos: 1 });
    let machine = new Machine(cfg);
    try {
      let url = await machine.start();
      const health = await getJson(`${url}/api/health`);
      expect(health.body).toMatchObject({ demoBoard: true, demoWallet: true });

      // Door closed: no PIN is even checked.
      const closed = await post(`${url}/api/service/login`, { pin: "0000" });
      expect(closed).toMatchObject({ status: 403, body: { error: { code: "door_closed" } } });

      expect(await post(`${url}/api/demo/sim`, { faults: ["nope"] })).toMatchObject({ status: 400, body: { error: { code: "unknown_sim_fault" } } });
      expect(await post(`${url}/api/demo/sim`, { door: "ajar" })).toMatchObject({ status: 400 });
      expect(await post(`${url}/api/demo/sim`, { door: "open", faults: ["spiral-jam", "pump-dry"] })).toEqual({
        status: 200,
        body: { door: "open", faults: ["spiral-jam", "pump-dry"] },
      });
      expect(await post(`${url}/api/demo/sim`, { faults: [] })).toEqual({ status: 200, body: { door: "open", faults: [] } });
      await expect.poll(async () => (await getJson(`${url}/api/health`)).body.door, { timeout: 15_000 }).toBe("open");

      expect(await post(`${url}/api/service/login`, { pin: "0000" })).toMatchObject({ status: 401, body: { error: { code: "wrong_pin" } } });
      const login = await post(`${url}/api/service/login`, { pin: "4321" });
      expect(login.status).toBe(200);
      const token = login.body.token as string;

      // Out of service from the menu: no invoices, status `service` at the fleet.
      const maint = await post(`${url}/api/service/mode`, { mode: "maintenance" }, token);
      // `mode` is "service" while the door is open; `operatingMode` is what the menu's control shows.
      expect(maint).toMatchObject({ status: 200, body: { mode: "service", operatingMode: "maintenance", selling: false } });
      expect(await post(`${url}/api/service/mode`, { mode: "off" }, token)).toMatchObject({ status: 400 });

      // Closing the door ends the session; the machine stays out of service.
      await post(`${url}/api/demo/sim`, { door: "closed" });
      await expect.poll(async () => (await getJson(`${url}/api/service/status`, token)).status, { timeout: 15_000 }).toBe(401);
      expect((await getJson(`${url}/api/health`)).body).toMatchObject({ mode: "maintenance", operatingMode: "maintenance", selling: false, door: "closed" });
      expect(await post(`${url}/api/orders`, { slot: "A2" })).toMatchObject({ status: 503, body: { error: { code: "out_of_service" } } });
      await expect.poll(() => statuses.at(-1), { timeout: 15_000 }).toBe("service");

      // The mode survives a restart.
      await machine.stop();
      machine = new Machine(cfg);
      url = await machine.start();
      await expect.poll(async () => (await getJson(`${url}/api/health`)).body.door, { timeout: 15_000 }).toBe("closed");
      expect((await getJson(`${url}/api/health`)).body).toMatchObject({ mode: "maintenance", selling: false });

      // Back in service: open the door, log in, set normal, close the door.
      await post(`${url}/api/demo/sim`, { door: "open" });
      await expect.poll(async () => (await post(`${url}/api/service/login`, { pin: "4321" })).status, { timeout: 15_000 }).toBe(200);
      const token2 = ((await post(`${url}/api/service/login`, { pin: "4321" })).body.token as string);
      expect((await getJson(`${url}/api/service/status`, token2)).body).toMatchObject({ mode: "service", operatingMode: "maintenance" });
      expect(await post(`${url}/api/service/mode`, { mode: "normal" }, token2)).toMatchObject({ status: 200, body: { mode: "service", operatingMode: "normal" } });
      await post(`${url}/api/demo/sim`, { door: "closed" });
      await expect.poll(async () => (await getJson(`${url}/api/health`)).body.selling, { timeout: 10_000 }).toBe(true);
      await expect.poll(() => statuses.at(-1), { timeout: 15_000 }).toBe("online");
      expect(await getJson(`${url}/api/orders/current`)).toEqual({ status: 200, body: { order: null } });
    } finally {
      await machine.stop();
      await sub.publishAsync(topics.status(id), "", { retain: true });
      await sub.publishAsync(topics.birth(id), "", { retain: true });
      await sub.endAsync();
    }
  }, 60_000);

  it("spends a credit: wholly (no invoice) and partly (an invoice for the rest), with the sale at the fleet", async () => {
    const id = `e2e-${runId}-credit`;
    const cfg = config(id);
    const machine = new Machine(cfg);
    const sub = await mqtt.connectAsync(brokerUrl, { clientId: `test-credit-${runId}`, clean: true, reconnectPeriod: 0 });
    const sales: Array<Record<string, unknown>> = [];
    sub.on("message", (topic, payload) => {
      if (topic === topics.event(id, "sale")) addEvent(sales, payload);
    });
    await sub.subscribeAsync(topics.machineFilter(id), { qos: 1 });
    // A credit this machine granted when it ran a plain-invoice backend (the sim node has hold invoices only), written
    // into the machine's own journal beside the running daemon.
    let db: Database.Database | undefined;
    try {
      const url = await machine.start();
      await expect.poll(async () => (await getJson(`${url}/api/health`)).body.selling, { timeout: 10_000 }).toBe(true);
      db = new Database(path.join(cfg.dataDir, "machine.db"));
      new Journal(db).insertCredit("cr_e2ecredit0000001", "ord_earlierfailure01", 1_000_000n, Date.now());

      expect(await post(`${url}/api/orders`, { slot: "A2", creditId: "cr_nosuchcredit0001" })).toMatchObject({ status: 404, body: { error: { code: "credit_not_found" } } });

      // Wholly paid by the credit: no invoice, the vend runs at once.
      const watch = watchOrder(url, "completed");
      const whole = await post(`${url}/api/orders`, { slot: "A2", creditId: "cr_e2ecredit0000001" });
      expect(whole).toMatchObject({ status: 201, body: { bolt11: null, paymentHash: null, amountMsat: "0", creditAppliedMsat: "900000", state: "held" } });
      const done = await watch.done;
      watch.ws.close();
      expect(done).toMatchObject({ orderId: whole.body.orderId, creditAppliedMsat: "900000", credit: { creditId: "cr_e2ecredit0000001", amountMsat: "100000" } });
      expect((await getJson(`${url}/api/orders/current`)).body).toMatchObject({ order: { orderId: whole.body.orderId, state: "completed" } });

      // Partly: 100 000 msat left on the credit, an invoice for the other 800 000.
      const watch2 = watchOrder(url, "completed");
      const part = await post(`${url}/api/orders`, { slot: "A2", creditId: "cr_e2ecredit0000001" });
      expect(part).toMatchObject({ status: 201, body: { amountMsat: "800000", creditAppliedMsat: "100000", state: "pending" } });
      expect(decodeInvoice(part.body.bolt11 as string).amountMsat).toBe(800_000n);
      expect(await post(`${url}/api/orders`, { slot: "A1", creditId: "cr_e2ecredit0000001" })).toMatchObject({ status: 409, body: { error: { code: "credit_in_use" } } });
      expect((await post(`${sim.url}/wallet/pay`, { bolt11: part.body.bolt11 })).status).toBe(200);
      await watch2.done;
      watch2.ws.close();
      expect(await post(`${url}/api/orders`, { slot: "A1", creditId: "cr_e2ecredit0000001" })).toMatchObject({ status: 409, body: { error: { code: "credit_spent" } } });

      await expect.poll(() => sales.length, { timeout: 10_000 }).toBe(2);
      expect(sales[0]).toMatchObject({ orderId: whole.body.orderId, amountMsat: "0", paidByCreditMsat: "900000", creditId: "cr_e2ecredit0000001" });
      expect(sales[1]).toMatchObject({ orderId: part.body.orderId, amountMsat: "800000", paidByCreditMsat: "100000", paymentHash: part.body.paymentHash });
    } finally {
      db?.close();
      await machine.stop();
      await sub.publishAsync(topics.status(id), "", { retain: true });
      await sub.publishAsync(topics.birth(id), "", { retain: true });
      await sub.endAsync();
    }
  }, 60_000);

  it("takes BTCPay webhooks only with a good signature, and only when the backend is BTCPay", async () => {
    // A port nothing listens on: BTCPay is "down" (polling would retry); the webhook route works all the same.
    const deadPort = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    const secret = "whsec-test-0123456789";
    const cfg = config(`e2e-${runId}-btcpay`);
    const btcpayCfg: MachineConfig = {
      ...cfg,
      payments: { ...cfg.payments, backend: { kind: "btcpay", url: `http://127.0.0.1:${deadPort}`, apiKey: "key-invoices", storeId: "Store7xQ", webhookSecret: secret } },
    };
    const machine = new Machine(btcpayCfg);
    const plain = new Machine(config(`e2e-${runId}-nobtcpay`));
    try {
      const url = await machine.start();
      const body = JSON.stringify({ deliveryId: "d1", webhookId: "wh1", type: "InvoiceSettled", timestamp: 1_763_700_000, storeId: "Store7xQ", invoiceId: "InvUnknown1" });
      const sign = (b: string) => `sha256=${createHmac("sha256", secret).update(b).digest("hex")}`;
      const hook = (b: string, sig?: string) =>
        fetch(`${url}/api/webhooks/btcpay`, { method: "POST", headers: { "content-type": "application/json", ...(sig ? { "btcpay-sig": sig } : {}) }, body: b });

      const bad = await hook(body, sign(body + " "));
      expect(bad.status).toBe(401);
      expect(await bad.json()).toMatchObject({ error: { code: "bad_signature" } });
      expect((await hook(body)).status).toBe(401);
      const good = await hook(body, sign(body));
      expect(good.status).toBe(200);
      // Through the operator's proxy under its public name: the signature is the check, not Host or Origin.
      const proxied = await rawPost(Number(new URL(url).port), "/api/webhooks/btcpay", { host: "vend.example.com", origin: "https://btcpay.example.com", "content-type": "application/json", "btcpay-sig": sign(body) }, body);
      expect(proxied.status).toBe(200);
      expect((await rawPost(Number(new URL(url).port), "/api/webhooks/btcpay", { host: "vend.example.com", "content-type": "application/json" }, body)).status).toBe(401);
      expect((await hook("x".repeat(70_000), sign("x".repeat(70_000)))).status).toBe(413);

      const plainUrl = await plain.start();
      const none = await fetch(`${plainUrl}/api/webhooks/btcpay`, { method: "POST", headers: { "content-type": "application/json", "btcpay-sig": sign(body) }, body });
      expect(none.status).toBe(404);
    } finally {
      await machine.stop();
      await plain.stop();
    }
  }, 60_000);
});

/** A POST with exactly these headers (fetch sets Host itself). */
function rawPost(port: number, p: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: p, method: "POST", headers: { ...headers, "content-length": Buffer.byteLength(body) }, setHost: false }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
