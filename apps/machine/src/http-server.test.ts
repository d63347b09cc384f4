import { EventEmitter } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { parseKioskServerMessage, type Catalog, type HealthResponse, type MachineStatusView, type Order } from "@zapvend/protocol";
import { ApiFailure, KIOSK_BOOT_MARKER, MachineServer, jsonForScript, type MachineApi, type MachineApiEvents } from "./http-server.js";

const status: MachineStatusView = { machineId: "snacks-01", mode: "normal", selling: true, payments: "up", hardware: "up", door: "closed", faults: [] };
const order: Order = {
  orderId: "ord_abcdefgh12345678",
  slot: "A1",
  productName: "Crisps",
  kind: "spiral",
  state: "pending",
  amountMsat: "1500000",
  paymentHash: "b".repeat(64),
  bolt11: "lnbcrt15u1pfakeinvoice",
  hold: true,
  createdAt: 1,
  expiresAt: 180_001,
  updatedAt: 1,
};

class TestApi extends EventEmitter<MachineApiEvents> implements MachineApi {
  machineId = "snacks-01";
  boot = 7;
  version = "0.1.0";
  created: string[] = [];
  health(): HealthResponse {
    return { ...status, status: "up", version: this.version, uptimeMs: 5 };
  }
  status() {
    return status;
  }
  catalog(): Catalog {
    return { machineId: "snacks-01", currency: "EUR", rate: null, products: [] };
  }
  credits: string[] = [];
  async createOrder(slot: string, creditId?: string) {
    if (creditId) this.credits.push(creditId);
    if (slot === "A9") throw Object.assign(new Error("slot A9 is sold out"), { code: "sold_out", httpStatus: 409 });
    this.created.push(slot);
    return order;
  }
  getOrder(id: string) {
    return id === order.orderId ? order : undefined;
  }
  current: Order | null = null;
  currentOrder() {
    return this.current;
  }
  async cancelOrder(): Promise<Order> {
    throw new ApiFailure(409, "bad_state", "not pending");
  }
}

let server: MachineServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function start(kioskDir?: string) {
  const api = new TestApi();
  server = new MachineServer({ api, ...(kioskDir ? { kioskDir } : {}) });
  const url = await server.start("127.0.0.1", 0);
  return { api, url };
}

