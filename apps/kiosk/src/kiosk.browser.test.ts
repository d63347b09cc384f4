// The buyer's paths in real Chromium against a server that plays the machine's API contract.
import type { Page } from "playwright-core";
import { beforeEach, describe, expect, it } from "vitest";
import type { FakeMachine } from "./__fixtures__/fake-machine.js";
import { kioskSuite, shot } from "./__fixtures__/browser.js";
import { qrPath } from "./app/qr-code.js";
import { paymentUri } from "./app/qr.js";

const suite = kioskSuite();
let machine: FakeMachine;

beforeEach(async () => {
  machine = await suite.startMachine();
});

const open = (opts: { lang?: string } = {}): Promise<Page> => suite.open(machine.url, opts);

const screen = (page: Page, name: string) => page.locator(`[data-screen="${name}"]`);
const qr = (page: Page) => page.locator("svg[data-qr]");

/** Taps a product and waits for its invoice; returns the order the machine made. */
async function startPurchase(page: Page, slot: string) {
  await page.locator(`button[data-slot="${slot}"]`).click();
  await expect.poll(() => qr(page).count()).toBe(1);
  const order = machine.lastOrder();
  if (!order?.bolt11) throw new Error("no order with an invoice was created");
  return { ...order, bolt11: order.bolt11 };
}

describe("kiosk: buying", () => {
  it("shows the catalog with fiat and sats prices, and sold-out products cannot be tapped", async () => {
    const page = await open();
    const coffee = page.locator('button[data-slot="A1"]');
    await expect.poll(() => coffee.textContent()).toContain("Cold brew");
    expect(await coffee.textContent()).toContain("€2.50");
    expect(await coffee.textContent()).toContain("2,100 sats");
    expect(await coffee.isEnabled()).toBe(true);
    const water = page.locator('button[data-slot="A2"]');
    expect(await water.textContent()).toContain("Sold out");
    expect(await water.isEnabled()).toBe(false);
    expect(await page.locator("[data-rate]").textContent()).toContain("kraken");
    await shot(page, "01-catalog");
  });

  it("buy and pay: the invoice's QR, the demo wallet, live progress, then take your product and back to the catalog", async () => {
    const page = await open();
    const order = await startPurchase(page, "A1");
    // The QR encodes exactly this invoice, upper case behind LIGHTNING: (alphanumeric mode).
    const uri = paymentUri(order.bolt11);
    expect(uri).toBe(`LIGHTNING:${order.bolt11.toUpperCase()}`);
    expect(await qr(page).getAttribute("data-qr")).toBe(uri);
    expect(await qr(page).locator("path").getAttribute("d")).toBe(qrPath(uri).d);
    expect(await page.locator("[data-amount]").textContent()).toBe("2,100 sats");
    expect(await page.locator('[data-screen="payment"] [data-fiat]').textContent()).toBe("€2.50");
    expect(await page.locator("[data-countdown]").textContent()).toMatch(/Expires in (10:00|9:5\d)/);
    expect(await page.getByRole("link", { name: "Open in wallet" }).getAttribute("href")).toBe(`lightning:${order.bolt11}`);
    await shot(page, "02-payment");

    await page.locator("[data-demo-pay]").click();
    await screen(page, "done").waitFor();
    expect(await screen(page, "done").textContent()).toContain("Take your product");
    expect(machine.orders.get(order.orderId)?.state).toBe("completed");
    expect(machine.requests.some((r) => r.path === "/api/demo/pay" && (r.body as { orderId: string }).orderId === order.orderId)).toBe(true);
    await shot(page, "05-done");
    // A few seconds later the next buyer sees the catalog.
    await page.clock.fastForward(9_000);
    await screen(page, "catalog").waitFor();
  });

  it("shows the pour's progress in ml while dispensing", async () => {
    const page = await open();
    const order = await startPurchase(page, "A1");
    machine.startVend(order.orderId, { kind: "pour", pouredMl: 125, targetMl: 250 });
    await expect.poll(() => page.locator("[data-progress]").textContent()).toBe("Pouring 125 of 250 ml");
    expect(await page.locator("progress").evaluate((el) => (el as HTMLProgressElement).value)).toBe(125);
    expect(await qr(page).count()).toBe(0);
    await shot(page, "04-dispensing");
  });

  it("cancel: the invoice leaves the screen and the machine is told", async () => {
    const page = await open();
    const order = await startPurchase(page, "B1");
    await page.getByRole("button", { name: "Cancel" }).click();
    await screen(page, "failed").waitFor();
    expect(await screen(page, "failed").getAttribute("data-kind")).toBe("cancelled");
    expect(await screen(page, "failed").textContent()).toContain("Nothing was charged.");
    expect(await qr(page).count()).toBe(0);
    await expect.poll(() => machine.orders.get(order.orderId)?.state).toBe("expired");
    expect(machine.requests.some((r) => r.method === "POST" && r.path === `/api/orders/${order.orderId}/cancel`)).toBe(true);
    await page.getByRole("button", { name: "OK" }).click();
    await screen(page, "catalog").waitFor();
  });

  it("expire: the QR disappears at the expiry on the kiosk's clock, then 'invoice expired: nothing was charged'", async () => {
    const page = await open();
    const order = await startPurchase(page, "A1");
    await page.clock.fastForward("10:01");
    await page.locator("[data-expired]").waitFor();
    expect(await qr(page).count()).toBe(0);
    machine.expire(order.orderId);
    await screen(page, "failed").waitFor();
    const text = await screen(page, "failed").textContent();
    expect(text).toContain("Invoice expired");
    expect(text).toContain("Nothing was charged.");
    await shot(page, "06-expired");
    await page.clock.fastForward(21_000);
    await screen(page, "catalog").waitFor();
  });

  it("a failed vend after a hold payment says the money was refunded automatically", async () => {
    machine.nextVend = { ok: false, code: "SPIRAL_JAM", hold: true };
    const page = await open();
    const order = await startPurchase(page, "B1");
    await machine.pay(order.orderId);
    await screen(page, "failed").waitFor();
    expect(await screen(page, "failed").getAttribute("data-kind")).toBe("refunded");
    expect(await screen(page, "failed").textContent()).toContain("Your payment was refunded automatically.");
    await shot(page, "07-refunded");
  });

  // An underpayment: the wallet sent less than the invoice asked, the machine cancelled the hold at once.
  it.each([
    ["en", "The payment was less than the price", "Your payment was refunded automatically."],
    ["fr", "Le paiement était inférieur au prix", "Votre paiement a été remboursé automatiquement."],
    ["ja", "お支払い額が価格に足りませんでした", "お支払いは自動的に返金されました。"],
    ["zh", "付款金额低于价格", "您的付款已自动退回"],
  ])("an underpayment refunded at once says the payment was less than the price (%s)", async (lang, title, body) => {
    const page = await open({ lang });
    const order = await startPurchase(page, "B1");
    machine.underpay(order.orderId, 1_000_000n);
    await screen(page, "failed").waitFor();
    expect(await screen(page, "failed").getAttribute("data-kind")).toBe("refunded");
    expect(await page.locator('[data-screen="failed"] .big').textContent()).toBe(title);
    const text = await screen(page, "failed").textContent();
    expect(text).toContain(body);
    // Not the vend-failure wording: the product was never the problem.
    expect(text).not.toMatch(/did not come out|n’est pas sorti|商品が出ませんでした|未能出货/);
    if (lang === "en") await shot(page, "07b-underpaid");
  });

  it("a failed vend after a plain payment shows the credit in sats", async () => {
    machine.nextVend = { ok: false, code: "DROP_NOT_SEEN", hold: false };
    const page = await open();
    const order = await startPurchase(page, "B1");
    await machine.pay(order.orderId);
    await screen(page, "failed").waitFor();
    expect(await screen(page, "failed").textContent()).toContain("You have a credit of 1,680 sats: pick another product.");
  });

  it("a product that sold out meanwhile: a clear message, no invoice", async () => {
    const page = await open();
    await page.locator('button[data-slot="B1"]').waitFor();
    machine.products[2]!.stock = 0; // another buyer took the last one; the catalog on screen is behind
    await page.locator('button[data-slot="B1"]').click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Sorry, this product just sold out.");
    expect(await qr(page).count()).toBe(0);
  });
});

