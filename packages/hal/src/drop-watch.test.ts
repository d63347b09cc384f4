// The idle watch of the drop beam: a beam that reads broken with nothing vending takes the machine out of sale before
// a buyer pays, and gives it back when the beam reads clear again.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openHardware, type Hardware, type HardwareFault } from "./hardware.js";
import { systemClock } from "./clock.js";
import type { VendError } from "./errors.js";
import type { SimMachine } from "./sim/machine.js";
import { simOf } from "./sim/index.js";
import { never, openSim, settle, shippedPinmap } from "./__fixtures__/sim.js";

let hw: Hardware;
let sim: SimMachine;
let raised: HardwareFault[];
let cleared: HardwareFault[];

function listen(): void {
  raised = [];
  cleared = [];
  hw.on("fault", (f) => raised.push(f));
  hw.on("fault-cleared", (f) => cleared.push(f));
}

const stuckFaults = () => hw.status().faults.filter((f) => f.code === "DROP_SENSOR_STUCK");

beforeEach(async () => {
  vi.useFakeTimers();
  ({ hw, sim } = await openSim("snacks", { stock: { A1: 3 } }));
  listen();
});
afterEach(async () => {
  await hw.close();
  vi.useRealTimers();
});

describe("the drop beam while idle", () => {
  it("the sim fault drop-sensor-stuck switched on while idle raises DROP_SENSOR_STUCK after 3 s, once, as a machine fault; off for 1 s clears it", async () => {
    sim.inject("drop-sensor-stuck"); // what POST /api/demo/sim {faults:["drop-sensor-stuck"]} does
    await vi.advanceTimersByTimeAsync(2_999);
    expect(hw.status().faults).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    // No slot: the beam is under every spiral, so the controller's sellBlocker stops all selling (503).
    expect(hw.status().faults).toEqual([{ code: "DROP_SENSOR_STUCK", message: expect.stringContaining("nothing vending") }]);
    expect(raised).toEqual([{ code: "DROP_SENSOR_STUCK", message: expect.any(String) }]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(raised).toHaveLength(1); // raised once, not once per debounce

    sim.clear("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(999);
    expect(stuckFaults()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(hw.status().faults).toEqual([]);
    expect(cleared).toEqual([{ code: "DROP_SENSOR_STUCK", message: expect.stringContaining("nothing vending") }]);
  });

  it("a beam broken shorter than the debounce (a product falling) raises nothing, and each break starts the debounce over", async () => {
    for (let i = 0; i < 3; i++) {
      sim.inject("drop-sensor-stuck");
      await vi.advanceTimersByTimeAsync(2_500);
      sim.clear("drop-sensor-stuck");
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.advanceTimersByTimeAsync(10_000);
    expect(hw.status().faults).toEqual([]);
    expect(raised).toEqual([]);
  });

  it("a clear beam that flickers back to broken before 1 s keeps the fault", async () => {
    sim.inject("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(3_000);
    sim.clear("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(900);
    sim.inject("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(900);
    sim.clear("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(900);
    expect(stuckFaults()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(stuckFaults()).toEqual([]);
    expect(raised).toHaveLength(1);
  });

  it("a vend's own drop raises nothing after the vend", async () => {
    const r = await settle(hw.vendSpiral("A1", { signal: never() }), 10_000);
    expect(r.ok && r.value).toMatchObject({ dropSeen: true });
    expect(sim.drops).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(hw.status().faults).toEqual([]);
    expect(raised).toEqual([]);
  });

  it("finds a product stuck in the chute after a vend that saw it fall", async () => {
    const op = settle(hw.vendSpiral("A1", { signal: never() }), 0); // time advanced below
    // Half a turn in, the product stays in the beam: the vend sees its drop and succeeds when the spiral is home.
    await vi.advanceTimersByTimeAsync(1_500);
    sim.inject("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(8_500);
    const r = await op;
    expect(r.ok && r.value).toMatchObject({ dropSeen: true, homed: true });
    const runMs = r.ok && r.value.kind === "spiral" ? r.value.runMs : NaN;
    expect(runMs).toBeGreaterThanOrEqual(3_000);
    // 10 s in: the vend ended at ~3 s, the beam has read broken with nothing vending for ~7 s.
    expect(raised).toEqual([expect.objectContaining({ code: "DROP_SENSOR_STUCK" })]);
    expect(raised[0]).not.toHaveProperty("slot");
  });

  it("does not count the beam broken before a vend ended", async () => {
    const op = settle(hw.vendSpiral("A1", { signal: never() }), 0); // time advanced below
    await vi.advanceTimersByTimeAsync(1_500);
    sim.inject("drop-sensor-stuck"); // beam broken from 1.5 s on; the vend ends when the spiral is home (~3 s)
    await vi.advanceTimersByTimeAsync(1_700);
    const r = await op; // now at 3.2 s; the vend ended at ~3.0 s
    expect(r.ok).toBe(true);
    const endMs = r.ok ? r.value.runMs : NaN;
    // 3 s from 1.5 s (4.5 s) has passed by 5.9 s; 3 s from the vend's end (~6.0 s) has not.
    await vi.advanceTimersByTimeAsync(endMs + 3_000 - 3_200 - 1);
    expect(raised).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(raised).toEqual([expect.objectContaining({ code: "DROP_SENSOR_STUCK" })]);
  });

  it("raises nothing while a vend runs, however long the beam reads broken in it", async () => {
    await hw.close();
    hw = await openHardware({ board: { kind: "sim", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("snacks"), clock: systemClock, dropIdleStuckMs: 500 });
    sim = simOf(hw)!;
    listen();
    const op = settle(hw.vendSpiral("A1", { signal: never() }), 0); // time advanced below
    await vi.advanceTimersByTimeAsync(1_000);
    sim.inject("drop-sensor-stuck"); // from 1 s on; the spiral is home at ~3 s
    await vi.advanceTimersByTimeAsync(1_900);
    expect(raised).toEqual([]); // 1.9 s broken, the debounce 0.5 s: but the beam is the vend's
    const r = await settle(op, 600);
    expect(r.ok).toBe(true);
    expect(raised).toEqual([expect.objectContaining({ code: "DROP_SENSOR_STUCK" })]);
  });

  it("finds a beam broken at start-up within the debounce", async () => {
    await hw.close();
    hw = await openHardware({ board: { kind: "sim", pinmap: "x", simFaults: ["drop-sensor-stuck"] }, pinmap: shippedPinmap("snacks"), clock: systemClock });
    listen();
    expect(hw.sensors().drop).toBe(true);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(stuckFaults()).toHaveLength(1);
    expect(raised).toHaveLength(1);
  });

  it("uses the debounce times it is given", async () => {
    await hw.close();
    hw = await openHardware({ board: { kind: "sim", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("snacks"), clock: systemClock, dropIdleStuckMs: 500, dropIdleClearMs: 200 });
    sim = simOf(hw)!;
    listen();
    sim.inject("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(500);
    expect(stuckFaults()).toHaveLength(1);
    sim.clear("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(200);
    expect(stuckFaults()).toEqual([]);
  });

  it("refuses a negative debounce before the board opens", async () => {
    await expect(openHardware({ board: { kind: "sim", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("snacks"), dropIdleStuckMs: -1 })).rejects.toMatchObject({
      name: "HalInputError",
      path: "dropIdleStuckMs",
    });
  });

  it("close() leaves no timer running, with the debounce half way", async () => {
    sim.inject("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(1_500);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await hw.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(raised).toEqual([]);
  });

  it("close() leaves no timer running, with the clear debounce half way", async () => {
    sim.inject("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(3_000);
    sim.clear("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(500);
    await hw.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("clearFaults() keeps the idle fault while the beam reads broken and does not restart a running debounce", async () => {
    sim.inject("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(2_000);
    hw.clearFaults();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(stuckFaults()).toHaveLength(1);
    hw.clearFaults();
    expect(stuckFaults()).toHaveLength(1);
    expect(cleared).toEqual([]);
  });
});

describe("a DROP_SENSOR_STUCK latched by a failed vend", () => {
  it("keeps the old rules: stays while the beam reads broken (no second fault from the idle watch), clearFaults keeps it", async () => {
    sim.inject("drop-sensor-stuck");
    const r = await settle(hw.vendSpiral("A1", { signal: never() }), 0);
    expect((r as { error: VendError }).error.code).toBe("DROP_SENSOR_STUCK");
    expect(raised).toEqual([{ code: "DROP_SENSOR_STUCK", message: expect.stringContaining("before the spiral turned") }]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(raised).toHaveLength(1);
    hw.clearFaults();
    expect(hw.status().faults).toEqual([{ code: "DROP_SENSOR_STUCK", message: expect.stringContaining("before the spiral turned") }]);
  });

  it("is cleared by the idle watch only after the beam read clear for the full debounce (3 s), not the 1 s of an idle fault", async () => {
    sim.inject("drop-sensor-stuck");
    await settle(hw.vendSpiral("A1", { signal: never() }), 0);
    sim.clear("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(2_999);
    expect(stuckFaults()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(stuckFaults()).toEqual([]);
    expect(cleared).toEqual([expect.objectContaining({ code: "DROP_SENSOR_STUCK" })]);
  });

  it("is still cleared at once by a good spiral vend, or by clearFaults with the beam clear", async () => {
    sim.inject("drop-sensor-stuck");
    await settle(hw.vendSpiral("A1", { signal: never() }), 0);
    sim.clear("drop-sensor-stuck");
    expect((await settle(hw.vendSpiral("A1", { signal: never() }), 3_500)).ok).toBe(true);
    expect(hw.status().faults).toEqual([]);

    sim.inject("drop-sensor-stuck");
    await settle(hw.vendSpiral("A2", { signal: never() }), 0);
    sim.clear("drop-sensor-stuck");
    hw.clearFaults();
    expect(hw.status().faults).toEqual([]);
    expect(cleared).toHaveLength(2);
  });

  it("an idle fault that a vend then runs into becomes vend-latched (3 s of clear beam to end)", async () => {
    sim.inject("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(3_000);
    expect(raised).toHaveLength(1);
    // The harness (or an order already paid) tries a spiral anyway.
    expect(((await settle(hw.cycleSpiral("A1", { signal: never() }), 0)) as { error: VendError }).error.code).toBe("DROP_SENSOR_STUCK");
    sim.clear("drop-sensor-stuck");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(stuckFaults()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(stuckFaults()).toEqual([]);
  });
});
