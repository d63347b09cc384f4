// The pick list page in a real Chromium against a fleet seeded with known stock, sales and slots
// (__fixtures__/picklist.ts): the exact numbers on the page, an operator's par edit, the print stylesheet (print media
// emulated: no navigation, black on white, a page per machine in the PDF), a technician issuing a list and then
// seeing the shrinkage of the restocks, a viewer's read-only page, and screenshots at 800 and 1280 px for review in
// bench/results/. The server is the real one (HTTP, WebSocket, SQLite); the broker is a recording link.
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chromiumSkip, consoleBrowser, startConsoleFleet, type ConsoleFleet } from "../__fixtures__/console-browser.js";
import { SCREENSHOT_DIR, screenshots } from "../__fixtures__/console-layout.js";
import { event } from "../__fixtures__/messages.js";
import { H, NOW, seedPicklistFleet } from "../__fixtures__/picklist.js";
import type { FleetService } from "../fleet-service.js";
import type { FleetHttpServer } from "../http-server.js";

const SKIP = chromiumSkip("fleet pick list page");

describe.skipIf(SKIP !== null)(`pick list page in Chromium${SKIP ? ` (${SKIP})` : ""}`, () => {
  const chrome = consoleBrowser("console");
  let fleet: ConsoleFleet;
  let service: FleetService;
  let http: FleetHttpServer;
  let page: Page;
  let context: BrowserContext;
  const PASSWORD = "pick list test password";

  const loginAs = (user: string, hash: string) => fleet.loginAs(user, hash);

  /** The texts of a machine's slot row, by data attribute. */
  async function slotRow(machineId: string, slot: string): Promise<Record<string, string>> {
    const row = page.locator(`section[data-machine="${machineId}"] tr[data-slot="${slot}"]`);
    const out: Record<string, string> = {};
    for (const k of ["stock", "par", "to-load", "sold", "slot-days", "previous", "counted", "loaded", "expected", "shrinkage"]) {
      const cell = row.locator(`[data-${k}]`);
      if ((await cell.count()) === 1) out[k] = ((await cell.innerText()) ?? "").trim();
    }
    return out;
  }

  beforeEach(async () => {
    // The pick list's clock is the seed's, so "the last 7 days of sales" are the seeded ones.
    fleet = await startConsoleFleet(chrome, { server: { now: () => NOW }, users: ["viewer", "technician", "operator"], password: PASSWORD });
    ({ service, http, page, context } = fleet);
    await seedPicklistFleet((msgs) => service.ingest(msgs));
    // window.print() would open the print dialog: count the calls instead.
    await context.addInitScript(() => {
      const w = globalThis as unknown as { printed: number; print: () => void };
      w.printed = 0;
      w.print = () => void (w.printed += 1);
    });
  });
  afterEach(async () => {
    await fleet?.stop();
  });

  it("shows the exact numbers by need, lets an operator set a par, prints black on white with a page per machine, and writes screenshots", async () => {
    await loginAs("operator", "#/picklist");
    const total = page.locator('[data-test="picklist-total"]');
    await total.waitFor();
    expect(await total.innerText()).toBe("32");
    expect(await page.locator("section.machine").evaluateAll((els) => els.map((e) => e.getAttribute("data-machine")))).toEqual(["m-1", "m-2", "m-3"]);
    expect(await slotRow("m-1", "A1")).toMatchObject({ stock: "2", "to-load": "8", sold: "7", "slot-days": "2.0 d" });
    expect(await page.getByLabel("par of A1").first().inputValue()).toBe("10");
    expect(await slotRow("m-1", "A2")).toMatchObject({ stock: "0", "to-load": "10", sold: "0", "slot-days": "–" });
    expect(await slotRow("m-1", "A3")).toMatchObject({ stock: "9", "to-load": "3", sold: "3", "slot-days": "21.0 d" });
    expect(await slotRow("m-2", "A1")).toMatchObject({ stock: "4", "to-load": "6", sold: "2", "slot-days": "14.0 d" });
    expect(await slotRow("m-3", "A1")).toMatchObject({ stock: "5", "to-load": "5", sold: "0" });
    expect(await page.locator('section[data-machine="m-1"] [data-empty]').innerText()).toBe("1 empty");
    expect(await page.locator('tr[data-product="Product A1"] [data-total]').innerText()).toBe("19");
    expect(await page.locator('tr[data-product="Product A2"] [data-total]').innerText()).toBe("10");

    // Screenshots for review (screen media), before the par edit.
    // Each with the nav checked to be one row, every link in view.
    await screenshots(page, SCREENSHOT_DIR, "picklist");

    // The operator sets m-1 A1's par to 8: 6 to load there, 30 in the van.
    await page.getByLabel("par of A1").first().fill("8");
    await page.getByLabel("par of A1").first().dispatchEvent("change");
    await page.locator('section[data-machine="m-1"] [data-save-pars]').click();
    await page.locator('section[data-machine="m-1"] [data-machine-load="19"]').waitFor();
    expect(await total.innerText()).toBe("30");
    expect(await slotRow("m-1", "A1")).toMatchObject({ "to-load": "6" });
    expect(await page.getByLabel("par of A1").first().inputValue()).toBe("8");
    const stored = await service.store.db.all("SELECT par, updated_by FROM slot_pars WHERE machine_id = 'm-1' AND slot = 'A1'");
    expect(stored.map((r) => [Number(r.par), r.updated_by])).toEqual([[8, "user:operator"]]);

    // Print media: the app's navigation and the page's controls are gone, black on white, a page break before
    // every machine.
    await page.emulateMedia({ media: "print" });
    const style = (selector: string, prop: string) => page
        .locator(selector)
        .first()
        .evaluate((el, p) => (globalThis as unknown as { getComputedStyle(e: unknown): { getPropertyValue(n: string): string } }).getComputedStyle(el).getPropertyValue(p), prop);
    expect(await style("header", "display")).toBe("none");
    expect(await style(".controls", "display")).toBe("none");
    expect(await style('input[aria-label="par of A1"]', "display")).toBe("none");
    expect(await style("body", "background-color")).toBe("rgb(255, 255, 255)");
    expect(await style('section[data-machine="m-1"] td', "color")).toBe("rgb(0, 0, 0)");
    expect(await style('section[data-machine="m-1"] td', "border-top-color")).toBe("rgb(0, 0, 0)");
    expect(await style('section[data-machine="m-2"]', "break-before")).toBe("page");
    expect(await style('section[data-totals]', "break-before")).not.toBe("page");
    // The PDF Chromium prints: the van's totals on page 1, then one page per machine.
    const printed = await page.pdf({ format: "A4", path: path.join(SCREENSHOT_DIR, "picklist-print.pdf") });
    const pdf = printed.toString("latin1");
    expect(pdf.match(/\/Type\s*\/Page[^s]/g)?.length).toBe(4);
    await page.emulateMedia({ media: "screen" });
    expect(await style("header", "display")).not.toBe("none");
  }, 90_000);

  it("lets a technician issue the pick list of a group and then shows the shrinkage of the restocks per slot", async () => {
    await loginAs("technician", "#/picklist");
    await page.locator('[data-test="picklist-total"]').waitFor();
    // No par inputs below the operator's role.
    expect(await page.getByLabel("par of A1").count()).toBe(0);
    await page.locator("[data-group]").fill("m-1, m-2");
    await page.locator("[data-group]").dispatchEvent("change");
    await page.locator('[data-test="picklist-total"]:text-is("27")').waitFor();
    expect(await page.locator("section.machine").count()).toBe(2);
    await page.locator("[data-issue]").click();
    const issued = page.locator("[data-picklist]");
    await issued.waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { printed: number }).printed)).toBe(1);
    const id = await issued.getAttribute("data-picklist");
    expect(page.url()).toContain(`#/picklist/${id}`);
    expect(await page.locator('[data-test="picklist-total"]').innerText()).toBe("27");
    expect(await page.locator('[data-test="picklist-shrinkage"]').innerText()).toBe("0");

    // The technician restocks on the kiosk's service menu: A1 to 10 (as planned), A2 only to 8 (10 planned).
    await service.ingest([
      event("m-1", "restock", { seq: 900, ts: NOW + 2 * H, body: { slot: "A1", previous: 2, stock: 10 } }),
      event("m-1", "restock", { seq: 901, ts: NOW + 2 * H + 5_000, body: { slot: "A2", previous: 0, stock: 8 } }),
    ]);
    await page.reload();
    await page.locator('[data-test="picklist-shrinkage"]:text-is("2")').waitFor();
    expect(await slotRow("m-1", "A1")).toMatchObject({ "to-load": "8", previous: "2", counted: "10", loaded: "8", expected: "10", shrinkage: "0" });
    expect(await slotRow("m-1", "A2")).toMatchObject({ "to-load": "10", previous: "0", counted: "8", loaded: "8", expected: "10", shrinkage: "+2" });
    expect(await slotRow("m-1", "A3")).toMatchObject({ "to-load": "3", shrinkage: "" });
    expect(await page.locator("[data-restocked]").innerText()).toBe("2");
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "picklist-issued-1280.png"), fullPage: true });

    // The list of issued pick lists on the pick list page.
    await page.goto(`${http.url}/#/picklist`);
    expect(await page.locator(`tr[data-issued="${id}"] [data-shrinkage]`).innerText()).toBe("2");
  }, 90_000);

  it("shows a viewer the pick list read-only", async () => {
    await loginAs("viewer", "#/picklist");
    await page.locator('[data-test="picklist-total"]:text-is("32")').waitFor();
    expect(await page.locator("[data-issue]").count()).toBe(0);
    expect(await page.getByLabel("par of A1").count()).toBe(0);
    expect(await slotRow("m-2", "A1")).toMatchObject({ stock: "4", par: "10 cap", "to-load": "6" });
  }, 60_000);
});
