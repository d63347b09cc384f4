// An Arduino running StandardFirmata over USB serial. The transport is a modern `serialport` (an optional
// dependency with prebuilt bindings, loaded only here) handed to `firmata-io`, rather than the `firmata` package's
// own serialport@8, whose native build needs an install script.
import type { Pinmap, PinName } from "@zapvend/protocol";
import type { Clock } from "../clock.js";
import { HalInputError, HardwareError } from "../errors.js";
import { InputHub, type BoardIo, type IoPlugin } from "../io.js";
import { pinsOf } from "../pinmap-file.js";
import { startJohnnyFive } from "./j5.js";

/** StandardFirmata's baud rate. */
const BAUD_RATE = 57_600;

interface FirmataCtor {
  new (transport: unknown, options?: Record<string, unknown>): IoPlugin;
}

/** Arduino Uno pin numbers: D0..D13, then A0..A5 as 14..19 for digital use; analogRead takes the channel number. */
export function resolveFirmataPin(pin: PinName, path: string): number {
  if (typeof pin === "number") return pin;
  if (/^A[0-9]{1,2}$/.test(pin)) return Number(pin.slice(1));
  if (/^[0-9]{1,3}$/.test(pin)) return Number(pin);
  throw new HalInputError("bad_value", `${path}: an Arduino pin is a number or an analog name ("A0"), not "${pin}"`, path);
}

export async function openFirmataBoard(pinmap: Pinmap, clock: Clock, port: string | undefined): Promise<BoardIo> {
  for (const { pin, path } of pinsOf(pinmap)) resolveFirmataPin(pin, path);
  if (pinmap.thermometer?.kind === "ds18b20") {
    throw new HalInputError("bad_value", "a DS18B20 is read through the Pi's 1-Wire sysfs: on an Arduino use a TMP36 on an analog pin", "thermometer.kind");
  }
  if (!port) throw new HalInputError("missing_field", "board.port is required for a Firmata board, e.g. /dev/ttyACM0", "board.port");
  let SerialPort: new (opts: { path: string; baudRate: number }) => unknown;
  try {
    ({ SerialPort } = (await import("serialport")) as unknown as { SerialPort: typeof SerialPort });
  } catch (err) {
    throw new HardwareError(
      "BOARD_NOT_READY",
      `the Firmata board needs the optional dependency "serialport" (npm install -w @zapvend/hal serialport): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const bindTransport = (await import("firmata-io")).default as unknown as { Firmata: FirmataCtor };
  const transport = new SerialPort({ path: port, baudRate: BAUD_RATE });
  // The Arduino resets when the port opens and StandardFirmata takes ~2 s to answer: hence the long ready timeout.
  const io = await startJohnnyFive(new bindTransport.Firmata(transport), clock, 10_000);
  const hub = new InputHub((pin, cb) => io.digitalRead(pin, cb));
  return {
    kind: "firmata",
    io,
    resolvePin: (pin) => resolveFirmataPin(pin, "pin"),
    watchInput(pin, pull, onLevel) {
      const n = resolveFirmataPin(pin, "pin");
      // Firmata reports every change of a port from the Arduino's main loop (microseconds apart, and at 57 600 baud
      // ~1 900 reports/s): fast enough to be the flow meter's edge source up to a few hundred pulses per second.
      io.pinMode(n, pull === "up" && io.MODES.PULLUP !== undefined ? io.MODES.PULLUP : io.MODES.INPUT);
      return hub.watch(n, onLevel);
    },
    async close() {
      const t = transport as { close?: (cb: () => void) => void; isOpen?: boolean };
      if (t.isOpen && t.close) await new Promise<void>((resolve) => t.close!(() => resolve()));
    },
  };
}
