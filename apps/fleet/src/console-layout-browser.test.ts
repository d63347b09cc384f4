// The console's header on small screens (issue #18) in a real Chromium: an admin (every link of the nav, and the
// "Set up 2FA" button, the widest header there is) with open alerts. At 1280 and 800 px the header is one row and
// every link of the nav is in view; at 360 px (a phone) the nav is one row of its own that scrolls sideways, the
// current page's link scrolled into view, and the header never gets wider than the page. The header keeps its box
// from page to page (no layout jump). The audit page at 360 px stacks each entry's fields so that nothing on it is
// wider than the phone's screen.
import type { Page } from "playwright-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chromiumSkip, consoleBrowser, startConsoleFleet, type ConsoleFleet } from "./__fixtures__/console-browser.js";
import { expectOneRow, navLayout, overflowingElements } from "./__fixtures__/console-layout.js";
import { birth, event, status } from "./__fixtures__/messages.js";
import type { FleetService } from "./fleet-service.js";
import type { FleetHttpServer } from "./http-server.js";

const SKIP = chromiumSkip("fleet console layout");
const PASSWORD = "layout test password";

describe.skipIf(SKIP !== null)(`fleet console header on small screens in Chromium${SKIP ? ` (${SKIP})` : ""}`, () => {
  const chrome = consoleBrowser("layout");
  let fleet: ConsoleFleet;
  let service: FleetService;
  let http: FleetHttpServer;
  let page: Page;

  beforeEach(async () => {
    fleet = await startConsoleFleet(chrome, { users: ["admin"], password: PASSWORD });
    ({ service, http, page } = fleet);
    const now = Date.now();
    await service.ingest([
      birth("snacks-01", { ts: now, slots: [{ slot: "A1", stock: 0 }, { slot: "A2" }] }),
      status("snacks-01", "online", { boot: 1, seq: 1, ts: now }),
      event("snacks-01", "door", { seq: 2, ts: now }),
    ]);
    await service.tick(true);
    await fleet.loginAs("admin");
    await page.locator("[data-live=on]").waitFor();
  });
  afterEach(async () => {
    await fleet?.stop();
  });

  const links = () => page.locator("nav a").allTextContents();

  it("fits the header on one row at 1280 and 800 px with every link in view, the same box on every page", async () => {
    expect(await links()).toEqual(["Overview", "Sales", "Pick list", expect.stringMatching(/^Alerts \([1-9][0-9]*\)$/), "Catalog", "Notifications", "Users", "Audit"]);
    expect(await page.getByRole("button", { name: "Set up 2FA" }).count()).toBe(1);
    for (const width of [1280, 800]) {
      await page.setViewportSize({ width, height: 900 });
      const first = await navLayout(page);
      expectOneRow(first, `${width} px`);
      expect(first.allVisible, `${width} px: every link in view`).toBe(true);
      // One row: the header is as high as its tallest item plus its padding, not two rows of links.
      expect(first.header.height, `${width} px: header height`).toBeLessThan(first.linkHeight * 2);
      for (const hash of ["#/machines/snacks-01", "#/audit", "#/catalog", "#/"]) {
        await page.goto(`${http.url}/${hash}`);
        await page.locator(`nav a.active`).waitFor();
        const l = await navLayout(page);
        expect({ nav: l.nav, header: l.header }, `${width} px on ${hash}`).toEqual({ nav: first.nav, header: first.header });
      }
    }
  }, 60_000);

  it("at 360 px puts the nav on a row of its own that scrolls sideways, the current page's link in view", async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    const l = await navLayout(page);
    expectOneRow(l, "360 px");
    expect(l.nav.width).toBeGreaterThan(320); // the whole width, less the header's padding
    const nav = page.locator("nav");
    expect(await nav.evaluate((n) => n.scrollWidth > n.clientWidth)).toBe(true);
    // The user menu is still reachable.
    expect(await page.locator("[data-logout]").isVisible()).toBe(true);
    const inView = (sel: string) =>
      page.locator(sel).evaluate((a) => {
        const n = a.closest("nav")!.getBoundingClientRect();
        const r = a.getBoundingClientRect();
        return r.left >= n.left - 0.5 && r.right <= n.right + 0.5;
      });
    expect(await inView('nav a[href="#/audit"]')).toBe(false);
    // Going to the last page scrolls its link into the nav's view; the nav's box stays where it was.
    await page.evaluate(() => ((globalThis as unknown as { location: { hash: string } }).location.hash = "#/audit"));
    await expect.poll(() => inView('nav a[href="#/audit"]')).toBe(true);
    const after = await navLayout(page);
    expect(after.nav).toEqual(l.nav);
    expect(after.header).toEqual(l.header);
    expect(after.headerOverflows).toBe(false);
    // A swipe on the nav scrolls it back.
    await nav.evaluate((n) => n.scrollTo({ left: 0 }));
    expect(await inView('nav a[href="#/"]')).toBe(true);
  }, 60_000);

  it("at 360 px shows the audit trail without anything wider than the screen: each entry's fields stacked, long details wrapped", async () => {
    // An entry with the widest fields the audit has: a long target, an IPv6 address, a detail of 240 characters.
    await http.auth.audit({ actor: "user:admin", address: "2001:db8:85a3::8a2e:370:7334", action: "desired.edit", target: "snacks-01-with-a-long-machine-name", detail: { edit: { slots: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`A${i + 1}`, { priceMsat: "123456789" }])) } } });
    await page.setViewportSize({ width: 360, height: 800 });
    await page.goto(`${http.url}/#/audit`);
    await page.locator('tr[data-audit="desired.edit"]').waitFor();
    expect(await page.locator("tr[data-audit]").count()).toBeGreaterThanOrEqual(3); // the user's creation, the login, the edit
    const over = await overflowingElements(page);
    expect(over.elements, "elements wider than the 360 px viewport on the audit page").toEqual([]);
    expect(over.pageScrolls, "the audit page scrolls sideways at 360 px").toBe(false);
    // Every field still says what it is, and the entry is readable top to bottom.
    const entry = page.locator('tr[data-audit="desired.edit"]');
    expect(await entry.locator("td").first().getAttribute("data-label")).toBe("when");
    const tops = await entry.locator("td").evaluateAll((tds) => tds.filter((td) => td.getBoundingClientRect().height > 0).map((td) => Math.round(td.getBoundingClientRect().top)));
    expect(tops.length).toBeGreaterThan(3);
    expect([...tops].sort((a, b) => a - b)).toEqual(tops);
    expect(new Set(tops).size).toBe(tops.length);
    // At 1280 px it is a table again, one line of cells per entry.
    await page.setViewportSize({ width: 1280, height: 900 });
    const wide = await entry.locator("td").evaluateAll((tds) => new Set(tds.map((td) => Math.round(td.getBoundingClientRect().top))).size);
    expect(wide).toBe(1);
    expect((await overflowingElements(page)).elements).toEqual([]);
  }, 60_000);
});
