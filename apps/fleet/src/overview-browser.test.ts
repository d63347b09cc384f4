// The overview's numbers and the machine page in a real Chromium (issue #18): a fleet seeded with known sales in
// Europe/Paris around the spring-forward Sunday, the server's clock and the page's fixed at Monday 30 March 2026
// 10:00 there. Checks the exact figures of today / yesterday / last 7 days (fiat per currency, sales without fiat,
// top products), each machine's sales today and last sale, the charts' axes, values and tooltips, a live sale
// counted without fetching the overview again, the machine page's events as readable lines with the raw JSON
// toggle, and its temperature line. Writes screenshots at 800 and 1280 px to bench/results/ for review (the nav
// checked to be one row in each).
import type { Page } from "playwright-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chromiumSkip, consoleBrowser, startConsoleFleet, type ConsoleFleet } from "./__fixtures__/console-browser.js";
import { SCREENSHOT_DIR, screenshots } from "./__fixtures__/console-layout.js";
import { birth, event, sale, status, telemetry } from "./__fixtures__/messages.js";
import type { FleetService } from "./fleet-service.js";

const SKIP = chromiumSkip("fleet overview");
const TZ = "Europe/Paris";
/** Monday 30 March 2026, 10:00 in Paris (CEST). */
const NOW = Date.UTC(2026, 2, 30, 8, 0);
const PASSWORD = "overview test password";

