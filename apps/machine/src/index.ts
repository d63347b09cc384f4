/**
 * @zapvend/machine — the daemon on the Pi: `Machine` wires hal + payments + controller + bridge from one config
 * and serves the kiosk (HTTP API + WebSocket of DESIGN.md). The bin is `zapvend-machine --config <file>`.
 */
export { Machine, VERSION, type StartMachineOptions } from "./machine.js";
export { MachineServer, ApiFailure, type MachineApi, type MachineApiEvents, type MachineServerOptions } from "./http-server.js";
export { ServiceAuth, hashPin, verifyPin } from "./service-auth.js";
export { createLogger, type Logger } from "./log.js";
