// The gpiod board's binding: the part of the Linux GPIO character device (and of the kernel's sysfs PWM) the board
// uses, as an interface, so the board runs over the real binding on a Pi and over a fake one in CI (serialport's
// binding pattern: interface, real binding, mock binding as separate pieces, one test suite over both).
//
// Upstream contract this mirrors: the kernel's GPIO v2 uAPI (include/uapi/linux/gpio.h: a line request carries
// direction, bias, edge detection and debounce; an edge event carries the line offset, rising/falling and a
// kernel timestamp in ns) and the sysfs PWM ABI (Documentation/ABI/testing/sysfs-class-pwm: pwmchipN/export,
// pwmN/period, pwmN/duty_cycle, pwmN/enable, all in ns), as of Linux 6.6 (Raspberry Pi OS bookworm and trixie).
import type { Level } from "../../io.js";

export type LineBias = "pull-up" | "pull-down" | "disabled";

/** A GPIO chip as the kernel lists it: `/dev/gpiochipN`, its label ("pinctrl-rp1") and its number of lines. */
export interface GpioChipInfo {
  path: string;
  label: string;
  lines: number;
}

/** One edge of an input line. `timestampNs`: the kernel's timestamp of the edge, when the binding passes it on. */
export interface EdgeEvent {
  level: Level;
  timestampNs: bigint | null;
}

export interface OutputLine {
  setValue(level: Level): void;
  release(): void;
}

export interface InputLine {
  /** The level read when the line was requested (edges follow through `onEdge`). */
  readonly initialLevel: Level;
  release(): void;
}

export interface InputRequest {
  bias: LineBias;
  /** Kernel debounce, µs (0: none). */
  debounceUs: number;
}

export interface GpioChip {
  readonly info: GpioChipInfo;
  /** Requests a line as an output, driven to `initial` by the request itself (no glitch to another level). */
  requestOutput(offset: number, initial: Level, consumer: string): OutputLine;
  /** Requests a line as an input with bias and edge detection on both edges; every edge reaches `onEdge`. */
  requestInput(offset: number, request: InputRequest, consumer: string, onEdge: (event: EdgeEvent) => void): InputLine;
  close(): void;
}

/** A sysfs PWM chip: `/sys/class/pwm/pwmchipN`, the `compatible` of its device-tree node, its number of channels. */
export interface PwmChipInfo {
  path: string;
  compatible: string[];
  channels: number;
}

export interface PwmOutput {
  readonly periodNs: number;
  /** Duty in ns, 0..periodNs. Synchronous (one sysfs write), so it keeps its order with the line writes around it. */
  setDutyNs(dutyNs: number): void;
  /** Duty 0, disabled, unexported. */
  close(): Promise<void>;
}

export interface GpiodBinding {
  /** For logs and errors: which binding this is ("@iiot2k/gpiox", "fake"). */
  readonly name: string;
  listChips(): Promise<GpioChipInfo[]>;
  openChip(chip: GpioChipInfo): Promise<GpioChip>;
  listPwmChips(): Promise<PwmChipInfo[]>;
  /**
   * Reads a sysfs text file the machine's sensors live in (the DS18B20's `/sys/bus/w1/devices/<id>/temperature`).
   * Absent: the files themselves are read. The fake binding serves them from its physics.
   */
  readTextFile?(path: string): Promise<string>;
  /** Exports a channel, sets the period, duty 0, enables it. */
  openPwm(chip: PwmChipInfo, channel: number, periodNs: number): Promise<PwmOutput>;
}
