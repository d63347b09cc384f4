// A Raspberry Pi through raspi-io (an optional dependency, arm only, imported only when this board is chosen).
// raspi-io stands on pigpio: it needs the pigpio C library, root, and does not support the Raspberry Pi 5 (the gpiod
// board drives every Pi, the Pi 5 included: boards/gpiod/).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Pinmap, PinName } from "@zapvend/protocol";
import type { Clock } from "../clock.js";
import { HalInputError, HardwareError } from "../errors.js";
import type { BoardIo, Level } from "../io.js";
import { pinsOf } from "../pinmap-file.js";
import { startJohnnyFive } from "./j5.js";

interface PigpioGpio {
  digitalRead(): number;
  glitchFilter(steadyUs: number): unknown;
  on(event: "alert", listener: (level: number, tick: number) => void): unknown;
  removeListener(event: "alert", listener: (level: number, tick: number) => void): unknown;
  disableAlert(): unknown;
}
interface PigpioModule {
  Gpio: {
    new (gpio: number, options: { mode: number; pullUpDown: number; alert: boolean }): PigpioGpio;
    INPUT: number;
    PUD_OFF: number;
    PUD_DOWN: number;
    PUD_UP: number;
  };
}

/** "GPIO17" -> 17. The Pi's pin maps use BCM names only: a bare number would be read as a WiringPi number by raspi-io. */
export function bcmNumber(pin: PinName, path: string): number {
  const m = typeof pin === "string" ? /^GPIO([0-9]{1,2})$/.exec(pin) : null;
  if (!m) throw new HalInputError("bad_value", `${path}: a Raspberry Pi pin is a BCM name such as "GPIO17", not ${JSON.stringify(pin)}`, path);
  return Number(m[1]);
}

function checkPins(pinmap: Pinmap): void {
  for (const { pin, path } of pinsOf(pinmap)) bcmNumber(pin, path);
  if (pinmap.thermometer?.kind === "tmp36") {
    throw new HalInputError("bad_value", "the Raspberry Pi has no analog input: use a DS18B20 on the 1-Wire bus", "thermometer.kind");
  }
}

export async function openRaspiBoard(pinmap: Pinmap, clock: Clock): Promise<BoardIo> {
  checkPins(pinmap);
  const model = await readFile("/proc/device-tree/model", "utf8").catch(() => "");
  if (model.includes("Raspberry Pi 5")) {
    throw new HardwareError("BOARD_NOT_READY", "raspi-io (pigpio) does not support the Raspberry Pi 5: use the gpiod board (board.kind \"gpiod\", --board gpiod), which drives every Pi through the GPIO character device");
  }
  let RaspiIO: new (opts: Record<string, unknown>) => unknown;
  let pigpio: PigpioModule;
  try {
    ({ RaspiIO } = (await import("raspi-io")) as unknown as { RaspiIO: typeof RaspiIO });
    // The pigpio that raspi-io itself initialised (one per process), found from raspi-gpio's location.
    const fromRaspi = createRequire(createRequire(import.meta.url).resolve("raspi-io"));
    pigpio = createRequire(fromRaspi.resolve("raspi-gpio"))("pigpio") as PigpioModule;
  } catch (err) {
    throw new HardwareError(
      "BOARD_NOT_READY",
      `the raspi board needs the optional dependency "raspi-io" and the pigpio C library (on the Pi: sudo apt install pigpio; npm install -w @zapvend/hal raspi-io): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const io = await startJohnnyFive(new RaspiIO({ enableSoftPwm: false }), clock, 10_000);
  const gpios = new Map<number, PigpioGpio>();
  return {
    kind: "raspi",
    io,
    // raspi-io takes BCM names as they are written in the pin map.
    resolvePin: (pin) => (bcmNumber(pin, "pin"), pin),
    watchInput(pin, pull, onLevel: (l: Level) => void) {
      const n = bcmNumber(pin, "pin");
      let gpio = gpios.get(n);
      if (!gpio) {
        const { Gpio } = pigpio;
        gpio = new Gpio(n, { mode: Gpio.INPUT, pullUpDown: pull === "up" ? Gpio.PUD_UP : pull === "down" ? Gpio.PUD_DOWN : Gpio.PUD_OFF, alert: true });
        // pigpio samples every 5 us and queues each change with its tick: no edge is lost, unlike raspi-io's polling.
        // A 100 us steady filter removes contact bounce shorter than any real pulse (a YF-S401 at full flow: ~3 ms).
        gpio.glitchFilter(100);
        gpios.set(n, gpio);
      }
      const g = gpio;
      let last: Level = g.digitalRead() ? 1 : 0;
      onLevel(last);
      const listener = (level: number) => {
        const l: Level = level ? 1 : 0;
        if (l === last) return;
        last = l;
        onLevel(l);
      };
      g.on("alert", listener);
      return () => g.removeListener("alert", listener);
    },
    async close() {
      for (const g of gpios.values()) g.disableAlert();
    },
  };
}
