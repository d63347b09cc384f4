import type { L298nChannel } from "@zapvend/protocol";
import type { BoardIo } from "../io.js";

export const PumpState = { COAST: "coast", FORWARD: "forward", BRAKE: "brake" } as const;
export type PumpState = (typeof PumpState)[keyof typeof PumpState];

/**
 * A DC pump on one L298N channel: EN takes the PWM duty, IN1/IN2 set the direction.
 * forward: IN1 = HIGH, IN2 = LOW, then EN = duty. fast brake: IN1 = IN2 = HIGH with EN HIGH (the bridge shorts the
 * motor, which stops it within a few ms: less overpour than coasting). coast: EN LOW, then IN1 = IN2 = LOW (the
 * safe level at rest: nothing is driven).
 */
export class Pump {
  #state: PumpState = PumpState.COAST;
  readonly #en: string | number;
  readonly #in1: string | number;
  readonly #in2: string | number;

  constructor(private readonly board: BoardIo, pins: L298nChannel) {
    this.#en = board.resolvePin(pins.en);
    this.#in1 = board.resolvePin(pins.in1);
    this.#in2 = board.resolvePin(pins.in2);
    const { io } = board;
    io.pinMode(this.#en, io.MODES.PWM);
    io.pinMode(this.#in1, io.MODES.OUTPUT);
    io.pinMode(this.#in2, io.MODES.OUTPUT);
    this.coast();
  }

  get state(): PumpState {
    return this.#state;
  }

  /** Runs forward at `dutyPercent` (1..100). */
  forward(dutyPercent: number): void {
    const { io } = this.board;
    const duty = Math.round((Math.min(100, Math.max(0, dutyPercent)) * 255) / 100);
    // Direction is set with EN still low so the bridge never passes through a brake or reverse state while on.
    io.pwmWrite(this.#en, 0);
    io.digitalWrite(this.#in1, io.HIGH);
    io.digitalWrite(this.#in2, io.LOW);
    io.pwmWrite(this.#en, duty);
    this.#state = PumpState.FORWARD;
  }

  /** L298N fast brake: IN1 = IN2 = HIGH with EN HIGH. */
  brake(): void {
    const { io } = this.board;
    io.digitalWrite(this.#in1, io.HIGH);
    io.digitalWrite(this.#in2, io.HIGH);
    io.pwmWrite(this.#en, 255);
    this.#state = PumpState.BRAKE;
  }

  /** EN LOW, IN1 = IN2 = LOW: the motor is free and nothing is driven (the safe level). */
  coast(): void {
    const { io } = this.board;
    io.pwmWrite(this.#en, 0);
    io.digitalWrite(this.#in1, io.LOW);
    io.digitalWrite(this.#in2, io.LOW);
    this.#state = PumpState.COAST;
  }
}
