// The gpiod board over its fake binding: what only this board does (the chip by label, bias and edge detection,
// hardware PWM or on/off, safe levels at open and close, coded errors) and that it drives the very same pin-level
// sequences as the sim board. The shared hardware checks run over it in checks.contract.test.ts.
import { createRequire } from "node:module";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runChecks } from "../../checks.js";
import { systemClock, type Logger } from "../../clock.js";
import { openHardware, type Hardware } from "../../hardware.js";
import { pinmapFile, shippedPinmap } from "../../__fixtures__/sim.js";
import type { PinWrite } from "../../sim/machine.js";
import { FakeGpiodBinding, type FakeGpiodOptions } from "../../sim/fake-gpiod.js";
import { parseGpiodetect } from "./gpiox-binding.js";

const never = () => new AbortController().signal;

function capture(): Logger & { lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  return {
    lines,
    info: (msg, fields) => lines.push({ level: "info", msg, ...(fields ? { fields } : {}) }),
    warn: (msg, fields) => lines.push({ level: "warn", msg, ...(fields ? { fields } : {}) }),
    error: (msg, fields) => lines.push({ level: "error", msg, ...(fields ? { fields } : {}) }),
  };
}

async function openGpiod(name: string, options: FakeGpiodOptions = {}, logger?: Logger) {
  const fake = new FakeGpiodBinding(shippedPinmap(name), systemClock, options);
  const hw = await openHardware({
    board: { kind: "gpiod", pinmap: pinmapFile(name), simFaults: [] },
    pinmap: shippedPinmap(name),
    clock: systemClock,
    gpiodBinding: fake,
    ...(logger ? { logger } : {}),
  });
  return { hw, fake };
}

/** Every pin write of a whole technician run, times relative to the first. */
async function checksTrace(hw: Hardware, writes: () => readonly PinWrite[], clear: () => void) {
  clear();
  const p = runChecks({ hardware: hw, clock: systemClock, signal: never(), allowMotion: true });
  await vi.advanceTimersByTimeAsync(120_000);
  const results = await p;
  const all = writes();
  const t0 = all[0]?.atMs ?? 0;
  return { results: results.map((r) => [r.name, r.status]), trace: all.map((w) => `${w.atMs - t0} ${w.pin} ${w.kind} ${w.value}`) };
}

