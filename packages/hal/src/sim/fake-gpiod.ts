// The fake gpiod binding: the GPIO character device and the sysfs PWM of a Raspberry Pi, as the gpiod board sees
// them through its binding interface, with the sim's physics behind the lines. The gpiod board runs the hal
// contract suite and the harness over it in CI, pin for pin as on a real Pi. It behaves as the kernel does where
// the board depends on it: a line is held by one request at a time (EBUSY otherwise), an output takes its level in
// the request itself, an input reports its level at the request and then every edge with a timestamp, a PWM channel
// starts at duty 0 and drives its pin only where the overlay routed it.
import type { Pinmap } from "@zapvend/protocol";
import type { Clock } from "../clock.js";
import type { EdgeEvent, GpioChip, GpioChipInfo, GpiodBinding, InputRequest, PwmChipInfo, PwmOutput } from "../boards/gpiod/binding.js";
import type { Level } from "../io.js";
import { SimMachine, type SimOptions } from "./machine.js";

const FAKE_DS18B20_ID = "28-00000a5e1d01";

export interface FakeGpiodOptions {
  /** The GPIO chip's label. Default "pinctrl-rp1" (a Pi 5). */
  label?: string;
  /** The chips the kernel lists. Default: one, `/dev/gpiochip0` with `label`, 54 lines. `[]`: no GPIO chip at all. */
  chips?: GpioChipInfo[];
  /**
   * The PWM overlay: which GPIO each PWM channel is routed to, as `dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4`
   * routes channels 0 and 1 to GPIO12 and GPIO13 (the default). `null`: no PWM overlay, no PWM chip.
   */
  pwmOverlay?: Record<number, number> | null;
  /** Physics of the sim behind the lines. */
  sim?: SimOptions;
}

export interface FakeLine {
  offset: number;
  direction: "output" | "input";
  consumer: string;
  /** Outputs: the level the request set. */
  initial?: Level;
  bias?: InputRequest["bias"];
  debounceUs?: number;
}

export interface FakePwmChannel {
  channel: number;
  periodNs: number;
  dutyNs: number;
  enabled: boolean;
  exported: boolean;
}

const PWM_COMPATIBLE: Record<string, { compatible: string; channels: number }> = {
  "pinctrl-rp1": { compatible: "raspberrypi,rp1-pwm", channels: 4 },
  "pinctrl-bcm2711": { compatible: "brcm,bcm2835-pwm", channels: 2 },
  "pinctrl-bcm2835": { compatible: "brcm,bcm2835-pwm", channels: 2 },
};

export class FakeGpiodBinding implements GpiodBinding {
  readonly name = "fake";
  readonly machine: SimMachine;
  /** Every line request in order (also released ones): what a test checks bias and edge detection on. */
  readonly requests: FakeLine[] = [];
  /** Lines held now, by offset. */
  readonly held = new Map<number, FakeLine>();
  /** The chips opened, by path, in order. */
  readonly openedChips: string[] = [];
  /** PWM channels as the sysfs files would read now. */
  readonly pwm = new Map<number, FakePwmChannel>();
  readonly #chips: GpioChipInfo[];
  readonly #label: string;
  readonly #overlay: Record<number, number> | null;
  readonly #clock: Clock;
  readonly #outputs = new Map<number, Level>();

  constructor(pinmap: Pinmap, clock: Clock, options: FakeGpiodOptions = {}) {
    this.#clock = clock;
    this.#label = options.label ?? "pinctrl-rp1";
    this.#chips = options.chips ?? [{ path: "/dev/gpiochip0", label: this.#label, lines: 54 }];
    this.#overlay = options.pwmOverlay === undefined ? { 0: 12, 1: 13 } : options.pwmOverlay;
    this.machine = new SimMachine(pinmap, clock, options.sim ?? {});
  }

  /** The level an output line was last driven to (0 when never). */
  output(offset: number): Level {
    return this.#outputs.get(offset) ?? 0;
  }

  async listChips(): Promise<GpioChipInfo[]> {
    return this.#chips.map((c) => ({ ...c }));
  }

