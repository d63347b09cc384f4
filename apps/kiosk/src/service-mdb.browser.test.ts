// The technician's service menu on an MDB machine (zapvend is the card reader of a vending machine with its own
// controller, the VMC), in real Chromium against the fake machine: no door sensor, so the menu opens while the VMC
// keeps the reader disabled (its service mode) or, by config, with the PIN alone. It shows the reader's MDB state
// and counters and the selection map with a test vend through the VMC; no stock and no hardware checks.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { FakeMachine } from "./__fixtures__/fake-machine.js";
import { kioskSuite, shot } from "./__fixtures__/browser.js";

const suite = kioskSuite();

async function start(serviceAccess: "vmc-service" | "pin", demoVmc = false): Promise<{ machine: FakeMachine; page: Page }> {
  const machine = await suite.startMachine({ pin: "2468", demoBoard: false, mdb: { serviceAccess, demoVmc } });
  const page = await suite.open(machine.url);
  await page.locator('[data-screen="keypad"]').waitFor();
  return { machine, page };
}

async function typePin(p: Page, pin: string): Promise<void> {
  for (const d of pin) await p.locator('[data-screen="service-pin"] .pad').getByRole("button", { name: d, exact: true }).click();
  await p.getByRole("button", { name: "Enter" }).click();
}

describe("kiosk: service menu of an MDB machine", () => {
  it("opens only in the VMC's service mode, shows the reader and the selection map, test-vends through the VMC", async () => {
    const { machine, page } = await start("vmc-service");
    await page.getByRole("button", { name: "Service" }).click();
    await typePin(page, "2468");
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Put the machine in its own service mode first");
    // Refused before the PIN is checked: the typed digits wait for the service mode.
    expect(await page.locator("[data-dots]").textContent()).toBe("●●●●");
    expect(await page.locator("[data-open-door]").count()).toBe(0);
    // Not the sim VMC: no demo button, only the instruction.
    expect(await page.locator("[data-open-vmc]").count()).toBe(0);

    // The technician opens the machine: the VMC disables the reader.
    machine.setMdb({ state: "disabled", badLines: 2 });
    await page.getByRole("button", { name: "Enter" }).click();
    await page.locator('[data-screen="service"]').waitFor();
    expect(machine.requests.filter((r) => r.path === "/api/service/login").map((r) => r.body)).toEqual([{ pin: "2468" }, { pin: "2468" }]);
    // What applies on an MDB machine: no stock, no hardware checks, no door.
    expect(await page.getByRole("tab").allTextContents()).toEqual(["Status", "Selections"]);
    const status = page.locator("[data-status]");
    await expect.poll(() => status.locator("[data-mdb-state]").getAttribute("data-mdb-state")).toBe("disabled");
    expect(await status.locator("[data-bad-lines]").textContent()).toBe("2");
    expect(await status.locator("[data-unconfirmed]").textContent()).toBe("0");
    expect(await status.textContent()).not.toContain("Door");
    // The counters follow the machine's pushes.
    machine.setMdb({ unconfirmedVends: 1 });
    await expect.poll(() => status.locator("[data-unconfirmed]").textContent()).toBe("1");
    await shot(page, "30-service-mdb-status");

    await page.getByRole("tab", { name: "Selections" }).click();
    const rows = page.locator("[data-selections] tr[data-slot]");
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).locator("th").textContent()).toBe("11");
    expect(await rows.nth(0).textContent()).toContain("Cola");
    expect(await rows.nth(0).locator("[data-enabled]").textContent()).toBe("yes");
    expect(await rows.nth(1).locator("[data-enabled]").textContent()).toBe("no");

    // A test vend: the machine waits for the keypad press; the technician leaves the VMC's service mode for it, which
    // ends the session, but the result still shows.
    let pressed!: () => void;
    machine.testVendGate = new Promise((resolve) => (pressed = resolve));
    await rows.nth(0).getByRole("button", { name: "Test vend" }).click();
    await expect.poll(() => page.locator("[data-note]").textContent()).toBe("Test vend 11: leave the machine's service mode and press 11 on its keypad…");
    await shot(page, "31-service-mdb-test-vend");
    machine.setMdb({ state: "enabled" });
    // The push of the reader's new state reaches the menu, which stays for the result.
    await page.getByRole("tab", { name: "Status" }).click();
    await expect.poll(() => page.locator("[data-mdb-state]").getAttribute("data-mdb-state")).toBe("enabled");
    expect(await page.locator('[data-screen="service"]').count()).toBe(1);
    pressed();
    await expect.poll(() => page.locator("[data-note]").textContent()).toBe("Test vend S11: OK");
    expect(machine.requests.filter((r) => r.path === "/api/service/test-vend").map((r) => r.body)).toEqual([{ slot: "S11" }]);
    await page.getByRole("button", { name: "Exit" }).click();
    await page.locator('[data-screen="keypad"]').waitFor();
  });

  it("the VMC leaving its service mode ends the session and brings the buyer's screen back", async () => {
    const { machine, page } = await start("vmc-service");
    machine.setMdb({ state: "disabled" });
    await page.locator('[data-screen="out-of-service"]').waitFor();
    await page.getByRole("button", { name: "Service" }).click();
    await typePin(page, "2468");
    await page.locator("[data-status]").waitFor();
    machine.setMdb({ state: "enabled" });
    await page.locator('[data-screen="keypad"]').waitFor();
    expect(await page.locator('[data-screen="service"]').count()).toBe(0);
  });

  it("the demo (sim VMC): a button puts the VMC in its service mode and signs in; another ends it on leaving", async () => {
    const { machine, page } = await start("vmc-service", true);
    await page.getByRole("button", { name: "Service" }).click();
    await typePin(page, "2468");
    await page.getByRole("button", { name: "Put the machine in service mode (demo)" }).click();
    await page.locator("[data-status]").waitFor();
    expect(machine.status.mdb?.state).toBe("disabled");
    expect(machine.requests.filter((r) => r.path === "/api/demo/vmc").map((r) => r.body)).toEqual([{ inService: false }]);
    await page.getByRole("button", { name: "End the machine's service mode (demo)" }).click();
    await page.locator('[data-screen="keypad"]').waitFor();
    expect(machine.status.mdb?.state).toBe("enabled");
    expect(machine.requests.filter((r) => r.path === "/api/demo/vmc").map((r) => r.body)).toEqual([{ inService: false }, { inService: true }]);
  });

  it('serviceAccess "pin": the PIN alone opens it while the machine sells; a failed test vend shows its code', async () => {
    const { machine, page } = await start("pin");
    await page.getByRole("button", { name: "Service" }).click();
    await typePin(page, "2468");
    await page.locator("[data-status]").waitFor();
    expect(await page.locator("[data-mdb-state]").getAttribute("data-mdb-state")).toBe("enabled");
    // The VMC's state changes do not end a PIN-only session.
    machine.setMdb({ state: "disabled" });
    machine.setMdb({ state: "enabled" });
    await page.getByRole("tab", { name: "Selections" }).click();
    machine.nextVend = { ok: false, code: "VMC_VEND_FAILURE", hold: true };
    await page.locator('tr[data-slot="S12"]').getByRole("button", { name: "Test vend" }).click();
    await expect.poll(() => page.locator("[data-note]").textContent()).toBe("Test vend S12 failed: VMC_VEND_FAILURE");
    expect(await page.locator('[data-screen="service"]').count()).toBe(1);
  });
});
