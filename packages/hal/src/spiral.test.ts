import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VendEvidence, type VendProgress } from "@zapvend/protocol";
import { HalInputError, VendError } from "./errors.js";
import type { Hardware } from "./hardware.js";
import type { SimMachine } from "./sim/machine.js";
import { never, openSim, settle } from "./__fixtures__/sim.js";

// snacks.json: A1's motor is GPIO23, A2's GPIO24; one revolution takes 3000 ms.
const A1 = "GPIO23";

let hw: Hardware;
let sim: SimMachine;

beforeEach(async () => {
  vi.useFakeTimers();
  ({ hw, sim } = await openSim("snacks", { stock: { A1: 3, A2: 0 } }));
  sim.clearPinWrites();
});
afterEach(async () => {
  await hw.close();
  vi.useRealTimers();
});

const motorWrites = (pin: string) => sim.pinWrites.filter((w) => w.pin === pin).map((w) => w.value);

describe("vendSpiral", () => {
  it("turns one revolution home -> home, sees the drop and stops on the home switch", async () => {
    const phases: string[] = [];
    const r = await settle(hw.vendSpiral("A1", { signal: never(), onProgress: (p: VendProgress) => p.kind === "spiral" && phases.push(p.phase) }), 10_000);
    expect(r.ok).toBe(true);
    const ev = VendEvidence.parse(r.ok ? r.value : null);
    expect(ev).toMatchObject({ kind: "spiral", dropSeen: true, homed: true });
    // Back home after one revolution, not after the drop wait.
    expect(ev.runMs).toBeGreaterThanOrEqual(3_000);
    expect(ev.runMs).toBeLessThan(3_100);
    expect(motorWrites(A1)).toEqual([1, 0]);
    expect(sim.stock("A1")).toBe(2);
    expect(sim.drops).toBe(1);
    expect(phases).toEqual(["turning", "waiting-drop", "done"]);
    expect(hw.sensors().homes.A1).toBe(true);
  });

  it("reports DROP_NOT_SEEN on an empty slot after homing", async () => {
    const r = await settle(hw.vendSpiral("A2", { signal: never(), dropWaitMs: 1_000 }), 10_000);
    const err = (r as { error: VendError }).error;
    expect(err).toBeInstanceOf(VendError);
    expect(err.code).toBe("DROP_NOT_SEEN");
    expect(err.evidence).toMatchObject({ kind: "spiral", dropSeen: false, homed: true });
    expect(motorWrites("GPIO24")).toEqual([1, 0]);
  });

  it("reports SPIRAL_JAM when the spiral never leaves home, and stops the motor", async () => {
    sim.inject("spiral-jam");
    const r = await settle(hw.vendSpiral("A1", { signal: never() }), 10_000);
    const err = (r as { error: VendError }).error;
    expect(err.code).toBe("SPIRAL_JAM");
    expect(err.evidence).toMatchObject({ homed: false, dropSeen: false, runMs: 1_500 });
    expect(motorWrites(A1)).toEqual([1, 0]);
    expect(sim.stock("A1")).toBe(3);
    expect(hw.status().faults).toEqual([expect.objectContaining({ code: "SPIRAL_JAM", slot: "A1" })]);
  });

  it("reports SPIRAL_HOME_TIMEOUT when it jams mid-turn", async () => {
    const op = settle(hw.vendSpiral("A1", { signal: never(), homeTimeoutMs: 4_000 }), 10_000);
    await vi.advanceTimersByTimeAsync(1_000);
    sim.inject("spiral-jam");
    const err = ((await op) as { error: VendError }).error;
    expect(err.code).toBe("SPIRAL_HOME_TIMEOUT");
    expect(err.evidence).toMatchObject({ homed: false });
    expect(sim.output(A1)).toBe(0);
  });

  it("refuses with DROP_SENSOR_STUCK before the motor turns", async () => {
    sim.inject("drop-sensor-stuck");
    const r = await settle(hw.vendSpiral("A1", { signal: never() }), 10_000);
    expect((r as { error: VendError }).error.code).toBe("DROP_SENSOR_STUCK");
    expect(motorWrites(A1)).toEqual([]);
  });

  it("latches DROP_SENSOR_STUCK as a machine fault (the beam is shared by every spiral), kept while the beam reads broken", async () => {
    sim.inject("drop-sensor-stuck");
    await settle(hw.vendSpiral("A1", { signal: never() }), 10_000);
    // No slot: every spiral needs this beam, so the machine is out of sale, not only A1.
    expect(hw.status().faults).toEqual([{ code: "DROP_SENSOR_STUCK", message: expect.any(String) }]);
    hw.clearFaults();
    expect(hw.status().faults).toMatchObject([{ code: "DROP_SENSOR_STUCK" }]);
    sim.clear("drop-sensor-stuck");
    hw.clearFaults();
    expect(hw.status().faults).toEqual([]);
  });

  it("a good spiral vend clears the drop beam fault", async () => {
    sim.inject("drop-sensor-stuck");
    await settle(hw.vendSpiral("A2", { signal: never() }), 10_000);
    expect(hw.status().faults).toHaveLength(1);
    sim.clear("drop-sensor-stuck");
    expect((await settle(hw.vendSpiral("A1", { signal: never() }), 10_000)).ok).toBe(true);
    expect(hw.status().faults).toEqual([]);
  });

  it("stops with ABORTED when the signal aborts mid-turn", async () => {
    const ac = new AbortController();
    const op = settle(hw.vendSpiral("A1", { signal: ac.signal }), 10_000);
    await vi.advanceTimersByTimeAsync(500);
    ac.abort();
    expect(sim.output(A1)).toBe(0);
    expect(((await op) as { error: VendError }).error.code).toBe("ABORTED");
  });

  it("a later good vend clears the slot's latched fault", async () => {
    sim.inject("spiral-jam");
    await settle(hw.vendSpiral("A1", { signal: never() }), 5_000);
    expect(hw.status().faults).toHaveLength(1);
    sim.clear("spiral-jam");
    expect((await settle(hw.vendSpiral("A1", { signal: never() }), 10_000)).ok).toBe(true);
    expect(hw.status().faults).toEqual([]);
  });

  it("refuses a slot that does not exist, naming the field", async () => {
    await expect(hw.vendSpiral("B7", { signal: never() })).rejects.toMatchObject({ name: "HalInputError", code: "bad_value", path: "slot" });
    await expect(hw.vendSpiral("B7", { signal: never() })).rejects.toBeInstanceOf(HalInputError);
    expect(sim.pinWrites).toEqual([]);
  });

  it("cycleSpiral turns to home without requiring a product", async () => {
    const r = await settle(hw.cycleSpiral("A2", { signal: never() }), 10_000);
    expect(r.ok && r.value).toMatchObject({ kind: "spiral", homed: true, dropSeen: false });
  });
});
