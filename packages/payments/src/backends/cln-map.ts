// Core Lightning's answers mapped onto the payment core: an invoice and the holdinvoice plugin's state to an
// `InvoiceStatus`, `getinfo`'s network, and clnrest's refusals (HTTP status, RPC code, the plugin's in-band
// messages) to coded `PaymentError`s. Facts relied on: backends/__fixtures__/upstream/cln-contract.ts.
import type { Network } from "@zapvend/protocol";
import type { InvoiceStatus } from "../backend.js";
import { InvoiceState } from "../backend.js";
import { PaymentError, PaymentErrorCode } from "../errors.js";
import {
  ClnErrorCode,
  HOLD_EXPIRY_FLOOR_RE,
  HOLD_NOT_FOUND_RE,
  WRAPPED_RPC_ERROR_RE,
  WRONG_STATE_RE,
  type ClnListedInvoice,
  type ClnRpcError,
  type HoldState,
} from "./cln-wire.js";
import { sha256Hex } from "./common.js";

export function toStatus(paymentHash: string, inv: ClnListedInvoice, hold: { state: HoldState; htlc_expiry?: number } | undefined): InvoiceStatus {
  const amountMsat = inv.amount_msat ?? 0n;
  if (inv.status === "paid") {
    return {
      paymentHash,
      state: InvoiceState.SETTLED,
      amountMsat,
      amountPaidMsat: inv.amount_received_msat ?? 0n,
      ...(inv.payment_preimage && sha256Hex(inv.payment_preimage) === paymentHash ? { preimage: inv.payment_preimage } : {}),
      ...(inv.paid_at ? { settledAt: inv.paid_at * 1000 } : {}),
    };
  }
  if (hold) {
    switch (hold.state) {
      case "ACCEPTED":
        // The plugin enters ACCEPTED only once the held HTLCs add up to the invoice amount; it does not report the
        // sum itself, so the amount asked is what is held.
        return {
          paymentHash,
          state: InvoiceState.ACCEPTED,
          amountMsat,
          amountPaidMsat: amountMsat,
          ...(hold.htlc_expiry !== undefined ? { htlcExpiryHeight: hold.htlc_expiry } : {}),
        };
      case "CANCELED":
        return { paymentHash, state: InvoiceState.CANCELED, amountMsat, amountPaidMsat: 0n };
      case "SETTLED":
        // Settled by the plugin but not yet paid in CLN's books: the HTLCs are being resolved; report it held.
        return { paymentHash, state: InvoiceState.ACCEPTED, amountMsat, amountPaidMsat: amountMsat };
      case "OPEN":
        break;
    }
  }
  return { paymentHash, state: inv.status === "expired" ? InvoiceState.CANCELED : InvoiceState.OPEN, amountMsat, amountPaidMsat: 0n };
}

export function toNetwork(n: string): Network {
  switch (n) {
    case "bitcoin":
    case "testnet":
    case "signet":
    case "regtest":
      return n;
    case "testnet4":
      return "testnet";
    default:
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `getinfo reports an unknown network ${JSON.stringify(n.slice(0, 20))}`);
  }
}

/** A clnrest refusal as a coded error. */
export function clnError(status: number, err: ClnRpcError, method: string, paymentHash?: string): PaymentError {
  const message = err.message;
  const wrongState = WRONG_STATE_RE.exec(message)?.[1];
  const floor = HOLD_EXPIRY_FLOOR_RE.exec(message)?.[1];
  // CLN's own error passed through a Rust plugin keeps its code only in the text.
  const inner = WRAPPED_RPC_ERROR_RE.exec(message)?.[1];
  const rpcCode = inner !== undefined ? Number(inner) : err.code;
  const ctx: Record<string, unknown> = {
    status,
    rpcCode,
    message,
    ...(paymentHash ? { paymentHash } : {}),
    ...(wrongState ? { holdState: wrongState } : {}),
    ...(floor ? { holdExpiryFloorSec: Number(floor) } : {}),
  };
  let code: PaymentErrorCode;
  if (status === 403 || (status === 401 && (err.code === ClnErrorCode.RUNE_NOT_AUTHORIZED || /not valid|Not authorized/i.test(message)))) {
    code = PaymentErrorCode.UNAUTHORIZED;
  } else if (status === 401) {
    code = PaymentErrorCode.PERMISSION_DENIED;
  } else if (err.code === ClnErrorCode.METHOD_NOT_FOUND || status === 404) {
    code = method.startsWith("holdinvoice") ? PaymentErrorCode.HOLD_UNSUPPORTED : PaymentErrorCode.BACKEND_ERROR;
  } else if (HOLD_NOT_FOUND_RE.test(message)) {
    code = PaymentErrorCode.INVOICE_NOT_FOUND;
  } else if (rpcCode === ClnErrorCode.INVOICE_LABEL_ALREADY_EXISTS || rpcCode === ClnErrorCode.INVOICE_PREIMAGE_ALREADY_EXISTS) {
    code = PaymentErrorCode.DUPLICATE_PAYMENT_HASH;
  } else if (wrongState === "OPEN" && method === "holdinvoicesettle") {
    code = PaymentErrorCode.NOT_HELD;
  } else if (wrongState === "CANCELED") {
    code = PaymentErrorCode.ALREADY_CANCELED;
  } else if (wrongState === "SETTLED") {
    code = PaymentErrorCode.ALREADY_SETTLED;
  } else if (status === 502 || status === 503 || status === 504) {
    code = PaymentErrorCode.BACKEND_UNREACHABLE;
  } else {
    code = PaymentErrorCode.BACKEND_ERROR;
  }
  return new PaymentError(code, `${method}: ${message || `HTTP ${status}`}`, ctx);
}
