import type { ThermometerPins } from "@zapvend/protocol";
import type { BoardIo } from "../io.js";

/** Reads the sysfs file of a DS18B20 (injected so tests need no /sys). */
export type ReadTextFile = (path: string) => Promise<string>;

/**
 * The cabinet temperature. TMP36 on an analog pin: 10 mV/°C with a 500 mV offset, read against the Arduino's 5 V
 * reference on a 10-bit ADC. DS18B20 on the Pi: the kernel's w1-therm driver does the 1-Wire timing (which user
 * space cannot do reliably) and exposes millidegrees in `/sys/bus/w1/devices/<id>/temperature`.
 */
export class Thermometer {
  #celsius: number | null = null;

  constructor(
    private readonly board: BoardIo,
    private readonly pins: ThermometerPins | undefined,
    private readonly readTextFile: ReadTextFile,
  ) {
    if (board.readTemperatureC || !pins) return;
    if (pins.kind === "tmp36") {
      // No pinMode: Firmata switches a pin to analog when its reporting is enabled, and takes the channel number.
      board.io.analogRead(board.resolvePin(pins.pin), (raw) => {
        this.#celsius = Math.round(((raw * 5000) / 1023 - 500) / 10 * 10) / 10;
      });
    }
  }

  get present(): boolean {
    return this.pins !== undefined || this.board.readTemperatureC !== undefined;
  }

  /** The latest reading in °C, or null when there is none yet (or no sensor). */
  async read(): Promise<number | null> {
    if (this.board.readTemperatureC) return this.board.readTemperatureC();
    if (this.pins?.kind === "ds18b20") {
      try {
        const id = this.pins.deviceId ?? (await this.#onlyDevice());
        const text = await this.readTextFile(`/sys/bus/w1/devices/${id}/temperature`);
        const milli = Number.parseInt(text.trim(), 10);
        // 85 °C is the DS18B20's power-on value: a reading before any conversion, not a temperature.
        this.#celsius = Number.isFinite(milli) && milli !== 85_000 ? Math.round(milli / 100) / 10 : null;
      } catch {
        this.#celsius = null;
      }
    }
    return this.#celsius;
  }

  /** The single DS18B20 the bus master lists; more than one needs a `deviceId` in the pin map. */
  async #onlyDevice(): Promise<string> {
    const ids = (await this.readTextFile("/sys/bus/w1/devices/w1_bus_master1/w1_master_slaves")).split("\n").filter((l) => l.startsWith("28-"));
    if (ids.length !== 1) throw new Error(`expected one DS18B20 on the 1-Wire bus, found ${ids.length}: set thermometer.deviceId`);
    return ids[0]!;
  }

  get lastC(): number | null {
    return this.board.readTemperatureC ? this.board.readTemperatureC() : this.#celsius;
  }
}
