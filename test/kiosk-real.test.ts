// The kiosk in real Chromium against the REAL daemon: `apps/machine/dist/cli.js` with the sim board, the sim
// Lightning node (`packages/payments/dist/sim-node-cli.js`) and the embedded broker, each in its own process on
// loopback with free ports. A buyer buys with the on-screen demo wallet button and sees the dispensing and "take your
// product" screens; a reload mid-vend shows the vend again (GET /api/orders/current), never the catalog or a QR; the
// technician's service menu needs the open door (403 door_closed), opens the sim door in the demo, takes the machine
// out of service and closes the door on leaving.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, scryptSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bins = {
  broker: path.join(root, "packages/mqtt-bridge/dist/broker-cli.js"),
  sim: path.join(root, "packages/payments/dist/sim-node-cli.js"),
  machine: path.join(root, "apps/machine/dist/cli.js"),
  kiosk: path.join(root, "apps/kiosk/dist/kiosk/index.html"),
};
const PIN = "2580";

const children: ChildProcess[] = [];
let dir: string;
let kioskUrl: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let logs = "";

/** Starts `node <args>` and resolves with the URL of its `<name>: <url>` line on stdout. */
function start(label: string, args: string[], name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ZAPVEND_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const timer = setTimeout(() => reject(new Error(`${label} did not start in 20 s:\n${logs.slice(-2000)}`)), 20_000);
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = new RegExp(`^${name}: (\\S+)$`, "m").exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on("data", (d: Buffer) => (logs += `[${label}] ${d.toString()}`));
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${signal ?? code}):\n${logs.slice(-2000)}`));
    });
  });
}

/** The PIN as `zapvend-machine hash-pin` writes it (scrypt, N=16384, r=8, p=1). */
function pinHash(pin: string): string {
  const salt = randomBytes(16);
  return `scrypt$16384$8$1$${salt.toString("base64url")}$${scryptSync(pin, salt, 32, { N: 16384, r: 8, p: 1 }).toString("base64url")}`;
}

/**
 * Records, from the first script of every page load on, whether a product card or a QR was ever put on screen: by the
 * kiosk (its shadow root) or in the page the daemon served (its pre-rendered first screen).
 */
function recordScreens(): void {
  const w = window as unknown as { seen: { catalog: boolean; qr: boolean } };
  w.seen = { catalog: false, qr: false };
  new MutationObserver(() => {
    if (document.querySelector("[data-first-screen] button[data-slot]")) w.seen.catalog = true;
  }).observe(document, { subtree: true, childList: true });
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init: ShadowRootInit) {
    const shadow = attach.call(this, init);
    new MutationObserver(() => {
      if (shadow.querySelector("button[data-slot]")) w.seen.catalog = true;
      if (shadow.querySelector("svg[data-qr]")) w.seen.qr = true;
    }).observe(shadow, { subtree: true, childList: true });
    return shadow;
  };
}

const screen = (name: string) => page.locator(`[data-screen="${name}"]`);
const seen = () => page.evaluate(() => (window as unknown as { seen: { catalog: boolean; qr: boolean } }).seen);

beforeAll(async () => {
  const missing = Object.entries(bins).filter(([, f]) => !existsSync(f));
  if (missing.length > 0) throw new Error(`not built: ${missing.map(([n]) => n).join(", ")} (npm run build)`);
  dir = mkdtempSync(path.join(tmpdir(), "zapvend-kiosk-real-"));
  const brokerUrl = await start("broker", [bins.broker, "--port", "0", "--allow-anonymous"], "broker");
  const simUrl = await start("sim-lightning", [bins.sim, "--port", "0"], "sim-lightning");
  // The demo's snacks pin map; A2 turns slower so that a page reload fits well inside its vend.
  const pinmap = JSON.parse(readFileSync(path.join(root, "hardware/pinmaps/snacks.json"), "utf8")) as { spirals: Record<string, { revolutionMs: number }> };
  pinmap.spirals.A2!.revolutionMs = 6_000;
  writeFileSync(path.join(dir, "snacks.json"), JSON.stringify(pinmap));
  const config = {
    machineId: "kiosk-real-01",
    http: { host: "127.0.0.1", port: 0 },
    mqtt: { url: brokerUrl, telemetryIntervalMs: 10_000 },
    board: { kind: "sim", pinmap: path.join(dir, "snacks.json") },
    payments: { backend: { kind: "sim", url: simUrl }, network: "regtest", invoiceExpirySec: 180 },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" }, maxRateAgeSec: 600 },
    catalog: [
      { slot: "A1", name: "Crisps", kind: "spiral", icon: "🥔", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 8, capacity: 10 },
      { slot: "A2", name: "Chocolate", kind: "spiral", icon: "🍫", price: { unit: "fiat", currency: "EUR", amountMinor: 200 }, stock: 8, capacity: 10 },
    ],
    dataDir: path.join(dir, "machine"),
    servicePinHash: pinHash(PIN),
  };
  writeFileSync(path.join(dir, "machine.json"), JSON.stringify(config, null, 2));
  kioskUrl = await start("machine", [bins.machine, "--config", path.join(dir, "machine.json")], "kiosk kiosk-real-01");
  // Right after start the machine may still be waiting for its first door reading or backend answer.
  for (let deadline = Date.now() + 15_000; ; ) {
    const health = (await (await fetch(`${kioskUrl}/api/health`)).json()) as { selling?: boolean };
    if (health.selling) break;
    if (Date.now() > deadline) throw new Error(`the machine is not selling 15 s after start: ${JSON.stringify(health)}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
  context = await browser.newContext({ viewport: { width: 800, height: 480 }, reducedMotion: "reduce" });
  await context.addInitScript(recordScreens);
  page = await context.newPage();
  await page.goto(kioskUrl);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const child of children.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("kiosk against the real daemon", () => {
  it("the daemon serves the catalog pre-rendered by the kiosk build, in the page's language", async () => {
    const page = await (await fetch(`${kioskUrl}/?lang=fr`)).text();
    expect(page).toContain('<zapvend-kiosk><div data-first-screen lang="fr">');
    expect(page).toContain("<h1>Choisissez un produit</h1>");
    expect(page).toMatch(/<button class="product" data-slot="A1">.*data-name>Crisps<\/span>/);
    expect(page).not.toMatch(/<script type="module"/);
  });

  it("buys with the demo wallet: the QR, dispensing, then take your product", async () => {
    await page.locator('button[data-slot="A1"]').click();
    const qr = page.locator('[data-screen="payment"] svg[data-qr]');
    await qr.waitFor({ timeout: 15_000 });
    expect(await qr.getAttribute("data-qr")).toMatch(/^LIGHTNING:LNBCRT/);
    await page.locator("[data-demo-pay]").click();
    await screen("vending").waitFor({ timeout: 15_000 });
    await screen("done").waitFor({ timeout: 20_000 });
    expect(await screen("done").textContent()).toContain("Take your product");
    const current = (await (await fetch(`${kioskUrl}/api/orders/current`)).json()) as { order: { state: string; slot: string } | null };
    expect(current.order).toMatchObject({ state: "completed", slot: "A1" });
    await page.getByRole("button", { name: "OK" }).click();
    await page.locator('button[data-slot="A2"]').waitFor();
  });

  it("a reload mid-vend shows the vend, not the catalog, then take your product", async () => {
    await page.locator('button[data-slot="A2"]').click();
    await page.locator('[data-screen="payment"] svg[data-qr]').waitFor({ timeout: 15_000 });
    await page.locator("[data-demo-pay]").click();
    await screen("vending").waitFor({ timeout: 15_000 });
    await page.reload();
    await screen("vending").waitFor({ timeout: 15_000 });
    // The new page never put a product card or an invoice on screen while the product was coming out.
    expect(await seen()).toEqual({ catalog: false, qr: false });
    const current = (await (await fetch(`${kioskUrl}/api/orders/current`)).json()) as { order: { state: string; slot: string } | null };
    expect(current.order?.slot).toBe("A2");
    await screen("done").waitFor({ timeout: 30_000 });
    expect(await seen()).toEqual({ catalog: false, qr: false });
  });

  it("service menu: door closed first, the demo opens it, out of service and back, the door closed on leaving", async () => {
    await page.getByRole("button", { name: "OK" }).click();
    await page.getByRole("button", { name: "Service" }).click();
    for (const d of PIN) await page.locator('[data-screen="service-pin"] .pad').getByRole("button", { name: d, exact: true }).click();
    await page.getByRole("button", { name: "Enter" }).click();
    await expect.poll(() => page.getByRole("alert").textContent(), { timeout: 10_000 }).toBe("Open the machine's door first: the service menu works only with the door open.");
    await page.getByRole("button", { name: "Open the door (demo)" }).click();
    await page.locator("[data-status]").waitFor({ timeout: 15_000 });
    expect(((await (await fetch(`${kioskUrl}/api/health`)).json()) as { door: string }).door).toBe("open");

    await page.getByRole("button", { name: "Take out of service" }).click();
    await expect.poll(() => page.locator("[data-note]").textContent(), { timeout: 10_000 }).toBe("Mode saved: out of service (maintenance)");
    await page.getByRole("button", { name: "Close the door (demo)" }).click();
    await screen("out-of-service").waitFor({ timeout: 15_000 });
    expect(await screen("out-of-service").textContent()).toContain("A technician is servicing the machine.");
    const health = (await (await fetch(`${kioskUrl}/api/health`)).json()) as { door: string; mode: string; selling: boolean };
    expect(health).toMatchObject({ door: "closed", mode: "maintenance", selling: false });

    // Back in service: the door must be opened again for the menu (closing it ended the session).
    await page.getByRole("button", { name: "Service" }).click();
    for (const d of PIN) await page.locator('[data-screen="service-pin"] .pad').getByRole("button", { name: d, exact: true }).click();
    await page.getByRole("button", { name: "Enter" }).click();
    await page.getByRole("button", { name: "Open the door (demo)" }).click();
    await page.getByRole("button", { name: "Put in service" }).click();
    await expect.poll(() => page.locator("[data-note]").textContent(), { timeout: 10_000 }).toBe("Mode saved: in service");
    await page.getByRole("button", { name: "Close the door (demo)" }).click();
    await page.locator('button[data-slot="A1"]').waitFor({ timeout: 15_000 });
    expect(((await (await fetch(`${kioskUrl}/api/health`)).json()) as { selling: boolean }).selling).toBe(true);
  });

  it("the screen's session: an HttpOnly SameSite=Strict cookie, one open invoice per screen; a page of another origin changes nothing", async () => {
    const cookie = (await context.cookies(kioskUrl)).find((c) => c.name === "zapvend_kiosk");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    await expect.poll(async () => ((await (await fetch(`${kioskUrl}/api/health`)).json()) as { selling: boolean }).selling, { timeout: 15_000 }).toBe(true);
    const stockA1 = async () => ((await (await fetch(`${kioskUrl}/api/catalog`)).json()) as { products: Array<{ slot: string; stock: number }> }).products.find((p) => p.slot === "A1")!.stock;
    // The kiosk's own page, through its cookie: a second invoice while one is open is refused.
    const [first, second] = await page.evaluate(async () => {
      const post = (slot: string) => fetch("/api/orders", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slot }) });
      const a = await post("A1");
      const b = await post("A2");
      return [{ status: a.status, body: (await a.json()) as { orderId: string } }, { status: b.status, body: (await b.json()) as { error: { code: string } } }] as const;
    });
    expect(first.status).toBe(201);
    expect(second).toMatchObject({ status: 429, body: { error: { code: "session_order_open" } } });
    const cancelled = await page.evaluate(async (id) => (await fetch(`/api/orders/${id}/cancel`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status, first.body.orderId);
    expect(cancelled).toBe(200);
    const before = await stockA1();

    // A page of another origin in the same browser (the kiosk's cookie is there too).
    const attacker = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>win a prize</title>");
    });
    await new Promise<void>((r) => attacker.listen(0, "127.0.0.1", () => r()));
    const evil = await context.newPage();
    try {
      await evil.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`);
      const outcome = await evil.evaluate(async (target) => {
        // A "simple" request that needs no preflight: the browser sends it, the machine must refuse it.
        await fetch(`${target}/api/orders`, { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body: JSON.stringify({ slot: "A1" }) }).catch(() => undefined);
        // JSON needs a preflight the machine never grants.
        const json = await fetch(`${target}/api/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slot: "A1" }) }).then(
          (r) => `answered ${r.status}`,
          () => "blocked",
        );
        const ws = await new Promise<string>((resolve) => {
          const sock = new WebSocket(`${target.replace("http", "ws")}/ws`);
          sock.onopen = () => resolve("open");
          sock.onerror = () => resolve("refused");
        });
        return { json, ws };
      }, kioskUrl);
      expect(outcome).toEqual({ json: "blocked", ws: "refused" });
      expect(await stockA1()).toBe(before); // no order was created (an order reserves its stock)
    } finally {
      await evil.close();
      await new Promise((r) => attacker.close(r));
    }
  });
});
