// Any Raspberry Pi (the Pi 5 included) through the Linux GPIO character device, as a johnny-five IO plugin. The
// binding is injected (the real one is loaded lazily from the optional dependency @iiot2k/gpiox; tests pass the
// fake of `@zapvend/hal/sim`). The GPIO chip is found by its label, never by its number (the Pi 5's RP1 chip was
// gpiochip4 on early kernels and is gpiochip0 since 6.6.45).
import { EventEmitter } from "node:events";
import type { Pinmap, PinName } from "@zapvend/protocol";
import type { Clock, Logger } from "../../clock.js";
import { HalInputError, HardwareError } from "../../errors.js";
import type { BoardIo, IoPlugin, Level } from "../../io.js";
import { pinsOf } from "../../pinmap-file.js";
import { bcmNumber } from "../raspi.js";
import { startJohnnyFive } from "../j5.js";
import type { GpiodBinding, InputLine, LineBias, OutputLine, PwmChipInfo, PwmOutput } from "./binding.js";

/** The Pis' GPIO chips by label, and the hardware PWM channel each header pin can be routed to (see hardware/pi-setup). */
export const PI_GPIO_CHIPS = {
  // Pi 5: RP1's PWM0 (RP1 datasheet, GPIO function table: GPIO12/13 = PWM0 channels 0/1, GPIO18/19 = channels 2/3).
  "pinctrl-rp1": { model: "Raspberry Pi 5", pwmCompatible: "raspberrypi,rp1-pwm", pwmChannels: { 12: 0, 13: 1, 18: 2, 19: 3 } },
  // Pi 4 and Pi 3 / Zero 2: the BCM PWM block (BCM2711/BCM2835 peripherals, alt functions: GPIO12/18 = PWM0, GPIO13/19 = PWM1).
  "pinctrl-bcm2711": { model: "Raspberry Pi 4", pwmCompatible: "brcm,bcm2835-pwm", pwmChannels: { 12: 0, 18: 0, 13: 1, 19: 1 } },
  "pinctrl-bcm2835": { model: "Raspberry Pi 3 / Zero 2", pwmCompatible: "brcm,bcm2835-pwm", pwmChannels: { 12: 0, 18: 0, 13: 1, 19: 1 } },
} as const satisfies Record<string, { model: string; pwmCompatible: string; pwmChannels: Record<number, number> }>;
export type PiGpioChipLabel = keyof typeof PI_GPIO_CHIPS;

/** The pump's PWM: 1 kHz, well inside what an L298N switches cleanly. */
export const PUMP_PWM_PERIOD_NS = 1_000_000;
/** Kernel debounce of the switches and the drop beam, µs; the flow meter gets none (a pulse is ~3 ms at full flow). */
const SWITCH_DEBOUNCE_US = 1_000;
const CONSUMER = "zapvend";

export interface GpiodBoardOptions {
  /** The binding; default: the real one over the optional dependency @iiot2k/gpiox, loaded now. */
  binding?: GpiodBinding;
  logger: Logger;
}

export interface GpiodBoard extends BoardIo {
  readonly kind: "gpiod";
  readonly chip: { path: string; label: string };
  /** How the pump's EN pins are driven: by a sysfs PWM channel, or full on/off (with why). */
  readonly pwm: Record<string, { mode: "pwm"; pwmChip: string; channel: number } | { mode: "on-off"; reason: string }>;
}

async function loadRealBinding(): Promise<GpiodBinding> {
  const { openGpioxBinding } = await import("./gpiox-binding.js");
  return await openGpioxBinding();
}

function checkPins(pinmap: Pinmap): void {
  for (const { pin, path } of pinsOf(pinmap)) bcmNumber(pin, path);
  if (pinmap.thermometer?.kind === "tmp36") {
    throw new HalInputError("bad_value", "the Raspberry Pi has no analog input: use a DS18B20 on the 1-Wire bus", "thermometer.kind");
  }
}

const biasOf = (pull: "up" | "down" | "none"): LineBias => (pull === "up" ? "pull-up" : pull === "down" ? "pull-down" : "disabled");

