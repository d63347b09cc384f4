/**
 * @zapvend/hal/mdb — the MDB cashless device: zapvend as the payment reader of a vending machine that has its own
 * controller (VMC), through a Qibixx MDB Pi HAT or MDB-USB interface and its cashless-slave ASCII API.
 * `serialport` (an optional dependency of hal) is loaded only when a device opens.
 */
export { openMdbDevice, QIBIXX_BAUD_RATE } from "./device.js";
export {
  MdbState,
  MdbCancelReason,
  type MdbSettings,
  type ResolvedMdbSettings,
  type MdbVendRequest,
  type MdbDeviceEvents,
  type MdbCashlessDevice,
  type MdbStats,
  type OpenMdbDeviceOptions,
} from "./types.js";
export { MdbError, MdbErrorCode } from "./errors.js";
export { unitsToMinor, minorToUnits, parseAmountText, formatAmountText, resolveMdbSettings, MAX_PRICE_UNITS } from "./amount.js";
export { parseHatLine, parseHostCommand, setconfCommands, LineSplitter, type HatLine, type HostCommand, type ParseResult } from "./protocol.js";
export { runMdbChecks, MDB_CHECK_NAMES, type MdbCheckContext } from "./checks.js";
