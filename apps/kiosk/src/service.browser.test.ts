// The technician's service menu behind the PIN, in real Chromium against the fake machine's service API.
import type { Page } from "playwright-core";
import { beforeEach, describe, expect, it } from "vitest";
import type { FakeMachine, FakeMachineOptions } from "./__fixtures__/fake-machine.js";
import { kioskSuite, shot } from "./__fixtures__/browser.js";

const suite = kioskSuite();
let machine: FakeMachine;
let page: Page;

async function startMachine(opts: Partial<FakeMachineOptions> = {}): Promise<void> {
  machine = await suite.startMachine({ pin: "2468", ...opts });
  page = await suite.open(machine.url);
  await page.locator('button[data-slot="A1"]').waitFor();
}

beforeEach(async () => {
  await startMachine();
});

const screen = (name: string) => page.locator(`[data-screen="${name}"]`);

/** The technician opens the machine's door (the menu needs it) and taps Service on the out-of-service screen. */
async function openService(): Promise<void> {
  machine.setStatus({ door: "open" });
  await screen("out-of-service").waitFor();
  await page.getByRole("button", { name: "Service" }).click();
  await screen("service-pin").waitFor();
}

async function typePin(pin: string): Promise<void> {
  for (const d of pin) await page.locator('[data-screen="service-pin"] .pad').getByRole("button", { name: d, exact: true }).click();
  await page.getByRole("button", { name: "Enter" }).click();
}

