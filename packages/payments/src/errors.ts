/**
 * Stable error codes of the payment backends and the monitor. The same code reaches the kiosk (as the reason no
 * invoice could be issued), the fleet console and the logs, so a code is never renamed once shipped.
 *
 * Codes that mean "this invoice cannot be trusted" start with `invoice_` only where the invoice itself is at fault;
 * transport and node problems never do (the controller maps an `invoice_*` failure at creation to
 * `invoice_untrusted`).
 */
export const PaymentErrorCode = {
  /** The node did not answer: connection refused or reset, DNS, a timeout. Retrying later may help. */
  BACKEND_UNREACHABLE: "backend_unreachable",
  /** The node answered slower than the request timeout. */
  BACKEND_TIMEOUT: "backend_timeout",
  /** The node's TLS certificate is not the pinned one. Never retried: someone may be in the middle. */
  TLS_PIN_MISMATCH: "tls_pin_mismatch",
  /** The credential (macaroon, rune, API key) is missing, wrong or revoked. */
  UNAUTHORIZED: "unauthorized",
  /** The credential is valid but lacks the permission for this call (e.g. an invoice macaroon asking getinfo). */
  PERMISSION_DENIED: "permission_denied",
  /** The node answered with something that does not match its documented API. */
  BAD_RESPONSE: "bad_response",
  /** The node refused the request for a reason of its own (its error message is kept in the context). */
  BACKEND_ERROR: "backend_error",
  /** The node does not know an invoice with this payment hash. */
  INVOICE_NOT_FOUND: "invoice_not_found",
  /** The node already has an invoice for this payment hash: the machine must never reuse a hash. */
  DUPLICATE_PAYMENT_HASH: "duplicate_payment_hash",
  /** Settle asked for an invoice that holds no payment yet (still open). */
  NOT_HELD: "not_held",
  /** Settle asked for an invoice that was already canceled: the buyer has been refunded. */
  ALREADY_CANCELED: "already_canceled",
  /** Cancel asked for an invoice that was already settled: the money has been taken. */
  ALREADY_SETTLED: "already_settled",
  /** The node is not the configured one: another key, or another network. Never used until the config is fixed. */
  NODE_MISMATCH: "node_mismatch",
  /** The backend has no hold invoices (`capabilities.holdInvoices` is false). */
  HOLD_UNSUPPORTED: "hold_unsupported",
  /** A returned invoice failed the machine's own check (signature, node key, amount, hash, description, expiry). */
  INVOICE_UNTRUSTED: "invoice_untrusted",
  /** A request argument is malformed (a payment hash that is not 32 bytes hex, a zero amount). */
  BAD_REQUEST: "bad_request",
  /** The caller aborted the request through its AbortSignal. */
  ABORTED: "aborted",
  /** The backend or monitor was stopped. */
  STOPPED: "stopped",
} as const;
export type PaymentErrorCode = (typeof PaymentErrorCode)[keyof typeof PaymentErrorCode];

/** An error of the payment core with a stable `code`; `context` carries what a log line needs (hash, status, ...). */
export class PaymentError extends Error {
  constructor(
    readonly code: PaymentErrorCode,
    message: string,
    readonly context?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(`${message} (${code})`, options);
    this.name = "PaymentError";
  }
}

/** True when `err` is a `PaymentError`, optionally with one of `codes`. */
export function isPaymentError(err: unknown, ...codes: PaymentErrorCode[]): err is PaymentError {
  return err instanceof PaymentError && (codes.length === 0 || codes.includes(err.code));
}

/** Errors worth retrying later: the node may come back. Credentials, pins and refusals are not. */
export function isTransient(err: unknown): boolean {
  return isPaymentError(err, PaymentErrorCode.BACKEND_UNREACHABLE, PaymentErrorCode.BACKEND_TIMEOUT);
}