describe("kiosk: out of service", () => {
  it("door open: the out-of-service screen, no product to tap, never a QR; selling again when it closes", async () => {
    machine.setStatus({ door: "open" });
    const page = await open();
    await screen(page, "out-of-service").waitFor();
    expect(await screen(page, "out-of-service").textContent()).toContain("The door is open.");
    expect(await page.locator("button[data-slot]").count()).toBe(0);
    expect(await qr(page).count()).toBe(0);
    await shot(page, "08-out-of-service");
    machine.setStatus({ door: "closed" });
    await screen(page, "catalog").waitFor();
    expect(machine.requests.filter((r) => r.path === "/api/orders")).toHaveLength(0);
  });

  it("a fault of a part every slot shares (the drop beam): says it is a hardware fault, sells again once it ends", async () => {
    machine.setStatus({ hardware: "degraded", faults: [{ code: "DROP_SENSOR_STUCK", message: "the drop beam reads broken with nothing vending" }] });
    const page = await open();
    await screen(page, "out-of-service").waitFor();
    expect(await screen(page, "out-of-service").textContent()).toContain("The machine has a hardware fault.");
    expect(await page.locator("button[data-slot]").count()).toBe(0);
    machine.setStatus({ hardware: "up", faults: [] });
    await screen(page, "catalog").waitFor();
  });

  it("payments going down while a QR is shown withdraw the invoice at once", async () => {
    const page = await open();
    const order = await startPurchase(page, "A1");
    machine.setStatus({ payments: "down" });
    await expect.poll(() => qr(page).count()).toBe(0);
    expect(await screen(page, "failed").getAttribute("data-kind")).toBe("withdrawn");
    await expect.poll(() => machine.orders.get(order.orderId)?.state).toBe("expired");
    await page.getByRole("button", { name: "OK" }).click();
    await screen(page, "out-of-service").waitFor();
    expect(await screen(page, "out-of-service").textContent()).toContain("Payments are unavailable right now.");
  });
});

