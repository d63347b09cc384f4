// The technician's service menu behind the PIN, in real Chromium against the fake machine's service API.
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeMachine } from "./__fixtures__/fake-machine.js";
import { KIOSK_DIR, launchChromium, openKiosk, shot } from "./__fixtures__/browser.js";

let browser: Browser;
let machine: FakeMachine;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  machine = new FakeMachine({ kioskDir: KIOSK_DIR, pin: "2468" });
  await machine.start();
  page = await openKiosk(browser, machine.url);
  await page.locator('button[data-slot="A1"]').waitFor();
});
afterEach(async () => {
  await page.context().close();
  await machine.stop();
});

const screen = (name: string) => page.locator(`[data-screen="${name}"]`);

async function typePin(pin: string): Promise<void> {
  for (const d of pin) await page.locator('[data-screen="service-pin"] .pad').getByRole("button", { name: d, exact: true }).click();
  await page.getByRole("button", { name: "Enter" }).click();
}

describe("kiosk: service menu", () => {
  it("asks for the PIN, refuses a wrong one, and shows the machine's status with the right one", async () => {
    await page.getByRole("button", { name: "Service" }).click();
    await screen("service-pin").waitFor();
    await shot(page, "10-service-pin");
    await typePin("1111");
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Wrong PIN");
    expect(await screen("service").count()).toBe(0);
    expect(await page.locator("[data-dots]").textContent()).toBe("");

    machine.setStatus({ door: "open", faults: [{ code: "DOOR_OPEN", message: "the door is open" }] });
    await typePin("2468");
    await screen("service").waitFor();
    const status = page.locator("[data-status]");
    await expect.poll(() => status.textContent()).toContain("DOOR_OPEN");
    expect(await status.textContent()).toContain("boot 1");
    const login = machine.requests.filter((r) => r.path === "/api/service/login").map((r) => r.body);
    expect(login).toEqual([{ pin: "1111" }, { pin: "2468" }]);
    await shot(page, "11-service-status");
  });

  it("restocks a slot and runs a test vend, and the buyer's catalog follows", async () => {
    await page.getByRole("button", { name: "Service" }).click();
    await typePin("2468");
    await page.getByRole("tab", { name: "Stock" }).click();
    const row = page.locator('tr[data-slot="A2"]');
    await row.waitFor();
    expect(await row.locator("[data-stock-value]").textContent()).toBe("0");
    await row.getByRole("button", { name: "Fill" }).click();
    await row.getByRole("button", { name: "−1 A2" }).click();
    expect(await row.locator("[data-stock-value]").textContent()).toBe("19");
    await row.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.locator("[data-note]").textContent()).toBe("A2: Saved");
    expect(machine.products.find((p) => p.slot === "A2")?.stock).toBe(19);
    const restock = machine.requests.filter((r) => r.path === "/api/service/restock").map((r) => r.body);
    expect(restock).toEqual([{ slot: "A2", stock: 19 }]);

    machine.nextVend = { ok: false, code: "SPIRAL_JAM", hold: true };
    await page.locator('tr[data-slot="B1"]').getByRole("button", { name: "Test vend" }).click();
    await expect.poll(() => page.locator("[data-note]").textContent()).toBe("Test vend B1 failed: SPIRAL_JAM");
    await shot(page, "12-service-stock");

    await page.getByRole("button", { name: "Exit" }).click();
    const water = page.locator('button[data-slot="A2"]');
    await water.waitFor();
    expect(await water.isEnabled()).toBe(true);
    expect(machine.requests.some((r) => r.path === "/api/service/logout")).toBe(true);
  });

  it("runs the hardware checks and shows each result with its fault code", async () => {
    await page.getByRole("button", { name: "Service" }).click();
    await typePin("2468");
    await page.getByRole("tab", { name: "Hardware checks" }).click();
    await page.getByRole("button", { name: "Run checks" }).click();
    const table = page.locator("[data-harness]");
    await table.waitFor();
    expect(await table.locator("tr").count()).toBe(3);
    expect(await table.locator("tr").nth(1).textContent()).toContain("FLOW_SENSOR_DEAD");
    expect(await table.locator("tr").nth(1).locator("td.fail").textContent()).toBe("fail");
    await shot(page, "13-service-harness");
  });

  it("an expired session brings the PIN pad back instead of failing silently", async () => {
    await page.getByRole("button", { name: "Service" }).click();
    await typePin("2468");
    await page.locator("[data-status]").waitFor();
    machine.revokeServiceTokens();
    await page.getByRole("tab", { name: "Hardware checks" }).click();
    await page.getByRole("button", { name: "Run checks" }).click();
    await screen("service-pin").waitFor();
    expect(await page.getByRole("alert").textContent()).toBe("The service session ended. Enter the PIN again.");
  });
});
