/**
 * @zapvend/hal/mdb-sim — the sim VMC: a vending machine controller behind a Qibixx-like MDB interface, on the far
 * end of a socat pseudo-terminal pair, so the MDB device's real `serialport` path runs in tests and in the demo.
 */
export { startSimVmc, SimVmc, type SimVmcOptions, type SimVmcSelection, type SimVmcStatus, type SimVmcPhase, type SimVmcLogEntry, type SimVmcEvents, type SimVmcDirection, type SimVmcPhysicalEvent } from "./vmc.js";
export { openPtyPair, type PtyPair } from "./pty.js";
export { SimVmcError, SimVmcErrorCode } from "./errors.js";
