/**
 * @zapvend/controller — the vend cycle: the order state machine with hold invoices, the crash-safe journal,
 * inventory and the recovery after a restart. It drives ports (`VendHardware`, `PaymentsPort`, `EventSink`) that
 * the machine daemon wires to `@zapvend/hal`, `@zapvend/payments` and `@zapvend/mqtt-bridge`.
 */
export * from "./ports.js";
export * from "./errors.js";
export { Journal, openJournalDb, type OrderRecord } from "./journal.js";
export { VendController, type ControllerEvents, type ControllerOptions, type PriceQuote, type VmcRequest } from "./controller.js";
export { ControllerFaultCode, safeEvent, eventProblem } from "./events.js";
export { DirectDriveVend, type VendItem, type VendStep, type VendStepStatus } from "./vend-step.js";
export { VmcSales, MdbVendCode, vmcUnitsToMinor, currencyMinorDigits, type VmcSalesOptions, type VmcTestVendResult } from "./mdb/vmc-sales.js";
export type { MdbPort, MdbPortEvents, MdbVendRequestLike } from "./mdb/port.js";