describe("machine HTTP API", () => {
  it("creates an order with 201 and answers errors with a coded body", async () => {
    const { api, url } = await start();
    const ok = await fetch(`${url}/api/orders`, { method: "POST", body: JSON.stringify({ slot: "A1" }) });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ orderId: order.orderId, bolt11: order.bolt11, paymentHash: order.paymentHash, amountMsat: "1500000", state: "pending" });
    const soldOut = await fetch(`${url}/api/orders`, { method: "POST", body: JSON.stringify({ slot: "A9" }) });
    expect(soldOut.status).toBe(409);
    expect(await soldOut.json()).toEqual({ error: { code: "sold_out", message: "slot A9 is sold out" } });
    const bad = await fetch(`${url}/api/orders`, { method: "POST", body: JSON.stringify({ slot: 1 }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_type" } });
    const notJson = await fetch(`${url}/api/orders`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    const huge = await fetch(`${url}/api/orders`, { method: "POST", body: JSON.stringify({ slot: "x".repeat(100_000) }) });
    expect(huge.status).toBe(413);
    const polluted = await fetch(`${url}/api/orders`, { method: "POST", body: '{"slot":"A1","__proto__":{"x":1}}' });
    expect(await polluted.json()).toMatchObject({ error: { code: "forbidden_key" } });
    const credit = await fetch(`${url}/api/orders`, { method: "POST", body: JSON.stringify({ slot: "A1", creditId: "cr_0123456789abcdef" }) });
    expect(credit.status).toBe(201);
    expect(api.created).toEqual(["A1", "A1"]);
    expect(api.credits).toEqual(["cr_0123456789abcdef"]);
  });

  it("looks orders up and 404s what does not exist", async () => {
    const { url } = await start();
    expect(await (await fetch(`${url}/api/orders/${order.orderId}`)).json()).toMatchObject({ state: "pending" });
    const missing = await fetch(`${url}/api/orders/ord_doesnotexist00`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${url}/api/orders/${order.orderId}/cancel`, { method: "POST" })).status).toBe(409);
    expect((await fetch(`${url}/api/nope`)).status).toBe(404);
    expect((await fetch(`${url}/api/demo/pay`, { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(`${url}/api/demo/sim`, { method: "POST", body: "{}" })).status).toBe(404);
    // The sim VMC's routes exist only on an MDB machine on the sim VMC.
    const vmc = await fetch(`${url}/api/demo/vmc`);
    expect(vmc.status).toBe(404);
    expect(((await vmc.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await fetch(`${url}/api/demo/vmc`, { method: "POST", body: JSON.stringify({ select: 12 }) })).status).toBe(404);
  });

  it("answers GET /api/orders/current (not shadowed by /api/orders/:id)", async () => {
    const { api, url } = await start();
    const none = await fetch(`${url}/api/orders/current`);
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({ order: null });
    api.current = { ...order, state: "dispensing" };
    expect(await (await fetch(`${url}/api/orders/current`)).json()).toMatchObject({ order: { orderId: order.orderId, state: "dispensing" } });
  });

  it("greets a WebSocket with hello, status and catalog, then pushes transitions", async () => {
    const { api, url } = await start();
    const ws = new WebSocket(`${url.replace("http", "ws")}/ws`);
    const got: string[] = [];
    const done = new Promise<void>((resolve) =>
      ws.on("message", (data: Buffer) => {
        const m = parseKioskServerMessage(new Uint8Array(data));
        expect(m.ok).toBe(true);
        if (!m.ok) return;
        got.push(m.value.type);
        if (m.value.type === "catalog") api.emit("order", { ...order, state: "held" });
        if (m.value.type === "order") resolve();
      }),
    );
    await done;
    ws.close();
    expect(got).toEqual(["hello", "status", "catalog", "order"]);
  });

  it("serves the kiosk and never a file outside its folder", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kiosk-"));
    writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>kiosk</title>");
    writeFileSync(path.join(path.dirname(dir), "secret.txt"), "secret");
    const { url } = await start(dir);
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toContain("text/html");
    expect(await index.text()).toContain("kiosk");
    expect((await fetch(`${url}/..%2fsecret.txt`)).status).toBe(404);
    expect((await fetch(`${url}/%2e%2e/secret.txt`)).status).toBe(404);
  });

  it("puts its status, catalog and current order into the kiosk page, fresh per request and safe in a <script>", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kiosk-"));
    writeFileSync(path.join(dir, "index.html"), `<!doctype html><head>${KIOSK_BOOT_MARKER}</head><body>kiosk</body>`);
    const { api, url } = await start(dir);
    const bootOf = (page: string) => {
      const m = /<script type="application\/json" id="zapvend-boot">([^<]*)<\/script>/.exec(page);
      expect(m).not.toBeNull();
      return JSON.parse(m![1]!) as { v: number; status: unknown; catalog: Catalog; order: Order | null };
    };
    const first = await fetch(`${url}/`);
    expect(first.headers.get("cache-control")).toBe("no-store");
    const page1 = await first.text();
    expect(page1).not.toContain(KIOSK_BOOT_MARKER);
    expect(bootOf(page1)).toEqual({ v: 1, status, catalog: api.catalog(), order: null });
    // A name that would end the block or open a comment, and the JS line separators: escaped, read back unchanged.
    const nasty = "</script><script>alert(1)</script><!-- & > \u2028\u2029";
    api.current = { ...order, state: "dispensing", productName: nasty };
    const page2 = await (await fetch(`${url}/`)).text();
    expect(page2.match(/<\/script>/g)).toHaveLength(1);
    expect(page2).not.toContain("<!--");
    expect(bootOf(page2).order?.productName).toBe(nasty);
    expect(jsonForScript({ s: nasty })).not.toMatch(/[<>&\u2028\u2029]/);
  });

  it("serves a kiosk page without the marker as it is", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kiosk-"));
    writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>kiosk</title>");
    const { url } = await start(dir);
    expect(await (await fetch(`${url}/`)).text()).toBe("<!doctype html><title>kiosk</title>");
  });
});
