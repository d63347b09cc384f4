/**
 * @zapvend/hal/sim — the sim board's physics and fault injection, for tests, the harness (`--sim-fault`) and the
 * demo. Open a sim machine with `openHardware({ board: { kind: "sim", ... } })` and script it with `simOf(hardware)`.
 */
import type { Hardware } from "../hardware.js";
import type { SimMachine } from "./machine.js";
import { simMachines } from "./registry.js";

export { SimFault, SIM_FAULTS, SimMachine, isSimFault, type SimOptions, type SimPhysicalEvent, type PinWrite } from "./machine.js";

/** The physics behind a Hardware opened on the sim board, or null for a real board. */
export function simOf(hardware: Hardware): SimMachine | null {
  return simMachines.get(hardware) ?? null;
}
export { FakeGpiodBinding, type FakeGpiodOptions, type FakeLine, type FakePwmChannel } from "./fake-gpiod.js";
