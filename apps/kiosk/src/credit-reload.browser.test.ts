// A reload of the kiosk mid-vend (GET /api/orders/current), an invoice paid after a reload, and credits after a
// failed vend, in real Chromium against the fake machine.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { FakeMachine, FakeMachineOptions } from "./__fixtures__/fake-machine.js";
import { kioskSuite, shot } from "./__fixtures__/browser.js";

const suite = kioskSuite();

async function setup(opts: Partial<FakeMachineOptions> = {}): Promise<{ m: FakeMachine; page: Page }> {
  const m = await suite.startMachine(opts);
  // Records, from the first script of every load on, whether a product card or a QR was ever put on screen.
  const page = await suite.open(m.url, { initScript: recordScreens });
  return { m, page };
}

function recordScreens(): void {
  const w = window as unknown as { seen: { catalog: boolean; qr: boolean } };
    w.seen = { catalog: false, qr: false };
    const attach = Element.prototype.attachShadow;
    Element.prototype.attachShadow = function (init: ShadowRootInit) {
      const root = attach.call(this, init);
      new MutationObserver(() => {
        if (root.querySelector("button[data-slot]")) w.seen.catalog = true;
        if (root.querySelector("svg[data-qr]")) w.seen.qr = true;
      }).observe(root, { subtree: true, childList: true });
      return root;
    };
}

/**
 * Lets `ms` of the page's (fake) time pass in 5 s steps, each followed by a moment of real time: one big jump would
 * also look like a dead WebSocket (no message for 25 s) and show the reconnecting screen instead.
 */
async function idle(page: Page, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 5_000) {
    await page.clock.fastForward(Math.min(5_000, left));
    await page.waitForTimeout(30);
  }
}

const screen = (page: Page, name: string) => page.locator(`[data-screen="${name}"]`);
const seen = (page: Page) => page.evaluate(() => (window as unknown as { seen: { catalog: boolean; qr: boolean } }).seen);

async function buy(page: Page, m: FakeMachine, slot: string) {
  await page.locator(`button[data-slot="${slot}"]`).click();
  await expect.poll(() => page.locator("svg[data-qr]").count()).toBe(1);
  return m.lastOrder()!;
}

describe("kiosk: reload mid-vend", () => {
  it("a reload while the product comes out shows the vend, never the catalog or a QR, then take your product", async () => {
    const { m, page } = await setup();
    const order = await buy(page, m, "A1");
    m.startVend(order.orderId, { kind: "pour", pouredMl: 100, targetMl: 250 });
    await screen(page, "vending").waitFor();
    await page.reload();
    await screen(page, "vending").waitFor();
    expect(await seen(page)).toEqual({ catalog: false, qr: false });
    expect(m.requests.some((r) => r.method === "GET" && r.path === "/api/orders/current")).toBe(true);
    await shot(page, "14-reload-mid-vend");
    m.complete(order.orderId);
    await screen(page, "done").waitFor();
    expect(await seen(page)).toEqual({ catalog: false, qr: false });
  });

  it("a reload just after a failed vend shows the refund screen (an order finished in the last 15 s)", async () => {
    const { m, page } = await setup();
    m.nextVend = { ok: false, code: "SPIRAL_JAM", hold: true };
    const order = await buy(page, m, "B1");
    await m.pay(order.orderId);
    await screen(page, "failed").waitFor();
    await page.reload();
    await screen(page, "failed").waitFor();
    expect(await screen(page, "failed").getAttribute("data-kind")).toBe("refunded");
    expect((await seen(page)).qr).toBe(false);
  });

  it("an invoice shown before a reload and paid after it: the catalog switches to the vend", async () => {
    const { m, page } = await setup();
    const order = await buy(page, m, "B1");
    await page.reload();
    await page.locator('button[data-slot="B1"]').waitFor();
    expect((await seen(page)).qr).toBe(false);
    m.startVend(order.orderId, { kind: "spiral", phase: "turning" });
    await screen(page, "vending").waitFor();
    await expect.poll(() => page.locator("[data-progress]").textContent()).toBe("Releasing your product…");
    m.complete(order.orderId);
    await screen(page, "done").waitFor();
    // Once dismissed, a reconnect does not bring the finished order back.
    await page.getByRole("button", { name: "OK" }).click();
    await screen(page, "catalog").waitFor();
    const asked = m.requests.filter((r) => r.path === "/api/orders/current").length;
    await m.restart({ keepOrders: true, downMs: 100 });
    await expect.poll(() => m.requests.filter((r) => r.path === "/api/orders/current").length, { timeout: 15_000 }).toBeGreaterThan(asked);
    await page.locator('button[data-slot="B1"]').waitFor();
    expect(await screen(page, "done").count()).toBe(0);
  });

  it("with the daemon's snapshot in the page: the catalog at once; a reload mid-vend shows the vend, never the catalog or a QR", async () => {
    const { m, page } = await setup({ bootSnapshot: true });
    const order = await buy(page, m, "A1");
    m.startVend(order.orderId, { kind: "pour", pouredMl: 100, targetMl: 250 });
    await screen(page, "vending").waitFor();
    const asked = m.requests.filter((r) => r.path === "/api/orders/current").length;
    await page.reload();
    await screen(page, "vending").waitFor();
    expect(await page.locator("script#zapvend-boot").count()).toBe(1);
    expect(await seen(page)).toEqual({ catalog: false, qr: false });
    // Asked again once the WebSocket is up (an order paid between the page's request and the socket).
    await expect.poll(() => m.requests.filter((r) => r.path === "/api/orders/current").length).toBeGreaterThan(asked);
    m.complete(order.orderId);
    await screen(page, "done").waitFor();
    expect(await seen(page)).toEqual({ catalog: false, qr: false });
  });

  it("with the daemon's snapshot but no WebSocket: back to 'connecting', no catalog to tap", async () => {
    const { m, page } = await setup({ bootSnapshot: true });
    await page.locator('button[data-slot="A1"]').waitFor();
    m.refuseWebSocket = true;
    await page.reload();
    await screen(page, "connecting").waitFor();
    expect(await page.locator("button[data-slot]").count()).toBe(0);
    m.refuseWebSocket = false;
    await page.locator('button[data-slot="A1"]').waitFor({ timeout: 15_000 });
  });

  it("an older daemon without GET /api/orders/current (404): the catalog as before", async () => {
    const { m, page } = await setup({ currentOrderRoute: false });
    await page.locator('button[data-slot="A1"]').waitFor();
    expect(m.requests.some((r) => r.path === "/api/orders/current")).toBe(true);
  });
});

