import { appendFileSync } from "node:fs";
import type { Pinmap, PinName } from "@zapvend/protocol";
import type { Clock } from "../clock.js";
import { startJohnnyFive } from "../boards/j5.js";
import { InputHub, type BoardIo, type Level } from "../io.js";
import { SimMachine, type SimOptions } from "./machine.js";
import { SimIo } from "./sim-io.js";

export interface SimBoard extends BoardIo {
  readonly kind: "sim";
  readonly machine: SimMachine;
}

/** The sim board: a physics model behind a johnny-five IO plugin, brought up through johnny-five like a real board. */
export async function openSimBoard(pinmap: Pinmap, clock: Clock, options: SimOptions = {}): Promise<SimBoard> {
  const machine = new SimMachine(pinmap, clock, { ...options, onPhysical: physicalLogger(options.onPhysical) });
  const simIo = new SimIo(machine);
  const io = await startJohnnyFive(simIo, clock, 5_000);
  const hub = new InputHub((pin, cb) => io.digitalRead(pin, cb));
  return {
    kind: "sim",
    io,
    machine,
    resolvePin: (pin: PinName) => pin,
    // The sim reports every edge exactly, so digitalRead is already an edge source.
    watchInput: (pin: PinName, _pull, onLevel: (l: Level) => void) => hub.watch(pin, onLevel),
    // A TMP36 is read through analogRead like on a real board; a DS18B20 lives in the Pi's sysfs, which the sim
    // replaces with its physics.
    ...(pinmap.thermometer?.kind === "ds18b20" ? { readTemperatureC: () => machine.temperatureC } : {}),
    close: async () => machine.stop(),
  };
}

/**
 * Opt-in for crash and chaos tests: with `ZAPVEND_SIM_PHYSICAL_LOG=<file>` every physical outcome of the sim (a
 * product out, a pump on/off) is appended to that file as one JSON line, written synchronously as it happens so it
 * outlives a SIGKILL of the daemon: the record of what came out that does not come from the machine's journal.
 */
function physicalLogger(inner: SimOptions["onPhysical"]): SimOptions["onPhysical"] {
  const file = process.env.ZAPVEND_SIM_PHYSICAL_LOG;
  if (!file) return inner;
  return (event) => {
    inner?.(event);
    appendFileSync(file, `${JSON.stringify({ ...event, pid: process.pid })}\n`);
  };
}
