// The part of johnny-five's IO-plugin interface the drivers use. raspi-io, firmata-io and the sim board all
// implement it; johnny-five's Board wraps whichever one is chosen (see boards/j5.ts).
import type { PinName } from "@zapvend/protocol";

export type Level = 0 | 1;

export interface IoPlugin {
  readonly name: string;
  readonly MODES: { INPUT: number; OUTPUT: number; ANALOG: number; PWM: number; PULLUP?: number };
  readonly HIGH: number;
  readonly LOW: number;
  pinMode(pin: string | number, mode: number): unknown;
  digitalWrite(pin: string | number, value: number): unknown;
  pwmWrite(pin: string | number, value: number): unknown;
  digitalRead(pin: string | number, cb: (value: number) => void): unknown;
  analogRead(pin: string | number, cb: (value: number) => void): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * A board brought up and ready: the IO plugin plus what only the board knows how to do well.
 */
export interface BoardIo {
  readonly kind: "sim" | "raspi" | "firmata" | "gpiod";
  readonly io: IoPlugin;
  /** The pin as this board's IO plugin names it ("GPIO17" stays for raspi-io; "A0" -> 14 on an Uno). */
  resolvePin(pin: PinName): string | number;
  /**
   * Every level change of an input, none lost. The sim reports exact edges; Firmata reports every port change
   * from the Arduino's main loop (microseconds apart); on the Pi, raspi-io polls and would lose flow pulses, so
   * the raspi board takes edges from pigpio's alerts (sampled by the daemon every 5 us and queued).
   */
  watchInput(pin: PinName, pull: "up" | "down" | "none", onLevel: (level: Level) => void): () => void;
  /** The board's view of the kernel's sysfs text files (the 1-Wire thermometer), when its binding has one (the fake gpiod binding). */
  readTextFile?(path: string): Promise<string>;
  /** The board's own temperature source when it has one (the sim's physics); else the driver reads the pin map's sensor. */
  readTemperatureC?(): number | null;
  close(): Promise<void>;
}

/**
 * Fan-out of one IO plugin's `digitalRead` per pin: the IO-plugin interface has no way to unsubscribe, so each pin
 * is subscribed once and listeners come and go here. Duplicate reports (Firmata reports the whole port) are
 * dropped, so a listener sees changes only.
 */
export class InputHub {
  readonly #pins = new Map<string, { level: Level | null; listeners: Set<(l: Level) => void> }>();

  constructor(
    private readonly subscribe: (pin: string | number, onValue: (value: number) => void) => void,
  ) {}

  watch(pin: string | number, listener: (l: Level) => void): () => void {
    const key = String(pin);
    let entry = this.#pins.get(key);
    if (!entry) {
      const e = { level: null as Level | null, listeners: new Set<(l: Level) => void>() };
      this.#pins.set(key, e);
      entry = e;
      this.subscribe(pin, (value) => {
        const level: Level = value ? 1 : 0;
        if (level === e.level) return;
        e.level = level;
        for (const l of [...e.listeners]) l(level);
      });
    }
    const e = entry;
    e.listeners.add(listener);
    if (e.level !== null) listener(e.level);
    return () => e.listeners.delete(listener);
  }
}
