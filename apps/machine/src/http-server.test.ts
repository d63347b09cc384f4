import { EventEmitter } from "node:events";
import { mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { parseKioskServerMessage, type Catalog, type HealthResponse, type MachineStatusView, type Order } from "@zapvend/protocol";
import { ApiFailure, KIOSK_BOOT_MARKER, KIOSK_SESSION_COOKIE, MachineServer, jsonForScript, memoryOrderSessions, type MachineApi, type MachineApiEvents } from "./http-server.js";
import { FIRST_SCREEN_MODULE } from "./kiosk-first-screen.js";

/** The kiosk page's marker of the pre-rendered first screen (apps/kiosk first-screen.ts). */
const FIRST = "<!-- %ZAPVEND_FIRST_SCREEN% -->";

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

const JSON_TYPE = { "content-type": "application/json" };

let server: MachineServer | undefined;
/** What the server logged in this test. */
let logged: Array<[string, unknown]> = [];
afterEach(async () => {
  await server?.stop();
  server = undefined;
  logged = [];
});

async function start(kioskDir?: string) {
  const api = new TestApi();
  server = new MachineServer({ api, ...(kioskDir ? { kioskDir } : {}), log: (msg, fields) => void logged.push([msg, fields]) });
  const url = await server.start("127.0.0.1", 0);
  return { api, url };
}

describe("machine HTTP API", () => {
  it("creates an order with 201 and answers errors with a coded body", async () => {
    const { api, url } = await start();
    const ok = await fetch(`${url}/api/orders`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ slot: "A1" }) });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ orderId: order.orderId, bolt11: order.bolt11, paymentHash: order.paymentHash, amountMsat: "1500000", state: "pending" });
    const soldOut = await fetch(`${url}/api/orders`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ slot: "A9" }) });
    expect(soldOut.status).toBe(409);
    expect(await soldOut.json()).toEqual({ error: { code: "sold_out", message: "slot A9 is sold out" } });
    const bad = await fetch(`${url}/api/orders`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ slot: 1 }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_type" } });
    const notJson = await fetch(`${url}/api/orders`, { method: "POST", headers: JSON_TYPE, body: "{" });
    expect(notJson.status).toBe(400);
    const huge = await fetch(`${url}/api/orders`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ slot: "x".repeat(100_000) }) });
    expect(huge.status).toBe(413);
    const polluted = await fetch(`${url}/api/orders`, { method: "POST", headers: JSON_TYPE, body: '{"slot":"A1","__proto__":{"x":1}}' });
    expect(await polluted.json()).toMatchObject({ error: { code: "forbidden_key" } });
    const credit = await fetch(`${url}/api/orders`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ slot: "A1", creditId: "cr_0123456789abcdef" }) });
    expect(credit.status).toBe(201);
    expect(api.created).toEqual(["A1", "A1"]);
    expect(api.credits).toEqual(["cr_0123456789abcdef"]);
  });

  it("looks orders up and 404s what does not exist", async () => {
    const { url } = await start();
    expect(await (await fetch(`${url}/api/orders/${order.orderId}`)).json()).toMatchObject({ state: "pending" });
    const missing = await fetch(`${url}/api/orders/ord_doesnotexist00`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${url}/api/orders/${order.orderId}/cancel`, { method: "POST", headers: JSON_TYPE, body: "{}" })).status).toBe(409);
    expect((await fetch(`${url}/api/nope`)).status).toBe(404);
    expect((await fetch(`${url}/api/demo/pay`, { method: "POST", headers: JSON_TYPE, body: "{}" })).status).toBe(404);
    expect((await fetch(`${url}/api/demo/sim`, { method: "POST", headers: JSON_TYPE, body: "{}" })).status).toBe(404);
    // The sim VMC's routes exist only on an MDB machine on the sim VMC.
    const vmc = await fetch(`${url}/api/demo/vmc`);
    expect(vmc.status).toBe(404);
    expect(((await vmc.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await fetch(`${url}/api/demo/vmc`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ select: 12 }) })).status).toBe(404);
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

  it("puts the kiosk build's pre-rendered first screen into the page: its first-screen.mjs, given the snapshot and ?lang=", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kiosk-"));
    writeFileSync(path.join(dir, "index.html"), `<!doctype html><head>${KIOSK_BOOT_MARKER}</head><body><zapvend-kiosk>${FIRST}</zapvend-kiosk></body>`);
    // A stand-in for the kiosk's renderer (apps/kiosk first-screen.ts): it shows what the daemon gave it.
    const renderer = (tag: string) =>
      `export function withFirstScreen(page, boot, lang) { return page.replace(${JSON.stringify(FIRST)}, () => "<p id=${tag}>" + JSON.stringify({ lang, machineId: boot.catalog.machineId, order: boot.order }).replace(/</g, "") + "</p>"); }`;
    writeFileSync(path.join(dir, FIRST_SCREEN_MODULE), renderer("one"));
    const { api, url } = await start(dir);
    const shown = (page: string) => /<p id=(\w+)>([^<]*)<\/p>/.exec(page);
    const fr = shown(await (await fetch(`${url}/?lang=fr`)).text());
    expect(fr?.[1]).toBe("one");
    expect(JSON.parse(fr![2]!)).toEqual({ lang: "fr", machineId: api.catalog().machineId, order: null });
    expect(JSON.parse(shown(await (await fetch(`${url}/`)).text())![2]!).lang).toBeNull();
    // A kiosk rebuilt in place brings its new renderer (a new mtime).
    writeFileSync(path.join(dir, FIRST_SCREEN_MODULE), renderer("two"));
    utimesSync(path.join(dir, FIRST_SCREEN_MODULE), new Date(), new Date(Date.now() + 5000));
    expect(shown(await (await fetch(`${url}/`)).text())?.[1]).toBe("two");
    // A renderer that fails: the page with the snapshot, without the first screen (the kiosk draws it).
    writeFileSync(path.join(dir, FIRST_SCREEN_MODULE), "export function withFirstScreen() { throw new Error('broken'); }");
    utimesSync(path.join(dir, FIRST_SCREEN_MODULE), new Date(), new Date(Date.now() + 10_000));
    const page = await (await fetch(`${url}/`)).text();
    expect(page).toContain('id="zapvend-boot"');
    expect(page).toContain(FIRST);
    expect(logged.some(([msg]) => msg === "kiosk page: no first screen")).toBe(true);
  });

  it("serves a kiosk page without the marker as it is", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kiosk-"));
    writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>kiosk</title>");
    const { url } = await start(dir);
    expect(await (await fetch(`${url}/`)).text()).toBe("<!doctype html><title>kiosk</title>");
  });
});

/** Orders with their own ids, whose state a test moves, as the controller would. */
class OrdersApi extends TestApi {
  readonly orders = new Map<string, Order>();
  private n = 0;
  override async createOrder(slot: string) {
    const o: Order = { ...order, orderId: `ord_test${String(++this.n).padStart(12, "0")}`, slot };
    this.orders.set(o.orderId, o);
    return o;
  }
  override getOrder(id: string) {
    return this.orders.get(id);
  }
  /** Moves an order on and tells the screens, as the daemon's `order` event does. */
  move(id: string, change: Partial<Order>): Order {
    const o = { ...this.orders.get(id)!, ...change };
    this.orders.set(id, o);
    this.emit("order", o);
    return o;
  }
}

describe("machine HTTP API on a shop's network", () => {
  async function startWith(opts: { maxPendingOrders?: number; kioskDir?: string; allowedOrigins?: string[] } = {}) {
    const api = new OrdersApi();
    server = new MachineServer({ api, ...opts });
    const url = await server.start("127.0.0.1", 0);
    return { api, url, port: new URL(url).port };
  }
  /** A kiosk page load: the machine's session cookie, as the browser keeps it. */
  async function kioskSession(url: string): Promise<string> {
    const res = await fetch(`${url}/`);
    await res.arrayBuffer();
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(new RegExp(`^${KIOSK_SESSION_COOKIE}=[A-Za-z0-9_-]{22,}; Path=/; HttpOnly; SameSite=Strict$`));
    return cookie.split(";")[0]!;
  }
  const post = (url: string, p: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${p}`, { method: "POST", headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(body) });

  it("refuses POSTs from another origin or host, and any POST body not declared as JSON, with coded errors", async () => {
    const { api, url, port } = await startWith();
    // What a web page elsewhere can send without a preflight: text/plain, a form, no content type.
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const r = await fetch(`${url}/api/orders`, { method: "POST", headers: { "content-type": type }, body: JSON.stringify({ slot: "A1" }) });
      expect(r.status).toBe(415);
      expect(await r.json()).toMatchObject({ error: { code: "unsupported_media_type" } });
    }
    const noType = await fetch(`${url}/api/orders/${order.orderId}/cancel`, { method: "POST" });
    expect(noType.status).toBe(415);
    const evil = await post(url, "/api/orders", { slot: "A1" }, { origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    expect(await evil.json()).toMatchObject({ error: { code: "origin_not_allowed" } });
    expect((await post(url, "/api/orders", { slot: "A1" }, { origin: "null" })).status).toBe(403);
    // DNS rebinding: a name of the attacker's that resolves to 127.0.0.1 (node's fetch sends Host from the URL, so
    // this request goes out with a raw socket).
    const rebound = await rawPost(Number(port), "/api/orders", { host: `rebind.evil.example:${port}`, "content-type": "application/json" }, '{"slot":"A1"}');
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: "host_not_allowed" } });
    expect(api.orders.size).toBe(0);
    // The kiosk's own origins, by every loopback name, and API clients that send no Origin, pass.
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const r = await post(url, "/api/orders", { slot: "A1" }, { origin });
      expect(r.status).toBe(201);
      api.move(((await r.json()) as Order).orderId, { state: "expired" });
    }
    expect((await post(url, "/api/orders", { slot: "A1" })).status).toBe(201);
    expect((await fetch(`${url.replace("127.0.0.1", "localhost")}/api/health`)).status).toBe(200);
  });

  it("a WebSocket from another origin is refused; the kiosk's own is served", async () => {
    const { url, port } = await startWith();
    const wsUrl = `${url.replace("http", "ws")}/ws`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl, { origin: "http://evil.example" });
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
      ws.on("error", () => {});
    });
    expect(refused).toBe(403);
    const ok = new WebSocket(wsUrl, { origin: `http://127.0.0.1:${port}` });
    await new Promise<void>((resolve, reject) => {
      ok.on("open", () => resolve());
      ok.on("error", reject);
    });
    ok.close();
  });

  it("one unpaid invoice per kiosk session and at most maxPendingOrders machine-wide, 429 beyond; a paid or expired one frees its place", async () => {
    const { api, url } = await startWith({ maxPendingOrders: 3, kioskDir: kioskDirWithPage() });
    const a = await kioskSession(url);
    const b = await kioskSession(url);
    expect(a).not.toBe(b);
    const first = await post(url, "/api/orders", { slot: "A1" }, { cookie: a });
    expect(first.status).toBe(201);
    const again = await post(url, "/api/orders", { slot: "A2" }, { cookie: a });
    expect(again.status).toBe(429);
    expect(await again.json()).toMatchObject({ error: { code: "session_order_open" } });
    expect((await post(url, "/api/orders", { slot: "A2" }, { cookie: b })).status).toBe(201);
    // A script without a session: bounded by the machine-wide cap only.
    expect((await post(url, "/api/orders", { slot: "A3" })).status).toBe(201);
    const full = await post(url, "/api/orders", { slot: "A3" });
    expect(full.status).toBe(429);
    expect(await full.json()).toMatchObject({ error: { code: "too_many_pending_orders" } });
    // Ten at once, racing each other: still none beyond the cap.
    const burst = await Promise.all(Array.from({ length: 10 }, () => post(url, "/api/orders", { slot: "A4" })));
    expect(burst.map((r) => r.status).every((s) => s === 429)).toBe(true);
    expect(api.orders.size).toBe(3);
    // Session a's invoice is paid: a may open another, and the machine has room for one more.
    api.move(((await first.json()) as Order).orderId, { state: "held" });
    expect((await post(url, "/api/orders", { slot: "A1" }, { cookie: a })).status).toBe(201);
    expect((await post(url, "/api/orders", { slot: "A1" })).status).toBe(429);
  });

  it("a restarted server still counts the invoices opened before it against the caps", async () => {
    const api = new OrdersApi();
    const orderSessions = memoryOrderSessions();
    server = new MachineServer({ api, maxPendingOrders: 2, orderSessions });
    let url = await server.start("127.0.0.1", 0);
    for (let i = 0; i < 2; i++) expect((await post(url, "/api/orders", { slot: "A1" })).status).toBe(201);
    await server.stop();
    server = new MachineServer({ api, maxPendingOrders: 2, orderSessions });
    url = await server.start("127.0.0.1", 0);
    expect((await post(url, "/api/orders", { slot: "A1" })).status).toBe(429);
    api.move([...api.orders.keys()][0]!, { state: "expired" });
    expect((await post(url, "/api/orders", { slot: "A1" })).status).toBe(201);
  });

  it("a credit id reaches only the kiosk session that created the order: not other screens, not the API by order id", async () => {
    const { api, url } = await startWith({ kioskDir: kioskDirWithPage() });
    const mine = await kioskSession(url);
    const theirs = await kioskSession(url);
    const wsUrl = `${url.replace("http", "ws")}/ws`;
    const listen = (cookie: string | undefined) => {
      const got: Order[] = [];
      const ws = new WebSocket(wsUrl, cookie ? { headers: { cookie } } : {});
      ws.on("message", (data: Buffer) => {
        const m = JSON.parse(data.toString()) as { type: string; order?: Order };
        if (m.type === "order") got.push(m.order!);
      });
      return { ws, got, open: new Promise((r) => ws.on("open", r)) };
    };
    const screens = [listen(mine), listen(theirs), listen(undefined)];
    await Promise.all(screens.map((s) => s.open));
    const created = (await (await post(url, "/api/orders", { slot: "A1" }, { cookie: mine })).json()) as Order;
    const credit = { creditId: "cr_secret0123456789", amountMsat: "1500000" };
    api.move(created.orderId, { state: "credited", credit });
    await expect.poll(() => screens.every((s) => s.got.some((o) => o.state === "credited"))).toBe(true);
    const [own, other, anonymous] = screens.map((s) => s.got.find((o) => o.state === "credited")!);
    expect(own!.credit).toEqual(credit);
    expect(other!.credit).toBeNull();
    expect(anonymous!.credit).toBeNull();
    for (const s of screens) s.ws.close();
    // Order ids go to every screen: asking for the order by id reveals no credit id to anyone else.
    const byId = (cookie?: string) => fetch(`${url}/api/orders/${created.orderId}`, cookie ? { headers: { cookie } } : {}).then((r) => r.json() as Promise<Order>);
    expect((await byId(mine)).credit).toEqual(credit);
    expect((await byId(theirs)).credit).toBeNull();
    expect((await byId()).credit).toBeNull();
    api.current = api.getOrder(created.orderId)!;
    const current = (cookie?: string) => fetch(`${url}/api/orders/current`, cookie ? { headers: { cookie } } : {}).then((r) => r.json() as Promise<{ order: Order }>);
    expect((await current(mine)).order.credit).toEqual(credit);
    expect((await current(theirs)).order.credit).toBeNull();
    expect(JSON.stringify(await (await fetch(`${url}/`, { headers: { cookie: theirs } })).text())).not.toContain("cr_secret");
    expect(await (await fetch(`${url}/`, { headers: { cookie: mine } })).text()).toContain("cr_secret0123456789");
  });
});

function kioskDirWithPage(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "kiosk-"));
  writeFileSync(path.join(dir, "index.html"), `<!doctype html><head>${KIOSK_BOOT_MARKER}</head><body>kiosk</body>`);
  return dir;
}

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
