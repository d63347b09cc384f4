import { EventEmitter } from "node:events";
import type { SimMachine } from "./machine.js";

/**
 * The sim board as a johnny-five IO plugin: the same interface raspi-io and firmata implement, so johnny-five and
 * every driver above it run unchanged on the sim. Pin names are the pin map's, as written.
 */
export class SimIo extends EventEmitter {
  readonly name = "zapvend-sim";
  readonly MODES = { INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4, PULLUP: 11 } as const;
  readonly HIGH = 1;
  readonly LOW = 0;
  readonly defaultLed = 0;
  // johnny-five sizes its pin table from these; the sim accepts any pin name, so a generic table suffices.
  readonly pins = Array.from({ length: 64 }, () => ({ supportedModes: [0, 1, 2, 3, 11], mode: 0, value: 0, report: 1, analogChannel: 127 }));
  readonly analogPins: number[] = [];
  readonly RESOLUTION = { ADC: 1023, DAC: null, PWM: 255 };
  isReady = true;

  constructor(readonly machine: SimMachine) {
    super();
  }

  pinMode(_pin: string | number, _mode: number): this {
    return this;
  }

  digitalWrite(pin: string | number, value: number): this {
    this.machine.write(pin, "digital", value ? 1 : 0);
    return this;
  }

  pwmWrite(pin: string | number, value: number): this {
    this.machine.write(pin, "pwm", Math.max(0, Math.min(255, Math.round(value))));
    return this;
  }

  analogWrite(pin: string | number, value: number): this {
    return this.pwmWrite(pin, value);
  }

  digitalRead(pin: string | number, cb: (value: number) => void): this {
    this.machine.subscribe(pin, cb);
    return this;
  }

  analogRead(pin: string | number, cb: (value: number) => void): this {
    this.machine.subscribeAnalog(pin, cb);
    return this;
  }

  normalize(pin: string | number): string | number {
    return pin;
  }
}