export async function openGpiodBoard(pinmap: Pinmap, clock: Clock, opts: GpiodBoardOptions): Promise<GpiodBoard> {
  checkPins(pinmap);
  const log = opts.logger;
  let binding = opts.binding;
  if (!binding) {
    try {
      binding = await loadRealBinding();
    } catch (err) {
      if (err instanceof HardwareError) throw err;
      throw new HardwareError(
        "BOARD_NOT_READY",
        `the gpiod board needs the optional dependency "@iiot2k/gpiox" (Raspberry Pi OS, arm64 or armhf: npm install -w @zapvend/hal @iiot2k/gpiox): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  const chips = await binding.listChips();
  const found = chips.find((c) => c.label in PI_GPIO_CHIPS);
  if (!found) {
    throw new HardwareError(
      "BOARD_NOT_READY",
      `no Raspberry Pi GPIO chip found (looked for the labels ${Object.keys(PI_GPIO_CHIPS).join(", ")}; the kernel lists ${chips.length ? chips.map((c) => `${c.path} [${c.label}]`).join(", ") : "no GPIO chip"}): is this a Raspberry Pi, and may this user open /dev/gpiochip* (group gpio)?`,
      { chips },
    );
  }
  const soc = PI_GPIO_CHIPS[found.label as PiGpioChipLabel];
  const chipPath = found.path;
  const chip = await binding.openChip(found);
  log.info("gpio chip opened", { ns: "hal:gpiod", chip: found.path, label: found.label, model: soc.model, binding: binding.name });

  const outputs = new Map<number, OutputLine>();
  const pwms = new Map<number, PwmOutput>();
  const inputs = new Map<number, { line: InputLine; level: Level; listeners: Set<(l: Level) => void> }>();
  const pwmReport: GpiodBoard["pwm"] = {};
  let closed = false;
  try {
    // Every output is requested at its safe level (LOW: pump EN and IN off, spiral motors off) by the request itself.
    const enPins = new Set(Object.values(pinmap.pourStations).map((s) => bcmNumber(s.pump.en, "pump.en")));
    const pwmChips = enPins.size > 0 ? await binding.listPwmChips() : [];
    const pwmChip: PwmChipInfo | undefined = pwmChips.find((c) => c.compatible.includes(soc.pwmCompatible));
    for (const [slot, s] of Object.entries(pinmap.pourStations)) {
      const en = bcmNumber(s.pump.en, `pourStations.${slot}.pump.en`);
      const channel = (soc.pwmChannels as Record<number, number>)[en];
      let reason: string | null = null;
      if (channel === undefined) reason = `GPIO${en} has no hardware PWM on the ${soc.model} (use GPIO12, 13, 18 or 19 for the pump's EN)`;
      else if (!pwmChip) reason = `no kernel PWM chip (${soc.pwmCompatible}) under /sys/class/pwm: add the PWM overlay to config.txt (see hardware/pi-setup)`;
      else if (channel >= pwmChip.channels) reason = `${pwmChip.path} has ${pwmChip.channels} channels, GPIO${en} needs channel ${channel}: use the overlay that routes GPIO${en} to PWM (see hardware/pi-setup)`;
      if (reason === null && pwmChip && channel !== undefined && !pwms.has(en)) {
        const out = await binding.openPwm(pwmChip, channel, PUMP_PWM_PERIOD_NS);
        pwms.set(en, out);
        pwmReport[slot] = { mode: "pwm", pwmChip: pwmChip.path, channel };
        log.info("pump EN on hardware PWM", { ns: "hal:gpiod", slot, pin: `GPIO${en}`, pwmChip: pwmChip.path, channel, periodNs: PUMP_PWM_PERIOD_NS });
      } else if (reason !== null) {
        pwmReport[slot] = { mode: "on-off", reason };
        // The pump still runs: full on or off, and the duty of the pin map is not applied.
        log.warn("pump EN without PWM: full on/off", { ns: "hal:gpiod", slot, pin: `GPIO${en}`, reason });
      }
    }
    const outputPins = [
      ...Object.values(pinmap.pourStations).flatMap((s) => [s.pump.en, s.pump.in1, s.pump.in2]),
      ...Object.values(pinmap.spirals).map((s) => s.motor),
    ].map((p) => bcmNumber(p, "output"));
    for (const n of outputPins) {
      // A pin on hardware PWM belongs to the PWM block (its pin mux): requesting it as a GPIO would take it away.
      if (pwms.has(n) || outputs.has(n)) continue;
      outputs.set(n, chip.requestOutput(n, 0, CONSUMER));
    }
  } catch (err) {
    await releaseAll();
    throw err instanceof HardwareError || err instanceof HalInputError
      ? err
      : new HardwareError("BOARD_NOT_READY", `could not request the pin map's lines on ${found.path}: ${err instanceof Error ? err.message : String(err)}`);
  }

  async function releaseAll(): Promise<void> {
    // Safe level first, then let go: every output LOW, every PWM duty 0 and disabled.
    for (const out of outputs.values()) {
      try {
        out.setValue(0);
        out.release();
      } catch (err) {
        log.error("could not release an output line", { ns: "hal:gpiod", error: String(err) });
      }
    }
    for (const p of pwms.values()) {
      try {
        p.setDutyNs(0);
        await p.close();
      } catch (err) {
        log.error("could not close a PWM channel", { ns: "hal:gpiod", error: String(err) });
      }
    }
    for (const i of inputs.values()) i.line.release();
    outputs.clear();
    pwms.clear();
    inputs.clear();
    chip.close();
  }

  function watch(n: number, pull: "up" | "down" | "none", debounceUs: number, listener: (l: Level) => void): () => void {
    let entry = inputs.get(n);
    if (!entry) {
      const listeners = new Set<(l: Level) => void>();
      const e: { line: InputLine; level: Level; listeners: Set<(l: Level) => void> } = { line: null as unknown as InputLine, level: 0, listeners };
      // Edges, never polling: the kernel detects each edge (and stamps it); a flow pulse is counted from its edge.
      try {
        e.line = chip.requestInput(n, { bias: biasOf(pull), debounceUs }, CONSUMER, (ev) => {
          if (closed || ev.level === e.level) return;
          e.level = ev.level;
          for (const l of [...listeners]) l(ev.level);
        });
      } catch (err) {
        if (err instanceof HardwareError) throw err;
        throw new HardwareError("BOARD_NOT_READY", `could not request GPIO${n} as an input on ${chipPath}: ${err instanceof Error ? err.message : String(err)}`);
      }
      e.level = e.line.initialLevel;
      inputs.set(n, e);
      entry = e;
    }
    const e = entry;
    e.listeners.add(listener);
    listener(e.level);
    return () => e.listeners.delete(listener);
  }

  const io = new GpiodIo({
    write(n, level) {
      if (closed) return;
      const out = outputs.get(n);
      if (out) return out.setValue(level);
      const p = pwms.get(n);
      if (p) return p.setDutyNs(level ? p.periodNs : 0);
      throw new HardwareError("BOARD_NOT_READY", `GPIO${n} is not an output of the pin map`);
    },
    pwm(n, value) {
      if (closed) return;
      const p = pwms.get(n);
      // 0..255 (johnny-five's PWM resolution) onto the period in ns.
      if (p) return p.setDutyNs(Math.round((Math.max(0, Math.min(255, value)) * p.periodNs) / 255));
      const out = outputs.get(n);
      if (out) return out.setValue(value > 0 ? 1 : 0);
      throw new HardwareError("BOARD_NOT_READY", `GPIO${n} is not an output of the pin map`);
    },
    read(n, cb) {
      watch(n, "none", 0, cb);
    },
  });
  let j5io: IoPlugin;
  try {
    j5io = await startJohnnyFive(io, clock, 5_000);
  } catch (err) {
    closed = true;
    await releaseAll();
    throw err;
  }
  return {
    kind: "gpiod",
    io: j5io,
    chip: { path: found.path, label: found.label },
    pwm: pwmReport,
    resolvePin: (pin: PinName) => bcmNumber(pin, "pin"),
    ...(binding.readTextFile ? { readTextFile: binding.readTextFile.bind(binding) } : {}),
    watchInput(pin, pull, onLevel) {
      const n = bcmNumber(pin, "pin");
      // The flow meter (no pull in the pin maps) gets no debounce: its pulses are a few ms apart at full flow.
      return watch(n, pull, pull === "none" ? 0 : SWITCH_DEBOUNCE_US, onLevel);
    },
    async close() {
      if (closed) return;
      closed = true;
      await releaseAll();
    },
  };
}

interface GpiodLines {
  write(offset: number, level: Level): void;
  pwm(offset: number, value: number): void;
  read(offset: number, cb: (l: Level) => void): void;
}

/** The johnny-five IO-plugin face of the gpiod board (the same interface raspi-io, firmata-io and the sim implement). */
class GpiodIo extends EventEmitter implements IoPlugin {
  readonly name = "zapvend-gpiod";
  readonly MODES = { INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4, PULLUP: 11 } as const;
  readonly HIGH = 1;
  readonly LOW = 0;
  readonly defaultLed = 0;
  // The Pi's header: GPIO0..27 (johnny-five sizes its pin table from this).
  readonly pins = Array.from({ length: 28 }, () => ({ supportedModes: [0, 1, 3, 11], mode: 0, value: 0, report: 1, analogChannel: 127 }));
  readonly analogPins: number[] = [];
  readonly RESOLUTION = { ADC: 1023, DAC: null, PWM: 255 };
  isReady = true;

  constructor(private readonly lines: GpiodLines) {
    super();
  }

  // Lines are requested with their direction when the board opens (outputs at their safe level) or first watched.
  pinMode(_pin: string | number, _mode: number): this {
    return this;
  }

  digitalWrite(pin: string | number, value: number): this {
    this.lines.write(Number(pin), value ? 1 : 0);
    return this;
  }

  pwmWrite(pin: string | number, value: number): this {
    this.lines.pwm(Number(pin), value);
    return this;
  }

  analogWrite(pin: string | number, value: number): this {
    return this.pwmWrite(pin, value);
  }

  digitalRead(pin: string | number, cb: (value: number) => void): this {
    this.lines.read(Number(pin), cb);
    return this;
  }

  analogRead(): this {
    throw new HardwareError("BOARD_NOT_READY", "the Raspberry Pi has no analog input");
  }

  normalize(pin: string | number): string | number {
    return pin;
  }
}
