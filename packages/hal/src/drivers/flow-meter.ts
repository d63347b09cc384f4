import type { PinName } from "@zapvend/protocol";
import type { BoardIo } from "../io.js";

/**
 * A Hall-effect flow meter (YF-S201 / YF-S401 class): one pulse per fixed volume. Pulses are counted on rising
 * edges from the board's edge source, never by sampling the pin: at 30 ml/s a YF-S401 gives ~175 pulses/s, which
 * johnny-five's Pin sampling and raspi-io's polling both miss.
 */
export class FlowMeter {
  #pulses = 0;
  #last: 0 | 1 | null = null;
  readonly #listeners = new Set<(pulses: number) => void>();
  readonly #unwatch: () => void;

  constructor(board: BoardIo, pin: PinName, public pulsesPerLitre: number) {
    this.#unwatch = board.watchInput(pin, "none", (level) => {
      const rising = this.#last === 0 && level === 1;
      this.#last = level;
      if (!rising) return;
      this.#pulses++;
      for (const l of [...this.#listeners]) l(this.#pulses);
    });
  }

  /** Pulses since the board came up. Operations take differences, so the count is never reset under them. */
  get pulses(): number {
    return this.#pulses;
  }

  millilitres(pulses: number): number {
    return (pulses * 1000) / this.pulsesPerLitre;
  }

  onPulse(listener: (totalPulses: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  dispose(): void {
    this.#listeners.clear();
    this.#unwatch();
  }
}