describe("gpiod board over the fake binding", () => {
  let hw: Hardware | null = null;
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    await hw?.close();
    hw = null;
    vi.useRealTimers();
  });

  it("drives exactly the pin-level sequence the sim board drives, over a whole run of the checks", async () => {
    const sim = await openHardware({ board: { kind: "sim", pinmap: pinmapFile("bench"), simFaults: [] }, pinmap: shippedPinmap("bench"), clock: systemClock });
    const { simOf } = await import("../../sim/index.js");
    const simMachine = simOf(sim)!;
    const onSim = await checksTrace(sim, () => simMachine.pinWrites, () => simMachine.clearPinWrites());
    await sim.close();
    const g = await openGpiod("bench");
    hw = g.hw;
    const onGpiod = await checksTrace(g.hw, () => g.fake.machine.pinWrites, () => g.fake.machine.clearPinWrites());
    expect(onGpiod.results).toEqual(onSim.results);
    expect(onSim.trace.length).toBeGreaterThan(10);
    // The pump started the L298N way (direction set with EN low, then the duty) and braked: the sequences that matter.
    expect(onSim.trace.join("\n")).toMatch(/GPIO12 pwm 0\n\d+ GPIO5 digital 1\n\d+ GPIO6 digital 0\n\d+ GPIO12 pwm 255/);
    expect(onGpiod.trace).toEqual(onSim.trace);
  });

  it("finds the chip by its label, not its number, and requests inputs with bias and edge detection", async () => {
    // A Pi 5 on an early kernel: the RP1 header chip is gpiochip4, after the SoC's own chips.
    const g = await openGpiod("bench", {
      chips: [
        { path: "/dev/gpiochip0", label: "gpio-brcmstb@107d508500", lines: 32 },
        { path: "/dev/gpiochip1", label: "gpio-brcmstb@107d508520", lines: 4 },
        { path: "/dev/gpiochip4", label: "pinctrl-rp1", lines: 54 },
      ],
    });
    hw = g.hw;
    expect(g.fake.openedChips).toEqual(["/dev/gpiochip4"]);
    const byOffset = (n: number) => g.fake.held.get(n);
    // Switches and the drop beam: pull-up (they switch to ground), kernel debounce.
    for (const n of [27, 13, 19, 21, 22]) expect(byOffset(n)).toMatchObject({ direction: "input", bias: "pull-up", debounceUs: 1000 });
    // The flow meter: no bias (the sensor drives the line), no debounce that could swallow a pulse.
    expect(byOffset(17)).toMatchObject({ direction: "input", bias: "disabled", debounceUs: 0 });
  });

  it("counts flow pulses from edges: the pulses the meter gave are the pulses poured", async () => {
    const g = await openGpiod("bench");
    hw = g.hw;
    const p = g.hw.pour(100, { signal: never() });
    await vi.advanceTimersByTimeAsync(10_000);
    // 450 pulses/l: 100 ml is 45 pulses, each one an edge event from the line.
    expect(await p).toMatchObject({ pulses: 45, pouredMl: 100 });
    expect(g.fake.machine.jugMl("P1")).toBeGreaterThan(99);
  });

  it("every output at its safe level from the request on, and again at close, with every line and PWM channel let go", async () => {
    const g = await openGpiod("bench");
    // Right after open, before anything ran: IN1/IN2 and the spiral motors held LOW, the pump's EN on PWM at duty 0.
    for (const n of [5, 6, 23, 24]) expect(g.fake.held.get(n)).toMatchObject({ direction: "output", initial: 0 });
    expect(g.fake.held.has(12)).toBe(false); // EN belongs to the PWM block, not requested as a GPIO
    expect(g.fake.pwm.get(0)).toMatchObject({ dutyNs: 0, enabled: true, periodNs: 1_000_000 });
    // Pump running when the machine closes.
    const pour = g.hw.runPump("P1", 60_000, { signal: never() });
    await vi.advanceTimersByTimeAsync(500);
    expect(g.fake.pwm.get(0)!.dutyNs).toBe(1_000_000);
    expect(g.fake.output(5)).toBe(1);
    await g.hw.close();
    await pour.catch(() => undefined);
    for (const n of [5, 6, 23, 24]) expect(g.fake.output(n)).toBe(0);
    expect(g.fake.pwm.get(0)).toMatchObject({ dutyNs: 0, enabled: false, exported: false });
    expect([...g.fake.held.keys()]).toEqual([]);
    expect(g.fake.machine.output("GPIO12")).toBe(0);
  });

  it("without a PWM overlay the pump runs full on/off, and the log says why", async () => {
    const logger = capture();
    const g = await openGpiod("bench", { pwmOverlay: null }, logger);
    hw = g.hw;
    const warn = logger.lines.find((l) => l.msg.includes("without PWM"));
    expect(warn).toMatchObject({ level: "warn", fields: { slot: "P1", pin: "GPIO12", reason: expect.stringContaining("overlay") } });
    expect(g.fake.held.get(12)).toMatchObject({ direction: "output", initial: 0 });
    const p = g.hw.pour(100, { signal: never() });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await p).toMatchObject({ pulses: 45 });
    expect(g.fake.machine.pinWrites.filter((w) => w.pin === "GPIO12").map((w) => w.value)).toContain(1);
    expect(g.fake.output(12)).toBe(0);
  });

  it("a Pi 4 maps the pump's EN to its own PWM channel", async () => {
    const logger = capture();
    const g = await openGpiod("bench", { label: "pinctrl-bcm2711" }, logger);
    hw = g.hw;
    expect(logger.lines.find((l) => l.msg === "pump EN on hardware PWM")?.fields).toMatchObject({ pin: "GPIO12", channel: 0 });
  });

  it("no Raspberry Pi chip: a coded error that lists what the kernel has", async () => {
    await expect(openGpiod("bench", { chips: [{ path: "/dev/gpiochip0", label: "gpio-mockup-A", lines: 8 }] })).rejects.toMatchObject({
      name: "HardwareError",
      code: "BOARD_NOT_READY",
      message: expect.stringMatching(/pinctrl-rp1.*gpio-mockup-A/),
    });
    await expect(openGpiod("bench", { chips: [] })).rejects.toMatchObject({ code: "BOARD_NOT_READY", message: expect.stringContaining("no GPIO chip") });
  });

  it("a line another program holds: a coded error, and the lines already taken are let go", async () => {
    const g = await openGpiod("bench");
    hw = g.hw;
    const fake2 = g.fake;
    // A second daemon on the same Pi: the kernel refuses lines that are held.
    await expect(
      openHardware({ board: { kind: "gpiod", pinmap: pinmapFile("bench"), simFaults: [] }, pinmap: shippedPinmap("bench"), clock: systemClock, gpiodBinding: fake2 }),
    ).rejects.toMatchObject({ name: "HardwareError", code: "BOARD_NOT_READY", message: expect.stringContaining("EBUSY") });
    expect(g.fake.held.get(5)?.consumer).toBe("zapvend");
  });

  it("a sensor line another program holds: a coded error naming it, and every line the board took is let go", async () => {
    const fake = new FakeGpiodBinding(shippedPinmap("bench"), systemClock);
    const other = await fake.openChip((await fake.listChips())[0]!);
    other.requestInput(21, { bias: "disabled", debounceUs: 0 }, "another-program", () => {});
    await expect(
      openHardware({ board: { kind: "gpiod", pinmap: pinmapFile("bench"), simFaults: [] }, pinmap: shippedPinmap("bench"), clock: systemClock, gpiodBinding: fake }),
    ).rejects.toMatchObject({ name: "HardwareError", code: "BOARD_NOT_READY", message: expect.stringMatching(/GPIO21.*EBUSY/) });
    expect([...fake.held.keys()]).toEqual([21]);
    expect(fake.pwm.get(0)).toMatchObject({ dutyNs: 0, enabled: false, exported: false });
    for (const n of [5, 6, 23, 24]) expect(fake.output(n)).toBe(0);
  });

  it("refuses a pin map the Pi cannot have before touching a line", async () => {
    const fake = new FakeGpiodBinding(shippedPinmap("bench"), systemClock);
    await expect(
      openHardware({ board: { kind: "gpiod", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("arduino-drinks"), clock: systemClock, gpiodBinding: fake }),
    ).rejects.toMatchObject({ name: "HalInputError" });
    expect(fake.requests).toEqual([]);
  });
});

describe("the real gpiod binding", () => {
  const hasGpiox = (() => {
    try {
      createRequire(import.meta.url).resolve("@iiot2k/gpiox");
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(hasGpiox)("without @iiot2k/gpiox (any machine but a Pi) fails with a coded error that says what to install", async () => {
    await expect(openHardware({ board: { kind: "gpiod", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("bench") })).rejects.toMatchObject({
      name: "HardwareError",
      code: "BOARD_NOT_READY",
      message: expect.stringContaining("@iiot2k/gpiox"),
    });
  });

  it("reads gpiodetect's chip list (libgpiod 1.6 and 2.x print the same line)", () => {
    expect(parseGpiodetect("gpiochip0 [pinctrl-rp1] (54 lines)\ngpiochip10 [gpio-brcmstb@107d508500] (32 lines)\n")).toEqual([
      { path: "/dev/gpiochip0", label: "pinctrl-rp1", lines: 54 },
      { path: "/dev/gpiochip10", label: "gpio-brcmstb@107d508500", lines: 32 },
    ]);
  });
});
