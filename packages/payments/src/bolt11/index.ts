/**
 * The strict BOLT 11 codec of zapvend.
 *
 * - `decodeInvoice(bolt11, { payeeNodeKey?, maxLength? }) => DecodedInvoice` — throws `InvoiceError` (stable `code`).
 *   With `payeeNodeKey` it verifies against that key (fast path of the policy); without, it recovers the key.
 * - `parseInvoice(bolt11) => ParsedInvoice` — every check but the signature (display tools only).
 * - `encodeInvoice(fields, privateKey) => string` — signs a real invoice (the sim node and tests).
 * - `verifyInvoice(invoice, policy) => DecodedInvoice` — the machine's policy; throws `InvoiceError`.
 * - `verifyPreimage(paymentHash, preimage) => boolean`.
 * - `invoiceToJson(decoded)` — the JSON of `zapvend-invoice decode` (DESIGN.md contract).
 */
export * from "./errors.js";
export {
  decodeInvoice,
  parseInvoice,
  PayeeKeySource,
  KNOWN_FEATURE_BITS,
  DEFAULT_EXPIRY_SEC,
  DEFAULT_MAX_INVOICE_LENGTH,
  DEFAULT_MIN_FINAL_CLTV_EXPIRY_BLOCKS,
  type DecodedInvoice,
  type ParsedInvoice,
  type DecodeOptions,
  type RouteHop,
  type InvoiceFeatures,
  type UnknownField,
} from "./decode.js";
export { encodeInvoice, encodeAmount, type InvoiceFields, type RouteHopInput } from "./encode.js";
export { verifyInvoice, verifyPreimage, type InvoicePolicy } from "./policy.js";
export { invoiceToJson, type InvoiceJson } from "./json.js";
export type { FallbackAddress, FallbackType } from "./networks.js";
export { publicKeyOf } from "./crypto.js";
export { signatureEngineName } from "./crypto.js";
