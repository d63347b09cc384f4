import type { SimMachine } from "./machine.js";

/** Which open Hardware runs on which sim machine, so `simOf(hardware)` can script it without widening Hardware. */
export const simMachines = new WeakMap<object, SimMachine>();
