import type { InputPin } from "@zapvend/protocol";
import type { BoardIo, Level } from "../io.js";

/**
 * A two-state sensor (switch, IR beam): `active` is true when the sensor reports what it detects (cup present,
 * beam broken, door closed, spiral at home), whatever the wiring's polarity. `null` until the board reported
 * the line once.
 */
export class DigitalSensor {
  #active: boolean | null = null;
  #changedAtMs: number | null = null;
  readonly #listeners = new Set<(active: boolean) => void>();
  readonly #unwatch: () => void;

  constructor(board: BoardIo, readonly pins: InputPin, private readonly now: () => number) {
    this.#unwatch = board.watchInput(pins.pin, pins.pull, (level: Level) => {
      const active = pins.activeLow ? level === 0 : level === 1;
      if (active === this.#active) return;
      this.#active = active;
      this.#changedAtMs = this.now();
      for (const l of [...this.#listeners]) l(active);
    });
  }

  get active(): boolean | null {
    return this.#active;
  }

  /** When the reading last changed (clock ms), or null. */
  get changedAtMs(): number | null {
    return this.#changedAtMs;
  }

  onChange(listener: (active: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  dispose(): void {
    this.#listeners.clear();
    this.#unwatch();
  }
}

/** IR beam under the spirals: active while a falling product breaks it. */
export class DropSensor extends DigitalSensor {}
/** Door switch: active while the door is closed. */
export class DoorSwitch extends DigitalSensor {}
/** Cup at the nozzle: active while a cup is present. */
export class CupSensor extends DigitalSensor {}
/** Spiral home/index switch: active while the spiral is at home. */
export class HomeSwitch extends DigitalSensor {}