describe.skipIf(SKIP !== null)(`fleet overview in Chromium${SKIP ? ` (${SKIP})` : ""}`, () => {
  const chrome = consoleBrowser("overview");
  let fleet: ConsoleFleet;
  let service: FleetService;
  let page: Page;
  let overviewRequests: number;

  const login = (hash = "") => fleet.loginAs("viewer", hash);

  /** Screenshots at 800 and 1280 px, each with the nav checked to be one row with every link in view. */
  const shots = (name: string) => screenshots(page, SCREENSHOT_DIR, `fleet-${name}`);

  beforeEach(async () => {
    fleet = await startConsoleFleet(chrome, { server: { timeZone: TZ, now: () => NOW }, users: ["viewer"], password: PASSWORD });
    ({ service, page } = fleet);
    await service.ingest([
      birth("m-1", { slots: [{ slot: "A1" }, { slot: "A2" }] }),
      status("m-1", "online", { boot: 1, seq: 1 }),
      telemetry("m-1", { ts: NOW - 180_000, temperatureC: 5.5 }),
      telemetry("m-1", { ts: NOW - 120_000, temperatureC: 6.5 }),
      telemetry("m-1", { ts: NOW - 60_000, temperatureC: 7 }),
      sale("m-1", { seq: 1, slot: "A1", settledAt: Date.UTC(2026, 2, 30, 7, 15), amountMsat: "1500000" }), // 09:15 today
      sale("m-1", { seq: 2, slot: "A2", settledAt: Date.UTC(2026, 2, 29, 22, 5), amountMsat: "2000000", fiat: { currency: "EUR", amountMinor: 200 } }), // 00:05 today
      sale("m-1", { seq: 3, slot: "A1", settledAt: Date.UTC(2026, 2, 29, 21, 50), amountMsat: "1500000" }), // 23:50 yesterday
      event("m-1", "refund", { seq: 4, ts: Date.UTC(2026, 2, 30, 7, 30) }),
      event("m-1", "door", { seq: 5, ts: Date.UTC(2026, 2, 30, 7, 40) }),
      birth("m-2", { slots: [{ slot: "A1" }] }),
      sale("m-2", { seq: 1, slot: "A1", settledAt: Date.UTC(2026, 2, 29, 0, 30), amountMsat: "1500000", fiat: null }), // 01:30 yesterday, no fiat
      sale("m-2", { seq: 2, slot: "A1", settledAt: Date.UTC(2026, 2, 28, 22, 30), amountMsat: "1500000", fiat: { currency: "CHF", amountMinor: 180 } }), // Saturday
      birth("m-3", { slots: [{ slot: "A1" }, { slot: "A2" }] }),
      sale("m-3", { seq: 1, slot: "A1", settledAt: Date.UTC(2026, 2, 23, 22, 30), amountMsat: "1000000" }), // 8 days ago
      sale("m-3", { seq: 2, slot: "A2", settledAt: Date.UTC(2026, 2, 23, 23, 10), amountMsat: "2000000", fiat: { currency: "EUR", amountMinor: 200 } }), // Tuesday 24th
    ]);
    // The page's clock is the server's: "today" is the same day on both sides.
    await page.clock.setFixedTime(NOW);
    overviewRequests = 0;
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === "/api/overview") overviewRequests++;
    });
  });
  afterEach(async () => {
    await fleet?.stop();
  });

  const card = (key: string) => page.locator(`[data-period="${key}"]`);
  const text = async (sel: string) => ((await page.locator(sel).textContent()) ?? "").replace(/\s+/g, " ").trim();

  it("shows today, yesterday and the last 7 days with exact counts, sats, fiat and top products", async () => {
    await login();
    await card("today").locator("[data-sales-count]").waitFor();
    expect(await text('[data-period="today"] [data-sales-count]')).toBe("2 sales");
    expect(await text('[data-period="today"] [data-revenue-sats]')).toBe("3,500 sat");
    expect(await text('[data-period="today"] [data-revenue-fiat]')).toBe("3.50 EUR");
    expect(await card("today").locator("[data-product]").evaluateAll((els) => els.map((e) => e.getAttribute("data-product")))).toEqual(["Product A2", "Product A1"]);
    expect(await text('[data-period="yesterday"] [data-sales-count]')).toBe("2 sales");
    expect(await text('[data-period="yesterday"] [data-revenue-sats]')).toBe("3,000 sat");
    expect(await text('[data-period="yesterday"] [data-revenue-fiat]')).toBe("1.50 EUR · 1 sale without a fiat value");
    expect(await text('[data-period="last7Days"] [data-sales-count]')).toBe("6 sales");
    expect(await text('[data-period="last7Days"] [data-revenue-sats]')).toBe("10,000 sat");
    expect(await text('[data-period="last7Days"] [data-revenue-fiat]')).toBe("7.00 EUR + 1.80 CHF · 1 sale without a fiat value");
    expect(await text('[data-period="last7Days"] [data-product="Product A1"]')).toBe("Product A1 × 4 · 6,000 sat");

    // Each machine's row: today's sales and its last sale on the operator's clock.
    expect(await text('tr[data-machine="m-1"] [data-today-sales]')).toBe("2 · 3,500 sat");
    expect(await text('tr[data-machine="m-1"] [data-last-sale]')).toMatch(/^30 Mar, 09:15/);
    expect(await text('tr[data-machine="m-2"] [data-today-sales]')).toBe("0");
    expect(await text('tr[data-machine="m-2"] [data-last-sale]')).toMatch(/^29 Mar, 01:30/);
    await shots("overview");
  });

  it("draws the charts with axes, values and tooltips", async () => {
    await login();
    const perDay = page.locator('[data-chart="per-day"]');
    await perDay.locator("g.bar").first().waitFor();
    expect(await perDay.locator("g.bar").count()).toBe(14);
    expect(await perDay.locator("[data-tick]").count()).toBeGreaterThanOrEqual(3);
    expect(await perDay.locator("[data-tick]").first().textContent()).toBe("0");
    expect(await perDay.locator("[data-xtick]").count()).toBeGreaterThanOrEqual(7);
    const monday = perDay.locator('g.bar[data-bar="03-30"]');
    expect(await monday.getAttribute("data-value")).toBe("3500");
    expect(await monday.locator("title").textContent()).toBe("2026-03-30: 2 sales, 3,500 sat");
    // The tooltip box appears on hover.
    expect(await monday.locator(".tip").isVisible()).toBe(false);
    await monday.hover();
    await expect.poll(() => monday.locator(".tip").isVisible()).toBe(true);
    expect(await monday.locator(".tip text").textContent()).toBe("2026-03-30: 2 sales, 3,500 sat");

    const perHour = page.locator('[data-chart="per-hour"]');
    expect(await perHour.locator("g.bar").count()).toBe(24);
    expect(await perHour.locator('g.bar[data-value="2000"] title').textContent()).toBe("00:00–01:00: 1 sale, 2,000 sat");
    expect(await page.locator('[data-chart="per-machine"] g.bar').evaluateAll((els) => els.map((e) => e.getAttribute("data-bar")))).toEqual(["m-1"]);
  });

  /** The element that has the focus, through the shadow roots: its chart and its bar's label or point's name. */
  const focused = () =>
    page.evaluate(() => {
      type El = { shadowRoot: { activeElement: El | null } | null; closest(s: string): El | null; getAttribute(n: string): string | null };
      let a = (globalThis as unknown as { document: { activeElement: El | null } }).document.activeElement;
      while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
      return a ? { chart: a.closest("svg")?.getAttribute("data-chart") ?? null, bar: a.getAttribute("data-bar"), label: a.getAttribute("aria-label") } : null;
    });

  it("shows a bar's value on a tap (a tap elsewhere hides it) on a touch screen of 800 px", async () => {
    ({ page } = await fleet.newContext({ viewport: { width: 800, height: 900 }, hasTouch: true, isMobile: true }));
    await page.clock.setFixedTime(NOW);
    await login();
    const perDay = page.locator('[data-chart="per-day"]');
    const monday = perDay.locator('g.bar[data-bar="03-30"]');
    await monday.waitFor();
    // Named for screen readers by its value, like its tooltip.
    expect(await monday.getAttribute("role")).toBe("img");
    expect(await monday.getAttribute("aria-label")).toBe("2026-03-30: 2 sales, 3,500 sat");
    expect(await monday.locator(".tip").isVisible()).toBe(false);
    await monday.tap();
    await expect.poll(() => monday.locator(".tip").isVisible()).toBe(true);
    expect(await monday.locator(".tip text").textContent()).toBe("2026-03-30: 2 sales, 3,500 sat");
    // Another bar: its value instead.
    const sunday = perDay.locator('g.bar[data-bar="03-29"]');
    await sunday.tap();
    await expect.poll(() => sunday.locator(".tip").isVisible()).toBe(true);
    expect(await monday.locator(".tip").isVisible()).toBe(false);
    // A tap elsewhere (a card's heading) hides it.
    await card("today").tap();
    await expect.poll(() => sunday.locator(".tip").isVisible()).toBe(false);
    expect(await perDay.locator(".tip").evaluateAll((tips) => tips.filter((t) => (globalThis as unknown as { getComputedStyle(e: unknown): { display: string } }).getComputedStyle(t).display !== "none").length)).toBe(0);
  });

  it("reaches each chart with Tab (one stop per chart), shows the focused bar's value, and moves between bars with the arrow keys", async () => {
    await login();
    const perDay = page.locator('[data-chart="per-day"]');
    await perDay.locator("g.bar").first().waitFor();
    const stops: Array<{ chart: string | null; bar: string | null }> = [];
    for (let i = 0; i < 40 && stops.length < 3; i++) {
      await page.keyboard.press("Tab");
      const f = await focused();
      if (f?.chart) stops.push({ chart: f.chart, bar: f.bar });
    }
    // Tab stops once in each chart, on its first bar: 14 + 24 + 1 bars, 3 stops.
    expect(stops).toEqual([
      { chart: "per-day", bar: "03-17" },
      { chart: "per-hour", bar: "00" },
      { chart: "per-machine", bar: "m-1" },
    ]);
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    expect(await focused()).toMatchObject({ chart: "per-day", bar: "03-17" });
    const first = perDay.locator('g.bar[data-bar="03-17"]');
    expect(await first.locator(".tip").isVisible()).toBe(true);
    await page.keyboard.press("End");
    expect(await focused()).toEqual({ chart: "per-day", bar: "03-30", label: "2026-03-30: 2 sales, 3,500 sat" });
    const monday = perDay.locator('g.bar[data-bar="03-30"]');
    expect(await monday.locator(".tip").isVisible()).toBe(true);
    expect(await first.locator(".tip").isVisible()).toBe(false);
    await page.keyboard.press("ArrowLeft");
    expect(await focused()).toMatchObject({ bar: "03-29" });
    expect(await perDay.locator('g.bar[data-bar="03-29"] .tip text').isVisible()).toBe(true);
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight"); // the last bar stays the last
    expect(await focused()).toMatchObject({ bar: "03-30" });
    // The chart's tab stop moved with the focus: Tab out and back lands on the bar last read.
    await page.keyboard.press("Tab");
    expect(await focused()).toMatchObject({ chart: "per-hour" });
    await page.keyboard.press("Shift+Tab");
    expect(await focused()).toMatchObject({ chart: "per-day", bar: "03-30" });
    await page.keyboard.press("Escape");
    expect(await monday.locator(".tip").isVisible()).toBe(false);
  });

  it("counts a live sale at once without fetching the overview again", async () => {
    await login();
    await card("today").locator("[data-sales-count]").waitFor();
    expect(overviewRequests).toBe(1);
    await service.ingest([sale("m-2", { seq: 3, slot: "A1", settledAt: NOW - 300_000, amountMsat: "1500000", fiat: { currency: "CHF", amountMinor: 180 } })]);
    await expect.poll(() => text('[data-period="today"] [data-sales-count]')).toBe("3 sales");
    expect(await text('[data-period="today"] [data-revenue-sats]')).toBe("5,000 sat");
    expect(await text('[data-period="today"] [data-revenue-fiat]')).toBe("3.50 EUR + 1.80 CHF");
    expect(await text('[data-period="last7Days"] [data-sales-count]')).toBe("7 sales");
    expect(await text('tr[data-machine="m-2"] [data-today-sales]')).toBe("1 · 1,500 sat");
    expect(await text('tr[data-machine="m-2"] [data-last-sale]')).toMatch(/^30 Mar, 09:55/);
    expect(await page.locator('[data-chart="per-hour"] g.bar[data-bar="09"]').getAttribute("data-value")).toBe("3000");
    expect(overviewRequests).toBe(1);
  });

  it("shows a machine's events as readable lines, the raw JSON behind a toggle, and its temperature line", async () => {
    await login("#/machines/m-1");
    const sold = page.locator('tr[data-event-type="sale"][data-event="1"] [data-event-line]');
    await sold.waitFor();
    expect(await sold.textContent()).toBe("A1 Product A1 sold, 1,500 sat (1.50 EUR), drop seen");
    expect(await page.locator('tr[data-event-type="refund"] [data-event-line]').textContent()).toBe("A1 Product A1 refunded 1,500 sat: SPIRAL_JAM (jammed)");
    expect(await page.locator('tr[data-event-type="door"] [data-event-line]').textContent()).toBe("Door opened");
    expect(await text('tr[data-event="1"] td:nth-child(2)')).toBe("30 Mar, 09:15");
    expect(await page.locator("[data-event-raw]").count()).toBe(0);
    await page.locator("[data-raw-toggle]").check();
    await page.locator('tr[data-event="1"] [data-event-raw]').waitFor();
    expect(JSON.parse((await page.locator('tr[data-event="1"] [data-event-raw]').textContent()) ?? "")).toMatchObject({ type: "sale", slot: "A1", amountMsat: "1500000" });

    const temp = page.locator('[data-chart="temperature"]');
    expect((await temp.locator("[data-line]").getAttribute("points"))?.split(" ")).toHaveLength(3);
    expect(await temp.locator("[data-tick]").count()).toBeGreaterThanOrEqual(3);
    expect(await temp.locator("g.point title").allTextContents()).toEqual(["09:57: 5.5°C", "09:58: 6.5°C", "09:59: 7.0°C"]);
    // The newest sample is the chart's tab stop; focused, it shows its value; the arrow keys go back in time.
    expect(await temp.locator("g.point").evaluateAll((ps) => ps.map((p) => [p.getAttribute("tabindex"), p.getAttribute("aria-label")]))).toEqual([
      ["-1", "09:57: 5.5°C"],
      ["-1", "09:58: 6.5°C"],
      ["0", "09:59: 7.0°C"],
    ]);
    await temp.locator("g.point").last().focus();
    expect(await temp.locator("g.point").last().locator(".tip").isVisible()).toBe(true);
    await page.keyboard.press("ArrowLeft");
    expect(await temp.locator("g.point").nth(1).locator(".tip text").isVisible()).toBe(true);
    expect(await temp.locator("g.point").last().locator(".tip").isVisible()).toBe(false);
    await page.keyboard.press("Escape");
    await page.locator("[data-raw-toggle]").uncheck();
    await shots("machine");
  });
});
