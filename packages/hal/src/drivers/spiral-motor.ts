import type { PinName } from "@zapvend/protocol";
import type { BoardIo } from "../io.js";

/** A spiral's motor behind a MOSFET or relay: HIGH turns it, LOW (the safe level) stops it. */
export class SpiralMotor {
  #running = false;
  readonly #pin: string | number;

  constructor(private readonly board: BoardIo, pin: PinName) {
    this.#pin = board.resolvePin(pin);
    board.io.pinMode(this.#pin, board.io.MODES.OUTPUT);
    this.off();
  }

  get running(): boolean {
    return this.#running;
  }

  on(): void {
    this.board.io.digitalWrite(this.#pin, this.board.io.HIGH);
    this.#running = true;
  }

  off(): void {
    this.board.io.digitalWrite(this.#pin, this.board.io.LOW);
    this.#running = false;
  }
}