  async openChip(info: GpioChipInfo): Promise<GpioChip> {
    if (!this.#chips.some((c) => c.path === info.path)) throw new Error(`ENOENT: ${info.path}`);
    this.openedChips.push(info.path);
    const take = (line: FakeLine) => {
      if (this.held.has(line.offset)) throw new Error(`EBUSY: line ${line.offset} is held by ${this.held.get(line.offset)!.consumer}`);
      if (line.offset >= info.lines) throw new Error(`EINVAL: ${info.path} has ${info.lines} lines`);
      this.held.set(line.offset, line);
      this.requests.push(line);
    };
    const letGo = (offset: number, line: FakeLine) => {
      if (this.held.get(offset) === line) this.held.delete(offset);
    };
    return {
      info,
      requestOutput: (offset, initial, consumer) => {
        const line: FakeLine = { offset, direction: "output", consumer, initial };
        take(line);
        this.#drive(offset, initial);
        return {
          setValue: (level) => {
            if (this.held.get(offset) !== line) throw new Error(`EPERM: line ${offset} is not requested`);
            this.#drive(offset, level);
          },
          release: () => letGo(offset, line),
        };
      },
      requestInput: (offset, req, consumer, onEdge: (e: EdgeEvent) => void) => {
        const line: FakeLine = { offset, direction: "input", consumer, bias: req.bias, debounceUs: req.debounceUs };
        take(line);
        let initialLevel: Level | null = null;
        // The sim reports the level now, then each change: the first report is the request's read, the rest are edges.
        this.machine.subscribe(`GPIO${offset}`, (v) => {
          const level: Level = v ? 1 : 0;
          if (initialLevel === null) {
            initialLevel = level;
            return;
          }
          if (this.held.get(offset) !== line) return;
          onEdge({ level, timestampNs: BigInt(Math.round(this.#clock.now() * 1_000)) * 1_000n });
        });
        return { initialLevel: initialLevel ?? 0, release: () => letGo(offset, line) };
      },
      // The board closes the chip last: the physics behind it stops with it, as the sim board's does.
      close: () => this.machine.stop(),
    };
  }

  /** The kernel's w1-therm files of one DS18B20  at the physics' temperature, in m°C. */
  async readTextFile(file: string): Promise<string> {
    if (file === "/sys/bus/w1/devices/w1_bus_master1/w1_master_slaves") return `${FAKE_DS18B20_ID}\n`;
    if (file === `/sys/bus/w1/devices/${FAKE_DS18B20_ID}/temperature`) return `${Math.round(this.machine.temperatureC * 1000)}\n`;
    throw Object.assign(new Error(`ENOENT: no such file, open '${file}'`), { code: "ENOENT" });
  }

  async listPwmChips(): Promise<PwmChipInfo[]> {
    const pwm = PWM_COMPATIBLE[this.#label];
    if (!this.#overlay || !pwm) return [];
    return [{ path: "/sys/class/pwm/pwmchip0", compatible: [pwm.compatible], channels: pwm.channels }];
  }

  async openPwm(chip: PwmChipInfo, channel: number, periodNs: number): Promise<PwmOutput> {
    if (channel >= chip.channels) throw new Error(`EINVAL: ${chip.path} has ${chip.channels} channels`);
    const state: FakePwmChannel = { channel, periodNs, dutyNs: 0, enabled: true, exported: true };
    this.pwm.set(channel, state);
    const gpio = this.#overlay?.[channel];
    const apply = () => {
      // Only a pin the overlay routed to this channel moves; the physics takes johnny-five's 0..255 duty.
      if (gpio !== undefined) this.machine.write(`GPIO${gpio}`, "pwm", state.enabled ? Math.round((state.dutyNs * 255) / state.periodNs) : 0);
    };
    apply();
    return {
      periodNs,
      setDutyNs: (dutyNs) => {
        if (!state.exported) throw new Error(`ENODEV: pwm${channel} is not exported`);
        if (dutyNs < 0 || dutyNs > state.periodNs) throw new Error(`EINVAL: duty ${dutyNs} ns outside the period`);
        state.dutyNs = dutyNs;
        apply();
      },
      close: async () => {
        state.dutyNs = 0;
        state.enabled = false;
        apply();
        state.exported = false;
      },
    };
  }

  #drive(offset: number, level: Level): void {
    this.#outputs.set(offset, level);
    this.machine.write(`GPIO${offset}`, "digital", level);
  }
}
