import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openHardware, type Hardware } from "./hardware.js";
import { systemClock } from "./clock.js";
import { calibrationPathFor, parsePinmap } from "./pinmap-file.js";
import { simOf } from "./sim/index.js";
import { never, openSim, pinmapFile, settle, shippedPinmap } from "./__fixtures__/sim.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("pin maps", () => {
  it.each(["drinks", "snacks", "bench", "arduino-drinks"])("the shipped pin map %s is valid", (name) => {
    expect(shippedPinmap(name).name).toBeTruthy();
  });

  const base = () => JSON.parse(JSON.stringify(shippedPinmap("snacks"))) as Record<string, unknown> & { spirals: Record<string, { motor: string }> };

  it("refuses a pin used twice, naming the second use", () => {
    const map = base();
    map.spirals.A2!.motor = "GPIO23";
    expect(() => parsePinmap(map)).toThrow(expect.objectContaining({ code: "bad_value", path: "spirals.A2.motor" }));
  });

  it("refuses a missing door switch", () => {
    const map = base();
    delete map.door;
    expect(() => parsePinmap(map)).toThrow(expect.objectContaining({ code: "missing_field", path: "door" }));
  });

  it("refuses spirals without a drop sensor", () => {
    const map = base();
    delete map.dropSensor;
    expect(() => parsePinmap(map)).toThrow(expect.objectContaining({ path: "dropSensor" }));
  });

  it("refuses a pin that is not a pin name", () => {
    const map = base();
    map.spirals.A1!.motor = "pin 7";
    expect(() => parsePinmap(map)).toThrow(expect.objectContaining({ code: "bad_format", path: "spirals.A1.motor" }));
  });

  it("refuses a calibration that names a station the pin map lacks, before anything moves", async () => {
    await expect(
      openHardware({ board: { kind: "sim", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("drinks"), calibration: { pourStations: { P2: { pulsesPerLitre: 500, calibratedAt: 0 } } } }),
    ).rejects.toMatchObject({ code: "bad_value", path: "pourStations.P2" });
  });

  it("refuses an unknown sim fault naming it", async () => {
    await expect(openHardware({ board: { kind: "sim", pinmap: "x", simFaults: ["gremlins"] }, pinmap: shippedPinmap("drinks") })).rejects.toMatchObject({
      code: "bad_value",
      path: "simFaults[0]",
    });
  });
});

describe("loading from the board config", () => {
  it("loads the pin map and applies the calibration file beside it", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "zapvend-hal-"));
    const file = path.join(dir, "drinks.json");
    await writeFile(file, await readFile(pinmapFile("drinks"), "utf8"));
    await writeFile(calibrationPathFor(file), JSON.stringify({ pourStations: { P1: { pulsesPerLitre: 500, calibratedAt: 1 } } }));
    const hw = await openHardware({ board: { kind: "sim", pinmap: file, simFaults: [] }, clock: systemClock, sim: { meterPulsesPerLitre: 500 } });
    expect(hw.pinmap.pourStations.P1!.flowMeter.pulsesPerLitre).toBe(500);
    const r = await settle(hw.pour(100, { signal: never() }), 10_000);
    expect(r.ok && r.value).toMatchObject({ pulses: 50, pouredMl: 100 });
    await hw.close();
  });

  it("refuses a pin map file with a bad field", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "zapvend-hal-"));
    const file = path.join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ name: "bad", door: { pin: "GPIO4" } }));
    await expect(openHardware({ board: { kind: "sim", pinmap: file, simFaults: [] } })).rejects.toMatchObject({ name: "HalInputError" });
  });
});

describe("status and events", () => {
  let hw: Hardware;
  afterEach(async () => {
    await hw.close();
  });

  it("reports the door and emits door events", async () => {
    ({ hw } = await openSim("drinks"));
    const sim = simOf(hw)!;
    const doors: string[] = [];
    hw.on("door", (d) => doors.push(d));
    expect(hw.status()).toMatchObject({ ready: true, door: "closed", faults: [] });
    sim.setDoorOpen(true);
    expect(hw.status().door).toBe("open");
    sim.setDoorOpen(false);
    sim.inject("door-open");
    expect(doors).toEqual(["open", "closed", "open"]);
  });

  it("starts with the door open when the sim is told door-open", async () => {
    hw = await openHardware({ board: { kind: "sim", pinmap: "x", simFaults: ["door-open"] }, pinmap: shippedPinmap("drinks"), clock: systemClock });
    expect(hw.status().door).toBe("open");
  });

  it("reads the temperature and emits changes on its poll", async () => {
    ({ hw } = await openSim("drinks", { temperatureC: 4.5 }));
    const temps: number[] = [];
    hw.on("temperature", (c) => temps.push(c));
    await vi.advanceTimersByTimeAsync(0);
    expect(hw.status().temperatureC).toBe(4.5);
    simOf(hw)!.setTemperatureC(9);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(temps).toEqual([9]); // the first reading landed before the listener was added
  });

  it("reads a TMP36 through the IO plugin's analogRead", async () => {
    hw = await openHardware({ board: { kind: "sim", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("arduino-drinks"), clock: systemClock, sim: { temperatureC: 6 } });
    expect(await hw.readTemperatureC()).toBeCloseTo(6, 0);
  });

  it("a throwing listener does not break the others", async () => {
    ({ hw } = await openSim("drinks"));
    const seen: string[] = [];
    hw.on("door", () => {
      throw new Error("boom");
    });
    hw.on("door", (d) => seen.push(d));
    simOf(hw)!.setDoorOpen(true);
    expect(seen).toEqual(["open"]);
  });

  it("reads the DS18B20 from sysfs on a real board (injected reader)", async () => {
    // The Thermometer's sysfs path, exercised directly: the sim replaces it with physics.
    const { Thermometer } = await import("./drivers/thermometer.js");
    const files: Record<string, string> = {
      "/sys/bus/w1/devices/w1_bus_master1/w1_master_slaves": "28-0316a2794cff\n",
      "/sys/bus/w1/devices/28-0316a2794cff/temperature": "5437\n",
    };
    const board = { kind: "raspi", io: {}, resolvePin: (p: unknown) => p, watchInput: () => () => {}, close: async () => {} } as never;
    const t = new Thermometer(board, { kind: "ds18b20" }, async (p) => files[p] ?? Promise.reject(new Error("ENOENT")));
    expect(await t.read()).toBe(5.4);
    files["/sys/bus/w1/devices/28-0316a2794cff/temperature"] = "85000\n"; // power-on value, not a reading
    expect(await t.read()).toBeNull();
    hw = await openSim("drinks").then((o) => o.hw);
  });
});
