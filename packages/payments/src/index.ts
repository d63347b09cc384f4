/**
 * @zapvend/payments — BOLT 11, the invoice policy, preimage checks, fiat pricing and the Lightning backends.
 */
export * from "./backend.js";
export * from "./errors.js";
export * from "./runtime.js";
export * from "./monitor.js";
export { HttpTransport, type TransportOptions, type HttpResponse } from "./transport.js";
export { LndBackend, type LndBackendOptions } from "./backends/lnd.js";
export * from "./bolt11/index.js";
export { PaymentService, type PaymentServiceOptions, type IssuedInvoice } from "./service.js";
export { lndOptionsFromConfig } from "./backends/lnd-config.js";
export { createBackend, type BackendDeps } from "./backends/index.js";
// Types only: the adapters themselves load lazily through createBackend (narrow by `backend.kind`).
export type { ClnBackend, ClnBackendOptions, ClnHoldInvoiceRequest } from "./backends/cln.js";
export type { LnbitsBackend, LnbitsBackendOptions } from "./backends/lnbits.js";
export type { BtcpayBackend, BtcpayBackendOptions, WebhookOutcome } from "./backends/btcpay.js";
export type { PhoenixdBackend, PhoenixdBackendOptions } from "./backends/phoenixd.js";
export * from "./pricing/index.js";