describe("kiosk: service menu", () => {
  it("asks for the PIN, refuses a wrong one, and shows the machine's status with the right one", async () => {
    await openService();
    await shot(page, "10-service-pin");
    await typePin("1111");
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Wrong PIN");
    expect(await screen("service").count()).toBe(0);
    expect(await page.locator("[data-dots]").textContent()).toBe("");

    machine.setStatus({ faults: [{ code: "DOOR_OPEN", message: "the door is open" }] });
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
    await openService();
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

    // Leaving through the demo's "close the door" brings the machine back to selling.
    await page.getByRole("button", { name: "Close the door (demo)" }).click();
    const water = page.locator('button[data-slot="A2"]');
    await water.waitFor();
    expect(await water.isEnabled()).toBe(true);
    expect(machine.requests.some((r) => r.path === "/api/service/logout")).toBe(true);
    expect(machine.requests.filter((r) => r.path === "/api/demo/sim").map((r) => r.body)).toEqual([{ door: "closed" }]);
    expect(machine.status.door).toBe("closed");
  });

  it("runs the hardware checks and shows each result with its fault code", async () => {
    await openService();
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
    await openService();
    await typePin("2468");
    await page.locator("[data-status]").waitFor();
    machine.revokeServiceTokens();
    await page.getByRole("tab", { name: "Hardware checks" }).click();
    await page.getByRole("button", { name: "Run checks" }).click();
    await screen("service-pin").waitFor();
    expect(await page.getByRole("alert").textContent()).toBe("The service session ended. Enter the PIN again.");
  });

  it("door closed: tells the technician to open it; the demo opens it, signs in with the PIN typed, and closes it on leaving", async () => {
    await page.getByRole("button", { name: "Service" }).click();
    await typePin("2468");
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Open the machine's door first: the service menu works only with the door open.");
    expect(await screen("service").count()).toBe(0);
    await shot(page, "18-service-door-closed");
    // The PIN was not checked (door first), and the typed digits wait for the door.
    expect(await page.locator("[data-dots]").textContent()).toBe("●●●●");
    await page.getByRole("button", { name: "Open the door (demo)" }).click();
    await screen("service").waitFor();
    expect(machine.status.door).toBe("open");
    expect(machine.requests.filter((r) => r.path === "/api/demo/sim").map((r) => r.body)).toEqual([{ door: "open" }]);
    expect(machine.requests.filter((r) => r.path === "/api/service/login").map((r) => r.body)).toEqual([{ pin: "2468" }, { pin: "2468" }]);
    await page.getByRole("button", { name: "Close the door (demo)" }).click();
    await page.locator('button[data-slot="A1"]').waitFor();
    expect(machine.status.door).toBe("closed");
  });

  it("without the sim board: no demo door button, only the instruction", async () => {
    await page.context().close();
    await machine.stop();
    machine = await suite.startMachine({ pin: "2468", demoBoard: false });
    page = await suite.open(machine.url);
    await page.getByRole("button", { name: "Service" }).click();
    await typePin("2468");
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Open the machine's door first");
    expect(await page.locator("[data-open-door]").count()).toBe(0);
    expect(await page.locator("[data-close-door]").count()).toBe(0);
  });

  it("closing the door ends the session: the PIN pad comes back and says why", async () => {
    await openService();
    await typePin("2468");
    await page.locator("[data-status]").waitFor();
    machine.setStatus({ door: "closed" });
    await screen("service-pin").waitFor();
    expect(await page.getByRole("alert").textContent()).toBe("The door was closed: the service session ended.");
  });

  it("takes the machine out of service and back in, showing the current mode", async () => {
    await openService();
    await typePin("2468");
    const mode = page.locator("[data-mode]");
    await expect.poll(() => mode.textContent()).toBe("service (door open)");
    await page.getByRole("button", { name: "Take out of service" }).click();
    await expect.poll(() => page.locator("[data-note]").textContent()).toBe("Mode saved: out of service (maintenance)");
    expect(machine.requests.filter((r) => r.path === "/api/service/mode").map((r) => r.body)).toEqual([{ mode: "maintenance" }]);
    await shot(page, "19-service-mode");
    // With the door closed the machine stays out of service: maintenance, not the door.
    await page.getByRole("button", { name: "Close the door (demo)" }).click();
    await screen("out-of-service").waitFor();
    expect(await screen("out-of-service").textContent()).toContain("A technician is servicing the machine.");

    await openService();
    await typePin("2468");
    await page.getByRole("button", { name: "Put in service" }).click();
    await expect.poll(() => page.locator("[data-note]").textContent()).toBe("Mode saved: in service");
    await page.getByRole("button", { name: "Close the door (demo)" }).click();
    await page.locator('button[data-slot="A1"]').waitFor();
    expect(machine.status).toMatchObject({ mode: "normal", selling: true });
  });

  it("the mode buttons show the stored mode (operatingMode) while the door is open, also when the fleet changes it", async () => {
    machine.setStatus({ mode: "maintenance" }); // out of service before the technician came
    await screen("out-of-service").waitFor();
    await openService();
    await typePin("2468");
    const inService = page.locator('[data-set-mode="normal"]');
    const outOfService = page.locator('[data-set-mode="maintenance"]');
    await expect.poll(() => page.locator("[data-mode]").textContent()).toBe("service (door open)");
    expect(machine.status).toMatchObject({ mode: "service", operatingMode: "maintenance" });
    expect([await inService.getAttribute("aria-pressed"), await outOfService.getAttribute("aria-pressed")]).toEqual(["false", "true"]);
    // The fleet puts it back in service while the menu is open: the status push moves the pressed button.
    machine.setStatus({ mode: "normal" });
    await expect.poll(() => inService.getAttribute("aria-pressed")).toBe("true");
    expect(await outOfService.getAttribute("aria-pressed")).toBe("false");
    // Set here: the service API answers the stored mode, and the pressed button follows it.
    await page.getByRole("button", { name: "Take out of service" }).click();
    await expect.poll(() => outOfService.getAttribute("aria-pressed")).toBe("true");
    expect(machine.status).toMatchObject({ mode: "service", operatingMode: "maintenance" });
  });

  it("mode buttons are real buttons, reachable by keyboard in order, with aria-pressed on the current mode", async () => {
    // An older daemon without operatingMode: with the door open it says only "service".
    await page.context().close();
    await machine.stop();
    await startMachine({ operatingMode: false });
    await openService();
    await typePin("2468");
    const inService = page.locator('[data-set-mode="normal"]');
    const outOfService = page.locator('[data-set-mode="maintenance"]');
    await inService.waitFor();
    expect(await inService.evaluate((el) => el.tagName)).toBe("BUTTON");
    // The door is open: the machine says "service", neither button is the current mode.
    expect([await inService.getAttribute("aria-pressed"), await outOfService.getAttribute("aria-pressed")]).toEqual(["false", "false"]);
    await inService.focus();
    await page.keyboard.press("Tab");
    expect(await outOfService.evaluate((el) => el === (el.getRootNode() as ShadowRoot).activeElement)).toBe(true);
    await page.keyboard.press("Enter");
    await expect.poll(() => machine.requests.filter((r) => r.path === "/api/service/mode").map((r) => r.body)).toEqual([{ mode: "maintenance" }]);
    await expect.poll(() => outOfService.getAttribute("aria-pressed")).toBe("true");
    expect(await inService.getAttribute("aria-pressed")).toBe("false");
  });
});
