// What the kiosk's first paint does and does not wait for (issue #7: first products painted within 500 ms at 4x CPU
// throttle; bench/kiosk-first-paint.bench.mjs measures it). Real Chromium against the fake machine.
import { existsSync, readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeMachine } from "./__fixtures__/fake-machine.js";
import { KIOSK_DIR, VIEWPORT, launchChromium } from "./__fixtures__/browser.js";
import { FIRST_SCREEN_FONTS } from "./app/first-screen-fonts.js";

let browser: Browser;
let machine: FakeMachine | undefined;
const pages: Page[] = [];

beforeAll(async () => {
  if (!existsSync(`${KIOSK_DIR}/index.html`)) throw new Error("build the kiosk first (npm run build -w @zapvend/kiosk)");
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const p of pages.splice(0)) await p.context().close();
  await machine?.stop();
  machine = undefined;
});

/**
 * Records, in the page, each WebSocket opened and what the screen showed then: product cards in the DOM, and the
 * kiosk's "products painted" mark.
 */
function recordSockets(): void {
  const w = window as unknown as { sockets: { cards: boolean; painted: boolean }[] };
  w.sockets = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      w.sockets.push({
        cards: document.querySelector("zapvend-kiosk")?.shadowRoot?.querySelector("button[data-slot]") != null,
        painted: performance.getEntriesByName("zapvend:products-painted").length > 0,
      });
    }
  };
}

async function open(opts: { bootSnapshot: boolean }): Promise<{ m: FakeMachine; page: Page }> {
  const m = (machine = new FakeMachine({ kioskDir: KIOSK_DIR, bootSnapshot: opts.bootSnapshot }));
  await m.start();
  // Without openKiosk's fake clock: it replaces `performance`, and the kiosk's marks would not be seen.
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  pages.push(page);
  await page.addInitScript(recordSockets);
  await page.goto(m.url);
  return { m, page };
}

const sockets = (page: Page) => page.evaluate(() => (window as unknown as { sockets: { cards: boolean; painted: boolean }[] }).sockets);

describe("kiosk: first paint", () => {
  it("with the daemon's snapshot: the products are painted before the WebSocket opens, which then keeps the screen live", async () => {
    const { m, page } = await open({ bootSnapshot: true });
    await expect.poll(() => sockets(page)).toHaveLength(1);
    expect(await sockets(page)).toEqual([{ cards: true, painted: true }]);
    await expect.poll(() => m.clientCount).toBe(1);
    // The socket is the kiosk's: a status push reaches the screen.
    m.setStatus({ door: "open" });
    await page.locator('[data-screen="out-of-service"]').waitFor();
  });

  it("without the snapshot (another server): index.html opens the WebSocket before the kiosk's script runs", async () => {
    const { page } = await open({ bootSnapshot: false });
    await page.locator('button[data-slot="A1"]').waitFor();
    expect(await sockets(page)).toEqual([{ cards: false, painted: false }]);
  });

  it("every text of the catalog screen is in a font index.html lays out ahead (first-screen-fonts.ts)", async () => {
    const { page } = await open({ bootSnapshot: true });
    await page.locator('button[data-slot="A1"]').waitFor();
    const used = await page.evaluate(() => {
      const root = document.querySelector("zapvend-kiosk")!.shadowRoot!;
      const fonts = new Set<string>();
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.textContent?.trim() || !n.parentElement) continue;
        const s = getComputedStyle(n.parentElement);
        fonts.add(`${s.fontWeight} ${s.fontSize} ${s.fontFamily}`);
      }
      return [...fonts];
    });
    expect(used.length).toBeGreaterThan(3);
    const ahead = FIRST_SCREEN_FONTS.map((f) => `${f.weight} ${f.sizePx}px ${f.family}`);
    expect(used.filter((f) => !ahead.includes(f))).toEqual([]);
    // The built page carries the list (the build put it in place of its marker).
    const html = readFileSync(`${KIOSK_DIR}/index.html`, "utf8");
    expect(html).not.toContain("%FONT_WARMUP%");
    for (const f of FIRST_SCREEN_FONTS) expect(html).toContain(JSON.stringify(f.text));
  });
});
