// The contract suite: the harness's checks, run against the sim board always and against a real board when
// TEST_BOARD names one (serialport's TEST_PORT pattern):
//   TEST_BOARD=firmata:/dev/ttyACM0 TEST_PINMAP=hardware/pinmaps/arduino-drinks.json npx vitest run src/checks.contract.test.ts
//   TEST_BOARD=raspi TEST_PINMAP=hardware/pinmaps/snacks.json ...        (Pi 3/4 with pigpio)
//   TEST_BOARD=gpiod TEST_PINMAP=hardware/pinmaps/snacks.json ...        (any Pi, the Pi 5 included: GPIO character device)
// The gpiod board also runs the whole suite in CI over its fake binding (the sim's physics behind fake GPIO lines).
// A real board moves its pump and spirals: run it on the bench with cups and products in place.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HarnessCheck } from "@zapvend/protocol";
import { runChecks, type CheckContext } from "./checks.js";
import { systemClock } from "./clock.js";
import { openHardware, type Hardware } from "./hardware.js";
import { loadCalibration } from "./pinmap-file.js";
import { simOf } from "./sim/index.js";
import type { SimFault, SimMachine, SimOptions } from "./sim/machine.js";
import { FakeGpiodBinding } from "./sim/fake-gpiod.js";
import { pinmapFile, shippedPinmap } from "./__fixtures__/sim.js";

async function run(ctx: Omit<CheckContext, "clock" | "signal"> & { signal?: AbortSignal }, advanceMs = 120_000) {
  const p = runChecks({ clock: systemClock, signal: new AbortController().signal, ...ctx });
  await vi.advanceTimersByTimeAsync(advanceMs);
  const results = await p;
  for (const r of results) HarnessCheck.parse(r);
  return results;
}

type Opened = { hw: Hardware; sim: SimMachine };
/** The same checks over every board that runs without hardware: the sim board, and the gpiod board over its fake binding. */
const boards: Array<[string, (name: string, sim?: SimOptions) => Promise<Opened>]> = [
  [
    "sim board",
    async (name, sim = {}) => {
      const hw = await openHardware({ board: { kind: "sim", pinmap: pinmapFile(name), simFaults: [] }, pinmap: shippedPinmap(name), clock: systemClock, sim });
      return { hw, sim: simOf(hw)! };
    },
  ],
  [
    "gpiod board (fake binding)",
    async (name, sim = {}) => {
      const fake = new FakeGpiodBinding(shippedPinmap(name), systemClock, { sim });
      const hw = await openHardware({ board: { kind: "gpiod", pinmap: pinmapFile(name), simFaults: [] }, pinmap: shippedPinmap(name), clock: systemClock, gpiodBinding: fake });
      return { hw, sim: fake.machine };
    },
  ],
];