describe("kiosk: languages", () => {
  const nbspFree = (s: string | null) => (s ?? "").replace(/[\u00a0\u202f]/g, " ");
  const cases = [
    { lang: "en", button: "English", title: "Choose a product", locale: "en-US" },
    { lang: "fr", button: "Français", title: "Choisissez un produit", locale: "fr-FR" },
    { lang: "ja", button: "日本語", title: "商品を選んでください", locale: "ja-JP" },
    { lang: "zh", button: "中文", title: "请选择商品", locale: "zh-CN" },
  ];

  it("switches between en, fr, ja and zh on screen, with each language's number and currency formats", async () => {
    const page = await open();
    await page.locator('button[data-slot="A1"]').waitFor();
    for (const c of cases) {
      await page.getByRole("button", { name: c.button }).click();
      await expect.poll(() => page.locator("h1").textContent()).toBe(c.title);
      const fiat = new Intl.NumberFormat(c.locale, { style: "currency", currency: "EUR" }).format(2.5);
      const sats = `${new Intl.NumberFormat(c.locale).format(2100)} sats`;
      expect(nbspFree(await page.locator('button[data-slot="A1"] [data-fiat]').textContent())).toBe(nbspFree(fiat));
      expect(nbspFree(await page.locator('button[data-slot="A1"] [data-sats]').textContent())).toBe(nbspFree(sats));
      expect(await page.evaluate(() => document.documentElement.lang)).toBe(c.lang);
      if (c.lang !== "en") await shot(page, `03-catalog-${c.lang}`);
    }
    // French writes "2,50 €" and groups thousands with a space: not the English format with other words.
    await page.getByRole("button", { name: "Français" }).click();
    expect(nbspFree(await page.locator('button[data-slot="A1"] [data-fiat]').textContent())).toBe("2,50 €");
    expect(nbspFree(await page.locator('button[data-slot="A1"] [data-sats]').textContent())).toBe("2 100 sats");
    await startPurchase(page, "A1");
    expect(await page.getByRole("button", { name: "Annuler" }).isVisible()).toBe(true);
    await shot(page, "02-payment-fr");
  });

  it("a yen machine shows yen without decimals in Japanese", async () => {
    await machine.stop();
    machine = await suite.startMachine({
      currency: "JPY",
      products: [{ slot: "A1", name: "お茶", kind: "pour", priceMsat: "1260000", fiatMinor: 180, stock: 3, capacity: 9, volumeMl: 350 }],
    });
    const page = await open({ lang: "ja" });
    const fiat = page.locator('button[data-slot="A1"] [data-fiat]');
    await fiat.waitFor();
    expect(await fiat.textContent()).toBe(new Intl.NumberFormat("ja-JP", { style: "currency", currency: "JPY" }).format(180));
    expect(await fiat.textContent()).toMatch(/^[￥¥]180$/);
  });
});

describe("kiosk: reconnecting", () => {
  it("a daemon restart that forgot the order: no QR while disconnected, and the invoice is withdrawn, never shown again", async () => {
    const page = await open();
    await startPurchase(page, "A1");
    // Record every QR that appears from now on, between polls too.
    await page.evaluate(() => {
      const w = window as unknown as { qrSeen: number };
      w.qrSeen = 0;
      const host = document.querySelector("zapvend-kiosk")!.shadowRoot!;
      new MutationObserver(() => {
        if (host.querySelector("svg[data-qr]")) w.qrSeen++;
      }).observe(host, { subtree: true, childList: true });
    });
    const restarting = machine.restart({ downMs: 400 });
    await screen(page, "connecting").waitFor();
    expect(await qr(page).count()).toBe(0);
    expect(await screen(page, "connecting").textContent()).toContain("Reconnecting");
    await shot(page, "09-reconnecting");
    await restarting;
    await screen(page, "failed").waitFor({ timeout: 15_000 });
    expect(await screen(page, "failed").getAttribute("data-kind")).toBe("withdrawn");
    expect(await qr(page).count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { qrSeen: number }).qrSeen)).toBe(0);
    await page.getByRole("button", { name: "OK" }).click();
    await screen(page, "catalog").waitFor();
  });

  it("a restart that kept the order: the QR comes back only once the machine confirmed it is still pending", async () => {
    const page = await open();
    const order = await startPurchase(page, "A1");
    await machine.restart({ keepOrders: true, downMs: 200 });
    await expect.poll(() => machine.requests.filter((r) => r.path === `/api/orders/${order.orderId}`).length, { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(() => qr(page).getAttribute("data-qr")).toBe(paymentUri(order.bolt11));
  });

  it("a power-up of the kiosk starts at the catalog: no QR of an earlier order", async () => {
    const page = await open();
    await startPurchase(page, "A1");
    await page.reload();
    await page.locator('button[data-slot="A1"]').waitFor();
    expect(await qr(page).count()).toBe(0);
  });
});
