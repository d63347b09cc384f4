// LND's REST shapes (grpc-gateway over lnrpc / invoicesrpc), as in LND's API reference
// (https://api.lightning.community): field names in snake_case as in the .proto files, `bytes` fields as base64,
// 64-bit integers as decimal strings, 32-bit integers as JSON numbers, enums by name. Only the fields the adapter
// reads are validated; LND sends many more. Absent fields take their proto3 default (LND's gateway emits them,
// but a proxy or an older build may not), which is why every field has a default.
import { z } from "zod";

const Int64String = z.string().regex(/^-?[0-9]{1,20}$/, "expected a 64-bit integer as a decimal string");
const Base64Bytes = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, "expected base64 bytes");

export const LndInvoiceState = z.enum(["OPEN", "SETTLED", "CANCELED", "ACCEPTED"]);
export type LndInvoiceState = z.infer<typeof LndInvoiceState>;

export const LndHtlcState = z.enum(["ACCEPTED", "SETTLED", "CANCELED"]);

/** lnrpc.InvoiceHTLC */
export const LndInvoiceHtlc = z.looseObject({
  chan_id: Int64String.default("0"),
  htlc_index: Int64String.default("0"),
  amt_msat: Int64String.default("0"),
  accept_height: z.int().default(0),
  accept_time: Int64String.default("0"),
  resolve_time: Int64String.default("0"),
  expiry_height: z.int().default(0),
  state: LndHtlcState.default("ACCEPTED"),
  mpp_total_amt_msat: Int64String.default("0"),
});
export type LndInvoiceHtlc = z.infer<typeof LndInvoiceHtlc>;

/** lnrpc.Invoice, as `GET /v1/invoice/{r_hash_str}` answers and each `{"result": ...}` of the subscribe stream. */
export const LndInvoice = z.looseObject({
  memo: z.string().default(""),
  r_preimage: Base64Bytes.default(""),
  r_hash: Base64Bytes.default(""),
  value: Int64String.default("0"),
  value_msat: Int64String.default("0"),
  settled: z.boolean().default(false),
  creation_date: Int64String.default("0"),
  settle_date: Int64String.default("0"),
  payment_request: z.string().default(""),
  description_hash: Base64Bytes.default(""),
  expiry: Int64String.default("0"),
  cltv_expiry: Int64String.default("0"),
  private: z.boolean().default(false),
  add_index: Int64String.default("0"),
  settle_index: Int64String.default("0"),
  amt_paid_sat: Int64String.default("0"),
  amt_paid_msat: Int64String.default("0"),
  state: LndInvoiceState.default("OPEN"),
  htlcs: z.array(LndInvoiceHtlc).default([]),
  is_keysend: z.boolean().default(false),
  payment_addr: Base64Bytes.default(""),
  is_amp: z.boolean().default(false),
});
export type LndInvoice = z.infer<typeof LndInvoice>;

/** invoicesrpc.AddHoldInvoiceRequest (`POST /v2/invoices/hodl`). */
export interface LndAddHoldInvoiceRequest {
  memo?: string;
  hash: string;
  value?: string;
  value_msat?: string;
  description_hash?: string;
  expiry?: string;
  fallback_addr?: string;
  cltv_expiry?: string;
  private?: boolean;
}

/** invoicesrpc.AddHoldInvoiceResp */
export const LndAddHoldInvoiceResp = z.looseObject({
  payment_request: z.string().min(1),
  add_index: Int64String.default("0"),
  payment_addr: Base64Bytes.default(""),
});

/** lnrpc.Invoice as a request to `POST /v1/invoices` (only what a plain invoice needs). */
export interface LndAddInvoiceRequest {
  memo?: string;
  value_msat?: string;
  expiry?: string;
  cltv_expiry?: string;
  private?: boolean;
}

/** lnrpc.AddInvoiceResponse */
export const LndAddInvoiceResponse = z.looseObject({
  r_hash: Base64Bytes.min(1),
  payment_request: z.string().min(1),
  add_index: Int64String.default("0"),
  payment_addr: Base64Bytes.default(""),
});

/** lnrpc.GetInfoResponse (`GET /v1/getinfo`). */
export const LndGetInfoResponse = z.looseObject({
  version: z.string().default(""),
  identity_pubkey: z.string().regex(/^0[23][0-9a-f]{64}$/, "expected a compressed public key as hex"),
  alias: z.string().default(""),
  block_height: z.int().default(0),
  block_hash: z.string().default(""),
  synced_to_chain: z.boolean().default(false),
  testnet: z.boolean().default(false),
  chains: z.array(z.looseObject({ chain: z.string().default("bitcoin"), network: z.string().default("mainnet") })).default([]),
});
export type LndGetInfoResponse = z.infer<typeof LndGetInfoResponse>;

/** The grpc-gateway error body: `{code, message, details}` (v2); v1 gateways also sent `error` and `http_code`. */
export const LndErrorBody = z.looseObject({
  code: z.int().optional(),
  message: z.string().optional(),
  error: z.string().optional(),
  details: z.array(z.unknown()).optional(),
});

/** An error line of a server stream: `{"error": {...}}` (the other lines are `{"result": ...}`). */
export const LndStreamError = z.looseObject({
  error: z.looseObject({ code: z.int().optional(), grpc_code: z.int().optional(), message: z.string().optional() }),
});
export const LndStreamResult = z.looseObject({ result: z.looseObject({}) });

/**
 * gRPC status codes as LND's gateway returns them. The gateway maps them to HTTP statuses (NotFound -> 404,
 * AlreadyExists -> 409, Unavailable -> 503, Unknown -> 500, ...); most of LND's own errors are plain Go errors and
 * so arrive as Unknown (500), which is why the adapter also reads the message.
 */
export const GrpcCode = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * LND's error messages that the adapter recognizes (from lnd's invoices package and macaroon service). They are
 * what a client of a real node sees, so the sim node answers with the same words.
 */
export const LndMessages = {
  INVOICE_NOT_FOUND: "unable to locate invoice",
  INVOICE_EXISTS: "invoice with payment hash already exists",
  STILL_OPEN: "invoice still open",
  ALREADY_CANCELED: "invoice already canceled",
  ALREADY_SETTLED: "invoice already settled",
  NO_MACAROON: "expected 1 macaroon, got 0",
  BAD_MACAROON: "verification failed: signature mismatch after caveat verification",
  PERMISSION_DENIED: "permission denied",
  STARTING: "waiting to start, RPC services not available",
} as const;

/** Bytes from LND's base64 (standard or url-safe, padded or not). */
export function b64ToHex(s: string): string {
  return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("hex");
}

export function hexToB64(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}

/**
 * The path form of `/v2/invoices/subscribe/{r_hash}`: LND's REST docs ask for the URL-safe alphabet (`-` for `+`,
 * `_` for `/`) with the trailing `=` kept; its gateway decodes padded base64 only, and `%2F` does not work
 * (lightningnetwork/lnd#6029, #7358). Node's "base64url" drops the padding, hence the replacement by hand.
 */
export function hexToB64Url(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}
