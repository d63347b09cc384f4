// The daemon's pre-rendered first screen (issue #18, first-screen.ts) in real Chromium against the fake machine:
// the products are in the served HTML (escaped), painted as they are before any script runs, and the kiosk's own
// screen takes their place where they were, without a second grid, ready for a tap.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { DEFAULT_PRODUCTS, type FakeMachine } from "./__fixtures__/fake-machine.js";
import { kioskSuite } from "./__fixtures__/browser.js";

const suite = kioskSuite();

/** A name from the operator's catalog that would be markup if it were not escaped. */
const HOSTILE = `<img src=x onerror="window.injected=1"><b>Brew & "co"`;

async function start(opts: { firstScreen?: boolean } = {}): Promise<FakeMachine> {
  const products = structuredClone(DEFAULT_PRODUCTS);
  products[0]!.name = HOSTILE;
  return suite.startMachine({ bootSnapshot: true, products, ...opts });
}

/** A page; `script: false` never lets the kiosk's script load (what the buyer sees before it runs). */
async function open(url: string, opts: { script?: boolean } = {}): Promise<Page> {
  const page = await suite.plainPage();
  if (opts.script === false) await page.route(/\/(kiosk|chunk)-[A-Za-z0-9]+\.js$/, (r) => r.abort());
  await page.goto(url);
  return page;
}

/** Each product card of the pre-rendered copy (light DOM) or of the kiosk's shadow root: slot, box, texts. */
function cards(page: Page, where: "copy" | "kiosk") {
  return page.evaluate((w) => {
    const host = document.querySelector("zapvend-kiosk")!;
    const root = w === "copy" ? host.querySelector("[data-first-screen]") : host.shadowRoot;
    return [...(root?.querySelectorAll("button[data-slot]") ?? [])].map((b) => {
      const r = b.getBoundingClientRect();
      return {
        slot: b.getAttribute("data-slot"),
        box: [r.x, r.y, r.width, r.height].map((v) => Math.round(v * 10) / 10),
        name: b.querySelector("[data-name]")?.textContent?.trim(),
        price: b.querySelector("[data-fiat]")?.textContent ?? b.querySelector(".badge")?.textContent,
        disabled: (b as HTMLButtonElement).disabled,
      };
    });
  }, where);
}

describe("kiosk: the daemon's pre-rendered first screen", () => {
  it("is in the served HTML with the catalog's names escaped, and painted as text before any script runs", async () => {
    const m = await start();
    const html = await (await fetch(m.url)).text();
    expect(html).toContain("<div data-first-screen");
    expect(html).toContain("&#60;img src=x onerror=&#34;window.injected=1&#34;&#62;&#60;b&#62;Brew &#38; &#34;co&#34;");
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain("<b>Brew");
    const page = await open(m.url, { script: false });
    const copy = await cards(page, "copy");
    expect(copy.map((c) => c.slot)).toEqual(["A1", "A2", "B1"]);
    expect(copy[0]!.name).toBe(`${HOSTILE} 250 ml`);
    expect(copy[1]).toMatchObject({ price: "Sold out", disabled: true });
    expect(await page.evaluate(() => ({ injected: (window as { injected?: number }).injected, imgs: document.querySelectorAll("img, b").length }))).toEqual({
      injected: undefined,
      imgs: 0,
    });
    // Visible and laid out as the kiosk's grid (three columns of 170 px rows), not a bare list.
    expect(copy[0]!.box[3]).toBe(170);
    expect(copy[1]!.box[1]).toBe(copy[0]!.box[1]);
    expect(await page.locator('[data-first-screen] button[data-slot="B1"]').isVisible()).toBe(true);
  });

  it("is replaced by the kiosk's own screen where it was: no second grid, and a tap buys at once", async () => {
    const m = await start();
    const before = await cards(await open(m.url, { script: false }), "copy");
    const page = await open(m.url);
    await expect.poll(() => page.evaluate(() => performance.getEntriesByName("zapvend:products-painted").length)).toBe(1);
    expect(await page.evaluate(() => document.querySelectorAll("[data-first-screen]").length)).toBe(0);
    // Playwright's selectors pierce the shadow root: one card per slot in the whole page.
    expect(await page.locator("button[data-slot]").count()).toBe(3);
    const after = await cards(page, "kiosk");
    expect(after).toEqual(before);
    // The first tap right after the takeover is the kiosk's: the invoice for that product.
    await page.locator('button[data-slot="B1"]').click();
    await page.locator('[data-screen="payment"] [data-qr]').waitFor();
    expect(await page.locator('[data-screen="payment"] [data-product]').textContent()).toContain("Dark chocolate");
    expect(m.requests.filter((r) => r.method === "POST" && r.path === "/api/orders")).toHaveLength(1);
  });

  it("keeps a tap on a product made before the kiosk's script ran, and buys it once the kiosk took over", async () => {
    const m = await start();
    const page = await suite.plainPage();
    // The kiosk's entry script is held back until the buyer has tapped the pre-rendered card.
    let release!: () => void;
    const tapped = new Promise<void>((r) => (release = r));
    await page.route(/\/kiosk-[A-Za-z0-9]+\.js$/, async (r) => {
      await tapped;
      await r.continue();
    });
    await page.goto(m.url, { waitUntil: "commit" });
    const copy = page.locator('[data-first-screen] button[data-slot="B1"]');
    await copy.click();
    // A sold-out card's tap is not kept (it is disabled, as on the kiosk's screen).
    expect(await page.locator('[data-first-screen] button[data-slot="A2"]').isDisabled()).toBe(true);
    release();
    await page.locator('[data-screen="payment"] [data-qr]').waitFor();
    expect(await page.locator('[data-screen="payment"] [data-product]').textContent()).toContain("Dark chocolate");
    expect(m.requests.filter((r) => r.method === "POST" && r.path === "/api/orders").map((r) => r.body)).toEqual([{ slot: "B1" }]);
  });

  it("speaks the language of the page's URL, as the kiosk then does", async () => {
    const m = await start();
    const page = await open(`${m.url}/?lang=fr`, { script: false });
    expect(await page.locator("[data-first-screen] h1").textContent()).toBe("Choisissez un produit");
    expect(await page.locator('[data-first-screen] button[lang="fr"]').getAttribute("aria-pressed")).toBe("true");
    const live = await open(`${m.url}/?lang=fr`);
    await expect.poll(() => live.evaluate(() => performance.getEntriesByName("zapvend:products-painted").length)).toBe(1);
    expect(await live.locator("h1").textContent()).toBe("Choisissez un produit");
  });

  it("is not there when the kiosk starts elsewhere (out of service): the module script blocks the first frame as before", async () => {
    const m = await start();
    m.setStatus({ door: "open" });
    const html = await (await fetch(m.url)).text();
    expect(html).not.toContain("<div data-first-screen");
    expect(html).toMatch(/<script type="module" src="\.\/kiosk-[A-Za-z0-9]+\.js" blocking="render"><\/script>/);
    const page = await open(m.url);
    await page.locator('[data-screen="out-of-service"]').waitFor();
  });
});
