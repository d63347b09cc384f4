// What the kiosk's first paint does and does not wait for (issue #7: first products painted within 500 ms at 4x CPU
// throttle; bench/kiosk-first-paint.bench.mjs measures it). Real Chromium against the fake machine.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { FakeMachine } from "./__fixtures__/fake-machine.js";
import { kioskSuite } from "./__fixtures__/browser.js";

const suite = kioskSuite();

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
  const m = await suite.startMachine({ bootSnapshot: opts.bootSnapshot });
  // Without openKiosk's fake clock: it replaces `performance`, and the kiosk's marks would not be seen.
  const page = await suite.plainPage();
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
});
