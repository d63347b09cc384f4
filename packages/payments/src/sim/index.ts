/**
 * `@zapvend/payments/sim`: the sim Lightning node. A regtest-like node with its own key that signs real BOLT 11
 * invoices, holds payments like LND (OPEN -> ACCEPTED -> SETTLED | CANCELED, with expiry and HTLC timeout), speaks
 * LND's REST shape so the production LND adapter runs against it, and has a wallet that pays like a buyer's phone.
 */
export { SimLightningNode, SimPayError, SimPayErrorCode, SimRpcError, SimInvoiceState } from "./node.js";
export type { SimHtlc, SimInvoice, SimNodeOptions, SimPayOptions, SimPayResult, SimSubscriber, SimWalletPayment } from "./node.js";
export { SimNodeServer, startSimNode, lndInvoiceJson } from "./server.js";
export type { SimServerOptions } from "./server.js";
export { SimFaultRequest, noFaults, faultsToJson } from "./faults.js";
export { SimStateFileError } from "./state-file.js";
export type { SimFaultState } from "./faults.js";