describe.each(boards)("hardware checks on the %s", (_board, open) => {
  const openSim = open;
  let hw: Hardware;
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    await hw.close();
    vi.useRealTimers();
  });

  it("every check passes on a healthy bench machine, in the technician's order", async () => {
    ({ hw } = await openSim("bench"));
    const results = await run({ hardware: hw, allowMotion: true });
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ["board", "pass"],
      ["door switch", "pass"],
      ["temperature", "pass"],
      ["cup sensor P1", "pass"],
      ["pump P1 prime", "pass"],
      ["flow meter P1 calibration", "skip"], // nobody to measure
      ["drop sensor idle", "pass"],
      ["spiral A1 home", "pass"],
      ["spiral A2 home", "pass"],
      ["test vend A1", "pass"],
    ]);
    expect(results.find((r) => r.name === "pump P1 prime")!.measured).toMatchObject({ pouredMl: 51.1, pulses: 23 }); // 50 ml is 22.5 pulses at 450/l
  });

  it("skips everything that moves when motion is not allowed, and moves nothing", async () => {
    const { sim } = await openSim("bench").then((o) => ((hw = o.hw), o));
    sim.clearPinWrites();
    const results = await run({ hardware: hw, allowMotion: false });
    expect(results.filter((r) => r.status === "skip").map((r) => r.name)).toEqual([
      "pump P1 prime",
      "flow meter P1 calibration",
      "spiral A1 home",
      "spiral A2 home",
      "test vend A1",
    ]);
    expect(sim.pinWrites).toEqual([]);
  });

  const faults: Array<[SimFault, string, string]> = [
    ["pump-dry", "pump P1 prime", "PUMP_DRY_RUN"],
    ["flow-sensor-dead", "pump P1 prime", "FLOW_SENSOR_DEAD"],
    ["spiral-jam", "spiral A1 home", "SPIRAL_JAM"],
    ["drop-sensor-stuck", "drop sensor idle", "DROP_SENSOR_STUCK"],
    ["door-open", "door switch", "DOOR_OPEN"],
  ];
  it.each(faults)("with the sim fault %s, the check %s fails with %s", async (fault, check, code) => {
    ({ hw } = await openSim("bench", { faults: [fault] }));
    const results = await run({ hardware: hw, allowMotion: true });
    expect(results.find((r) => r.name === check)).toMatchObject({ status: "fail", code });
    // A fault fails what it touches, not the whole machine.
    expect(results.find((r) => r.name === "board")!.status).toBe("pass");
  });

  it("calibrates the flow meter from the measured volume and saves pulses-per-litre", async () => {
    // The sim's meter really gives 500 pulses/l; the pin map still says 450.
    const opened = await openSim("drinks", { meterPulsesPerLitre: 500 });
    hw = opened.hw;
    const sim = opened.sim;
    const dir = await mkdtemp(path.join(tmpdir(), "zapvend-cal-"));
    const file = path.join(dir, "drinks.calibration.json");
    let askedAfterMs = 0;
    const results = await run({
      hardware: hw,
      allowMotion: true,
      calibrationFile: file,
      calibrationRunMs: 10_000,
      prepareMeasurement: async (station) => sim.emptyJug(station),
      measureVolumeMl: async (station, runMs) => {
        askedAfterMs = runMs;
        return Math.round(sim.jugMl(station));
      },
    });
    const cal = results.find((r) => r.name === "flow meter P1 calibration")!;
    expect(cal.status).toBe("pass");
    expect(askedAfterMs).toBe(10_000);
    expect(cal.measured!.pulsesPerLitre).toBeGreaterThan(495);
    expect(cal.measured!.pulsesPerLitre).toBeLessThan(505);
    const saved = await loadCalibration(file);
    expect(saved!.pourStations.P1!.pulsesPerLitre).toBe(cal.measured!.pulsesPerLitre);
    // From now on a pour counts with the new constant: 100 ml is ~50 pulses, and ~100 ml comes out.
    const before = sim.jugMl("P1");
    const p = hw.pour(100, { signal: new AbortController().signal });
    await vi.advanceTimersByTimeAsync(10_000);
    await p;
    // Within one pulse (2 ml at 500/l) either way; at the old 450/l it would be 111 ml.
    expect(sim.jugMl("P1") - before).toBeGreaterThan(97.9);
    expect(sim.jugMl("P1") - before).toBeLessThan(102.1);
  });

  it("a calibration with a nonsense volume fails and changes nothing", async () => {
    ({ hw } = await openSim("drinks"));
    const results = await run({ hardware: hw, allowMotion: true, calibrationFile: null, measureVolumeMl: async () => 0.001 });
    expect(results.find((r) => r.name === "flow meter P1 calibration")).toMatchObject({ status: "fail" });
    // The meter still counts 450 pulses per litre: 100 ml is 45 pulses.
    const p = hw.pour(100, { signal: new AbortController().signal });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await p).toMatchObject({ pulses: 45, pouredMl: 100 });
  });
});

const testBoard = process.env.TEST_BOARD;
describe.skipIf(!testBoard)(`hardware checks on a real board (${testBoard ?? "TEST_BOARD unset"})`, () => {
  it("every check passes", { timeout: 300_000 }, async () => {
    const [kind, port] = (testBoard ?? "").split(":") as ["raspi" | "gpiod" | "firmata", string | undefined];
    const pinmapFile = process.env.TEST_PINMAP;
    if (!pinmapFile) throw new Error("TEST_PINMAP must name the pin map of the board under test");
    const hw = await openHardware({ board: { kind, pinmap: pinmapFile, port, simFaults: [] } });
    try {
      const results = await runChecks({ hardware: hw, clock: systemClock, signal: new AbortController().signal, allowMotion: true });
      expect(results.filter((r) => r.status === "fail")).toEqual([]);
    } finally {
      await hw.close();
    }
  });
});
