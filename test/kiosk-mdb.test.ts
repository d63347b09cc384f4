// The kiosk of an MDB machine in real Chromium against the REAL daemon (`apps/machine/dist/cli.js`, board `mdb` on
// the sim VMC behind a socat pty), the sim Lightning node and the embedded broker, each in its own process on
// loopback with free ports. The buyer chooses on the VMC's keypad (`POST /api/demo/vmc`, as the demo's keypad
// does); the screen shows the product from the selection map with its price in fiat and sats, the QR and the
// countdown; the demo wallet pays; "vending", then "take your product". A VEND FAILURE ends in "refunded", an
// unmapped selection shows as "selection N" in the buyer's language, and a VMC that disables the reader makes the
// screen say the machine is not selling.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bins = {
  broker: path.join(root, "packages/mqtt-bridge/dist/broker-cli.js"),
  sim: path.join(root, "packages/payments/dist/sim-node-cli.js"),
  machine: path.join(root, "apps/machine/dist/cli.js"),
  kiosk: path.join(root, "apps/kiosk/dist/kiosk/index.html"),
};

const children: ChildProcess[] = [];
let dir: string;
let kioskUrl: string;
let simUrl: string;
let browser: Browser;
let page: Page;
let logs = "";

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

const screen = (name: string) => page.locator(`[data-screen="${name}"]`);
async function vmc(body: unknown): Promise<number> {
  return (await fetch(`${kioskUrl}/api/demo/vmc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).status;
}

beforeAll(async () => {
  const missing = Object.entries(bins).filter(([, f]) => !existsSync(f));
  if (missing.length > 0) throw new Error(`not built: ${missing.map(([n]) => n).join(", ")} (npm run build)`);
  dir = mkdtempSync(path.join(tmpdir(), "zapvend-kiosk-mdb-"));
  const brokerUrl = await start("broker", [bins.broker, "--port", "0", "--allow-anonymous"], "broker");
  simUrl = await start("sim-lightning", [bins.sim, "--port", "0"], "sim-lightning");
  const config = {
    machineId: "kiosk-mdb-01",
    http: { host: "127.0.0.1", port: 0 },
    mqtt: { url: brokerUrl, telemetryIntervalMs: 10_000 },
    board: {
      kind: "mdb",
      port: "sim",
      approvalTimeoutSec: 60,
      invoiceExpirySec: 45,
      sim: { selections: [{ selection: 11, priceUnits: 200 }, { selection: 12, priceUnits: 250 }, { selection: 44, priceUnits: 120 }], vendDurationMs: 1_500 },
    },
    payments: { backend: { kind: "sim", url: simUrl }, network: "regtest", invoiceExpirySec: 180 },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" }, maxRateAgeSec: 600 },
    catalog: [
      { slot: "S11", name: "Cola", kind: "mdb", icon: "🥤", price: { unit: "fiat", currency: "EUR", amountMinor: 200 }, stock: 10, capacity: 10 },
      { slot: "S12", name: "Chocolate bar", kind: "mdb", icon: "🍫", price: { unit: "fiat", currency: "EUR", amountMinor: 250 }, stock: 10, capacity: 10 },
    ],
    dataDir: path.join(dir, "machine"),
  };
  writeFileSync(path.join(dir, "machine.json"), JSON.stringify(config, null, 2));
  kioskUrl = await start("machine", [bins.machine, "--config", path.join(dir, "machine.json")], "kiosk kiosk-mdb-01");
  for (let deadline = Date.now() + 15_000; ; ) {
    const health = (await (await fetch(`${kioskUrl}/api/health`)).json()) as { selling?: boolean };
    if (health.selling) break;
    if (Date.now() > deadline) throw new Error(`the machine is not selling 15 s after start: ${JSON.stringify(health)}\n${logs.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
  const context = await browser.newContext({ viewport: { width: 800, height: 480 }, reducedMotion: "reduce" });
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

describe("the kiosk of an MDB machine (real daemon, sim VMC over a pty)", () => {
  it("idle: choose on the machine's keypad; a vend request brings the product, the price and the QR; paid: vending, then take your product", async () => {
    await screen("keypad").waitFor({ timeout: 15_000 });
    expect(await screen("keypad").textContent()).toContain("Choose on the machine's keypad");
    // The demo's on-screen keypad (sim VMC only) presses the VMC's key 12.
    await page.locator('[data-demo-select="12"]').click();
    const qr = page.locator('[data-screen="payment"] svg[data-qr]');
    await qr.waitFor({ timeout: 15_000 });
    expect(await qr.getAttribute("data-qr")).toMatch(/^LIGHTNING:LNBCRT/);
    const pay = screen("payment");
    expect(await pay.locator("[data-product]").textContent()).toContain("Chocolate bar");
    expect(await pay.locator("[data-icon]").textContent()).toContain("🍫");
    expect(await pay.locator("[data-fiat]").textContent()).toContain("2.50");
    expect(await pay.locator("[data-amount]").textContent()).toContain("2,500");
    // The countdown ends with the invoice, 45 s: before the VMC's 60 s approval timeout.
    const countdown = (await pay.locator("[data-countdown]").textContent()) ?? "";
    const m = /(\d+):(\d\d)/.exec(countdown);
    expect(m).not.toBeNull();
    const secondsLeft = Number(m![1]) * 60 + Number(m![2]);
    expect(secondsLeft).toBeGreaterThan(0);
    expect(secondsLeft).toBeLessThanOrEqual(45);
    expect(await pay.locator("[data-keypad-cancel]").count()).toBe(1);
    expect(await pay.locator("[data-cancel]").textContent()).toContain("Cancel");

    await page.locator("[data-demo-pay]").click();
    await page.locator("[data-vmc]").waitFor({ timeout: 15_000 });
    await screen("done").waitFor({ timeout: 20_000 });
    expect(await screen("done").textContent()).toContain("Take your product");
    await page.getByRole("button", { name: "OK" }).click();
    await screen("keypad").waitFor({ timeout: 10_000 });
  });

  it("a VEND FAILURE shows refunded; an unmapped selection shows as \"selection N\" in the buyer's language", async () => {
    await page.getByRole("button", { name: "Français" }).click();
    expect(await vmc({ failNext: true })).toBe(200);
    expect(await vmc({ select: 44 })).toBe(200);
    await page.locator('[data-screen="payment"] svg[data-qr]').waitFor({ timeout: 15_000 });
    expect(await screen("payment").locator("[data-product]").textContent()).toContain("Sélection 44");
    await page.locator("[data-demo-pay]").click();
    await page.locator('[data-screen="failed"][data-kind="refunded"]').waitFor({ timeout: 20_000 });
    await page.getByRole("button", { name: "OK" }).click();
    await page.getByRole("button", { name: "English" }).click();
  });

  it("the on-screen Cancel: the order is cancelled, the invoice too, the VMC's request denied, and the screen is back at the keypad", async () => {
    await page.getByRole("button", { name: "日本語" }).click();
    expect(await vmc({ select: 11 })).toBe(200);
    const pay = screen("payment");
    await pay.locator("svg[data-qr]").waitFor({ timeout: 15_000 });
    const { order } = (await (await fetch(`${kioskUrl}/api/orders/current`)).json()) as { order: { orderId: string; paymentHash: string; state: string; slot: string } };
    expect(order).toMatchObject({ slot: "S11", state: "pending" });
    // The label in the buyer's language (all four are in i18n.ts; Japanese here).
    expect((await pay.locator("[data-cancel]").textContent())?.trim()).toBe("キャンセル");
    await pay.locator("[data-cancel]").click();
    await screen("keypad").waitFor({ timeout: 10_000 });
    expect(await screen("keypad").locator("[data-notice]").textContent()).toContain("取り消しました");

    // The order: expired by the buyer; nothing approved, the invoice cancelled on the node.
    await expect.poll(async () => ((await (await fetch(`${kioskUrl}/api/orders/${order.orderId}`)).json()) as { state: string }).state, { timeout: 10_000 }).toBe("expired");
    const done = (await (await fetch(`${kioskUrl}/api/orders/${order.orderId}`)).json()) as { failure: { code: string } | null };
    expect(done.failure?.code).toBe("cancelled_by_buyer");
    const rHash = Buffer.from(order.paymentHash, "hex").toString("base64");
    await expect
      .poll(async () => ((await (await fetch(`${simUrl}/sim/invoices`)).json()) as { invoices: Array<{ r_hash: string; state: string }> }).invoices.find((i) => i.r_hash === rHash)?.state, { timeout: 10_000 })
      .toBe("CANCELED");
    // The VMC's log: the request for 11, zapvend's deny, no approval, and the VMC back to waiting for a selection.
    const state = (await (await fetch(`${kioskUrl}/api/demo/vmc`)).json()) as { pending: unknown; lines: Array<{ dir: string; line: string }> };
    const log = state.lines.map((l) => `${l.dir === "from-host" ? ">" : "<"} ${l.line}`);
    const request = log.map((l) => /^< c,STATUS,VEND,2\.00,11$/.test(l)).lastIndexOf(true);
    expect(request).toBeGreaterThanOrEqual(0);
    const after = log.slice(request + 1);
    expect(after.filter((l) => l.startsWith("> C,VEND,"))).toEqual(["> C,VEND,-1"]);
    expect(state.pending).toBeNull();
    // The keypad works again: the next press is a new vend request on screen, also over the service menu's PIN pad
    // left open with nobody signed in.
    await page.getByRole("button", { name: "保守" }).click();
    await screen("service-pin").waitFor({ timeout: 10_000 });
    expect(await vmc({ select: 11 })).toBe(200);
    await pay.locator("svg[data-qr]").waitFor({ timeout: 15_000 });
    await pay.locator("[data-cancel]").click();
    await screen("keypad").waitFor({ timeout: 10_000 });
    await page.getByRole("button", { name: "English" }).click();
  });

  it("a VMC that disables the reader: the machine is not selling", async () => {
    expect(await vmc({ inService: false })).toBe(200);
    await screen("out-of-service").waitFor({ timeout: 15_000 });
    expect(await screen("out-of-service").textContent()).toContain("The machine is not selling right now.");
    expect(await vmc({ inService: true })).toBe(200);
    await screen("keypad").waitFor({ timeout: 15_000 });
  });
});
