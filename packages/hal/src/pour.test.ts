import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VendEvidence } from "@zapvend/protocol";
import { HalInputError, VendError } from "./errors.js";
import type { Hardware } from "./hardware.js";
import type { SimMachine } from "./sim/machine.js";
import { never, openSim, settle } from "./__fixtures__/sim.js";

// bench.json: P1's L298N channel is EN = GPIO12, IN1 = GPIO5, IN2 = GPIO6; its flow meter gives 450 pulses/l.
const EN = "GPIO12";
const IN1 = "GPIO5";
const IN2 = "GPIO6";

let hw: Hardware;
let sim: SimMachine;

beforeEach(async () => {
  vi.useFakeTimers();
  ({ hw, sim } = await openSim("bench"));
});
afterEach(async () => {
  await hw.close();
  vi.useRealTimers();
});

const pumpWrites = () => sim.pinWrites.filter((w) => [EN, IN1, IN2].includes(w.pin)).map((w) => `${w.pin}=${w.value}`);

describe("pour", () => {
  it("drives the pump to its safe level when the board opens", () => {
    expect(pumpWrites()).toEqual([`${EN}=0`, `${IN1}=0`, `${IN2}=0`]);
  });

  it("pours the volume closed-loop and reports evidence that matches protocol", async () => {
    sim.clearPinWrites();
    const progress: number[] = [];
    const r = await settle(hw.pour(200, { signal: never(), onProgress: (p) => p.kind === "pour" && progress.push(p.pouredMl) }), 20_000);
    expect(r.ok).toBe(true);
    const ev = VendEvidence.parse(r.ok ? r.value : null);
    expect(ev).toMatchObject({ kind: "pour", targetMl: 200 });
    if (ev.kind !== "pour") throw new Error("not a pour");
    expect(ev.pulses).toBe(90); // 200 ml at 450 pulses/l
    expect(ev.pouredMl).toBe(200);
    expect(ev.runMs).toBeGreaterThanOrEqual(7_900); // 25 ml/s at full duty
    expect(ev.runMs).toBeLessThanOrEqual(8_100);
    // What came out of the nozzle is what the meter counted, within one pulse.
    expect(sim.jugMl("P1")).toBeGreaterThanOrEqual(200);
    expect(sim.jugMl("P1")).toBeLessThan(200 + 1000 / 450 + 0.2);
    expect(progress.length).toBeGreaterThan(5);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(200);
    // L298N: direction with EN low, then EN = full duty; fast brake IN1 = IN2 = HIGH with EN HIGH; then coast.
    expect(pumpWrites()).toEqual([`${EN}=0`, `${IN1}=1`, `${IN2}=0`, `${EN}=255`, `${IN1}=1`, `${IN2}=1`, `${EN}=255`, `${EN}=0`, `${IN1}=0`, `${IN2}=0`]);
    expect(sim.output(EN)).toBe(0);
  });

  it("holds the brake for 200 ms before letting the pump coast", async () => {
    await settle(hw.pour(20, { signal: never() }), 1_000);
    const brakeAt = sim.pinWrites.find((w) => w.pin === IN2 && w.value === 1)!.atMs;
    const coastAt = sim.pinWrites.filter((w) => w.pin === EN && w.value === 0).at(-1)!.atMs;
    expect(coastAt - brakeAt).toBe(200);
  });

  it("uses the pin map's duty", async () => {
    await hw.close();
    ({ hw, sim } = await openSim("bench"));
    const station = hw.pinmap.pourStations.P1!;
    expect(station.dutyPercent).toBe(100);
  });

  it("stops with PUMP_DRY_RUN and the partial evidence when the flow stops (the tank ran empty)", async () => {
    sim.setTankMl("P1", 30);
    const r = await settle(hw.pour(200, { signal: never(), noPulseMs: 1_500 }), 20_000);
    expect(r.ok).toBe(false);
    const err = (r as { error: VendError }).error;
    expect(err).toBeInstanceOf(VendError);
    expect(err.code).toBe("PUMP_DRY_RUN");
    expect(err.evidence).toMatchObject({ kind: "pour", targetMl: 200 });
    const ev = err.evidence!;
    if (ev.kind !== "pour") throw new Error("not a pour");
    // 30 ml of tank + 8 ml left in the line came out, and the meter counted them.
    expect(ev.pouredMl).toBeGreaterThan(35);
    expect(ev.pouredMl).toBeLessThan(40);
    expect(sim.output(EN)).toBe(0);
    expect(hw.status().faults).toEqual([expect.objectContaining({ code: "PUMP_DRY_RUN", slot: "P1" })]);
  });

  it("reports the sim's pump-dry fault as PUMP_DRY_RUN", async () => {
    sim.inject("pump-dry");
    const r = await settle(hw.pour(200, { signal: never() }), 20_000);
    expect((r as { error: VendError }).error.code).toBe("PUMP_DRY_RUN");
    expect(sim.output(EN)).toBe(0);
  });

  it("stops with FLOW_SENSOR_DEAD when no pulse ever comes", async () => {
    sim.inject("flow-sensor-dead");
    const r = await settle(hw.pour(200, { signal: never(), noPulseMs: 2_000 }), 20_000);
    const err = (r as { error: VendError }).error;
    expect(err.code).toBe("FLOW_SENSOR_DEAD");
    expect(err.evidence).toMatchObject({ pulses: 0, pouredMl: 0 });
    expect(err.evidence!.runMs).toBe(2_000);
    expect(sim.output(EN)).toBe(0);
  });

  it("refuses without a cup before anything moves", async () => {
    sim.setCupPresent("P1", false);
    sim.clearPinWrites();
    const r = await settle(hw.pour(200, { signal: never() }), 1_000);
    expect((r as { error: VendError }).error.code).toBe("CUP_MISSING");
    expect(sim.pinWrites).toEqual([]);
  });

  it("stops at once when the cup is taken away", async () => {
    const op = settle(hw.pour(500, { signal: never() }), 20_000);
    await vi.advanceTimersByTimeAsync(2_000);
    sim.setCupPresent("P1", false);
    expect(sim.output(IN2)).toBe(1); // braking on the very edge
    const r = await op;
    expect((r as { error: VendError }).error.code).toBe("CUP_MISSING");
    const ev = (r as { error: VendError }).error.evidence!;
    expect(ev.kind === "pour" && ev.pouredMl).toBeGreaterThan(45);
  });

  it("stops with ABORTED when the signal aborts", async () => {
    const ac = new AbortController();
    const op = settle(hw.pour(500, { signal: ac.signal }), 5_000);
    await vi.advanceTimersByTimeAsync(1_000);
    ac.abort();
    expect(sim.output(IN1)).toBe(1);
    expect(sim.output(IN2)).toBe(1);
    const r = await op;
    expect((r as { error: VendError }).error.code).toBe("ABORTED");
    expect(sim.output(EN)).toBe(0);
    expect(hw.status().faults).toEqual([]); // a cancel is not a hardware fault
  });

  it("stops with MAX_RUN_TIME at the hard limit", async () => {
    const r = await settle(hw.pour(500, { signal: never(), maxRunMs: 3_000 }), 10_000);
    const err = (r as { error: VendError }).error;
    expect(err.code).toBe("MAX_RUN_TIME");
    expect(err.evidence!.runMs).toBe(3_000);
    expect(sim.output(EN)).toBe(0);
  });

  it.each([0, 10_000, 2.5, Number.NaN])("refuses a volume of %s ml naming the field, before anything moves", async (ml) => {
    sim.clearPinWrites();
    await expect(hw.pour(ml, { signal: never() })).rejects.toMatchObject({ name: "HalInputError", code: "out_of_range", path: "volumeMl" });
    expect(sim.pinWrites).toEqual([]);
  });

  it("refuses a station that does not exist", async () => {
    await expect(hw.pour(100, { signal: never(), station: "P9" })).rejects.toBeInstanceOf(HalInputError);
  });

  it("runs one actuation at a time", async () => {
    const first = settle(hw.pour(100, { signal: never() }), 10_000);
    await expect(hw.pour(100, { signal: never() })).rejects.toMatchObject({ code: "BOARD_NOT_READY" });
    expect((await first).ok).toBe(true);
  });

  it("close() during a pour stops the pump and leaves every output at its safe level", async () => {
    const op = settle(hw.pour(500, { signal: never() }), 100);
    await vi.advanceTimersByTimeAsync(1_000);
    await hw.close();
    const r = await op;
    expect((r as { error: VendError }).error.code).toBe("ABORTED");
    expect([sim.output(EN), sim.output(IN1), sim.output(IN2), sim.output("GPIO23"), sim.output("GPIO24")]).toEqual([0, 0, 0, 0, 0]);
  });
});
