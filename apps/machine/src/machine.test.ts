// The daemon end to end with the real parts: the sim Lightning node through the production LND adapter, the sim
// board with its physics, the controller's journal on disk, the bridge on a real MQTT broker (Mosquitto on
// 127.0.0.1:1883, started by .ci/run), the HTTP API and the WebSocket.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { decodeInvoice } from "@zapvend/payments";
import { startSimNode, type SimNodeServer } from "@zapvend/payments/sim";
import { parseMachineConfig, parseKioskServerMessage, topics, type MachineConfig, type Order } from "@zapvend/protocol";
import { Machine } from "./machine.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const brokerUrl = process.env.ZAPVEND_TEST_MQTT_URL ?? "mqtt://127.0.0.1:1883";
const runId = Math.random().toString(36).slice(2, 8);

let sim: SimNodeServer;
beforeAll(async () => {
  sim = await startSimNode({ port: 0 });
});
afterAll(async () => {
  await sim?.stop();
});

function config(id: string, simFaults: string[] = [], drinks = false): MachineConfig {
  const parsed = parseMachineConfig({
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

async function post(url: string, body: unknown) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
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
      if (topic === topics.event(id, "sale")) sales.push(JSON.parse(payload.toString()) as Record<string, unknown>);
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
});