describe("kiosk: credits", () => {
  /** A plain-paid vend of B1 (1,680 sats) fails: the machine grants a credit of the whole price. */
  async function earnCredit(page: Page, m: FakeMachine): Promise<string> {
    m.nextVend = { ok: false, code: "DROP_NOT_SEEN", hold: false };
    const order = await buy(page, m, "B1");
    const done = await m.pay(order.orderId);
    m.nextVend = { ok: true };
    await screen(page, "failed").waitFor();
    expect(await screen(page, "failed").textContent()).toContain("You have a credit of 1,680 sats: pick another product.");
    return done.credit!.creditId;
  }

  it("a credit that covers the next product: no QR, straight to the vend, and the credit is gone", async () => {
    const { m, page } = await setup();
    const creditId = await earnCredit(page, m);
    await shot(page, "15-credit");
    await page.getByRole("button", { name: "Pick another product" }).click();
    const banner = page.locator("[data-credit]");
    expect(await banner.textContent()).toContain("Credit of 1,680 sats: pick another product");
    await shot(page, "16-catalog-credit");
    const before = (await seen(page)).qr;
    expect(before).toBe(true); // the first purchase showed one
    await page.evaluate(() => ((window as unknown as { seen: { qr: boolean } }).seen.qr = false));
    await page.locator('button[data-slot="B1"]').click();
    await screen(page, "done").waitFor();
    expect((await seen(page)).qr).toBe(false);
    const creates = m.requests.filter((r) => r.method === "POST" && r.path === "/api/orders").map((r) => r.body);
    expect(creates).toEqual([{ slot: "B1" }, { slot: "B1", creditId }]);
    expect(m.lastOrder()?.state).toBe("completed");
    await page.getByRole("button", { name: "OK" }).click();
    await page.locator('button[data-slot="A1"]').waitFor();
    expect(await banner.count()).toBe(0);
  });

  it("a credit smaller than the price: a QR for the rest with 'credit applied'", async () => {
    const { m, page } = await setup();
    const creditId = await earnCredit(page, m);
    await page.getByRole("button", { name: "Pick another product" }).click();
    await page.locator('button[data-slot="A1"]').click(); // 2,100 sats
    await expect.poll(() => page.locator("svg[data-qr]").count()).toBe(1);
    expect(await page.locator("[data-amount]").textContent()).toBe("420 sats");
    expect(await page.locator("[data-credit-applied]").textContent()).toBe("Credit applied: 1,680 sats");
    expect(m.lastOrder()?.amountMsat).toBe("420000");
    expect(m.requests.at(-1)?.body).toBeDefined();
    expect(m.requests.filter((r) => r.path === "/api/orders").at(-1)?.body).toEqual({ slot: "A1", creditId });
    await shot(page, "17-payment-credit");
    await page.locator("[data-demo-pay]").click();
    await screen(page, "done").waitFor();
    expect(m.credits.get(creditId)?.balanceMsat).toBe(0n);
  });

  it("a credit already spent elsewhere: a clear message and the normal catalog", async () => {
    const { m, page } = await setup();
    const creditId = await earnCredit(page, m);
    await page.getByRole("button", { name: "Pick another product" }).click();
    m.credits.get(creditId)!.balanceMsat = 0n; // spent from another screen meanwhile
    await page.locator('button[data-slot="B1"]').click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("This credit was already used or is unknown (credit_spent). Nothing was charged.");
    expect(await page.locator("[data-credit]").count()).toBe(0);
    expect(await page.locator("svg[data-qr]").count()).toBe(0);
    // The next tap is an ordinary purchase.
    await buy(page, m, "B1");
    expect(m.requests.filter((r) => r.path === "/api/orders").at(-1)?.body).toEqual({ slot: "B1" });
  });

  it("a credit reserved by another open order (409 credit_in_use): says why, keeps the credit for when that order ends", async () => {
    const { m, page } = await setup();
    const creditId = await earnCredit(page, m);
    await page.getByRole("button", { name: "Pick another product" }).click();
    // Another client starts an order on the same credit (a rest invoice, still unpaid): it reserves the credit.
    const res = await fetch(`${m.url}/api/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slot: "A1", creditId }) });
    expect(res.status).toBe(201);
    const other = (await res.json()) as { orderId: string };
    await page.locator('button[data-slot="B1"]').click();
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toBe("This credit is reserved by an order still waiting for its payment. It can be used again once that order ends (a few minutes at most). Nothing was charged.");
    expect(await page.locator("svg[data-qr]").count()).toBe(0);
    // The credit is not gone: still offered, and usable once the other order ended.
    expect(await page.locator("[data-credit]").textContent()).toContain("Credit of 1,680 sats");
    m.expire(other.orderId);
    await page.locator('button[data-slot="B1"]').click();
    await screen(page, "done").waitFor();
    expect(m.requests.filter((r) => r.method === "POST" && r.path === "/api/orders").at(-1)?.body).toEqual({ slot: "B1", creditId });
    expect(m.credits.get(creditId)?.balanceMsat).toBe(0n);
  });

  it("an unknown credit (404 credit_not_found) says so too", async () => {
    const { m, page } = await setup();
    const creditId = await earnCredit(page, m);
    await page.getByRole("button", { name: "Pick another product" }).click();
    m.credits.delete(creditId);
    await page.locator('button[data-slot="B1"]').click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("(credit_not_found)");
    expect(await page.locator("[data-credit]").count()).toBe(0);
  });

  it("the screen forgets the credit after 2 minutes idle, or at once on 'Done'", async () => {
    const { m, page } = await setup();
    await earnCredit(page, m);
    await page.getByRole("button", { name: "Pick another product" }).click();
    const banner = page.locator("[data-credit]");
    await banner.waitFor();
    await idle(page, 115_000);
    expect(await banner.count()).toBe(1);
    await idle(page, 6_000);
    await expect.poll(() => banner.count()).toBe(0);
    expect(await page.locator('button[data-slot="B1"]').count()).toBe(1); // the catalog, not a lost connection
    await buy(page, m, "B1");
    expect(m.requests.filter((r) => r.path === "/api/orders").at(-1)?.body).toEqual({ slot: "B1" });
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("button", { name: "OK" }).click();

    await earnCredit(page, m);
    await page.getByRole("button", { name: "Done" }).click();
    await page.locator('button[data-slot="B1"]').waitFor();
    expect(await banner.count()).toBe(0);
    // The machine keeps every credit for the operator.
    expect(m.credits.size).toBe(2);
  });

  it("the credit screen in French", async () => {
    const { m, page } = await setup();
    await page.getByRole("button", { name: "Français" }).click();
    m.nextVend = { ok: false, code: "DROP_NOT_SEEN", hold: false };
    const order = await buy(page, m, "B1");
    await m.pay(order.orderId);
    await screen(page, "failed").waitFor();
    const nbsp = (s: string | null) => (s ?? "").replace(/[\u00a0\u202f]/g, " ");
    expect(nbsp(await screen(page, "failed").textContent())).toContain("Vous avez un crédit de 1 680 sats : choisissez un autre produit.");
    await page.getByRole("button", { name: "Choisir un autre produit" }).click();
    expect(nbsp(await page.locator("[data-credit]").textContent())).toContain("Crédit de 1 680 sats");
  });

  it("accessibility: the credit controls are real buttons in reading order, and the banner's text passes WCAG AA contrast", async () => {
    const { m, page } = await setup();
    await earnCredit(page, m);
    const pick = page.locator("[data-pick-another]");
    const done = page.locator('[data-screen="failed"] [data-credit-done]');
    expect([await pick.evaluate((el) => el.tagName), await done.evaluate((el) => el.tagName)]).toEqual(["BUTTON", "BUTTON"]);
    await pick.focus();
    await page.keyboard.press("Tab");
    expect(await done.evaluate((el) => el === (el.getRootNode() as ShadowRoot).activeElement)).toBe(true);
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Enter"); // "Pick another product" by keyboard
    const banner = page.locator("[data-credit]");
    await banner.waitFor();
    const [fg, bg] = await banner.evaluate((el) => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]);
    expect(contrast(fg!, bg!)).toBeGreaterThanOrEqual(4.5);
    expect(await banner.getAttribute("role")).toBe("status");
    expect(await banner.locator("button").evaluate((el) => el.tagName)).toBe("BUTTON");
  });
});

/** WCAG 2 contrast ratio of two `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
      const x = Number(v) / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}
