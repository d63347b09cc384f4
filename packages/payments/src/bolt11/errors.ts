/**
 * Stable codes of every reason an invoice is refused, by the decoder (the invoice is malformed or not signed) and
 * by the machine's policy (the invoice is well formed but not the one the machine asked for). The same code reaches
 * the logs, the CLI (`error: <code>: <message>`) and, through the controller, the kiosk and the fleet console, so a
 * code is never renamed once shipped.
 */
export const InvoiceErrorCode = {
  // --- the text itself (bech32) ---
  /** Empty, or longer than the decoder accepts (`maxLength`). */
  TOO_LONG: "too_long",
  /** Too few characters to hold a timestamp and a signature. */
  TOO_SHORT: "too_short",
  /** No "1" separator between the human-readable part and the data. */
  NO_SEPARATOR: "no_separator",
  /** Upper- and lower-case letters mixed (bech32 allows one or the other). */
  MIXED_CASE: "mixed_case",
  /** A character outside the bech32 alphabet, or outside printable ASCII. */
  BAD_CHARACTER: "bad_character",
  /** The bech32 checksum does not match: a typo, a truncated copy or a changed character. */
  BAD_CHECKSUM: "bad_checksum",
  // --- the human-readable part ---
  /** The human-readable part does not start with "ln". */
  BAD_PREFIX: "bad_prefix",
  /** A currency prefix that is not lnbc, lntb, lntbs, lnbcrt or lnsb. */
  UNKNOWN_NETWORK: "unknown_network",
  /** An amount that is not a positive integer without leading zeros, with an unknown multiplier, or above 21M BTC. */
  BAD_AMOUNT: "bad_amount",
  /** A pico-bitcoin amount that is not a whole millisatoshi (its last digit is not 0). */
  SUB_MSAT_AMOUNT: "sub_msat_amount",
  // --- tagged fields ---
  /** A `p`, `h`, `s` or `n` field whose data_length is not 52, 52, 52, 53 (BOLT 11 after lightning/bolts#1243). */
  BAD_FIXED_LENGTH: "bad_fixed_length",
  /** A `p`, `h`, `s`, `n`, `d`, `x`, `c`, `9` or `m` field present twice, or both `d` and `h`. */
  DUPLICATE_FIELD: "duplicate_field",
  /** No `p` (payment hash), no `s` (payment secret), or neither `d` nor `h`. */
  MISSING_FIELD: "missing_field",
  /** A field whose content is malformed: a description that is not UTF-8, an empty route hint, a huge expiry. */
  BAD_FIELD: "bad_field",
  /** A fallback address of a known version with a program of the wrong length. */
  BAD_FALLBACK: "bad_fallback",
  /** A route hint whose length is not a whole number of hops, or whose hop has a malformed node key. */
  BAD_ROUTE_HINT: "bad_route_hint",
  /** An even (required) feature bit that this decoder does not know: the invoice must not be paid. */
  UNKNOWN_REQUIRED_FEATURE: "unknown_required_feature",
  // --- the signature ---
  /** The signature is malformed, high-S with an `n` field, does not verify, or no public key can be recovered. */
  BAD_SIGNATURE: "bad_signature",
  // --- the machine's policy (verifyInvoice) ---
  /** Signed by (or naming) another node than the one the machine is configured to trust. */
  WRONG_PAYEE: "wrong_payee",
  /** For another network than the machine's (a testnet invoice on a mainnet machine). */
  WRONG_NETWORK: "wrong_network",
  /** An amount other than the one the machine asked for, or no amount at all. */
  WRONG_AMOUNT: "wrong_amount",
  /** A payment hash other than the one the machine made (hold invoices) or recorded. */
  WRONG_PAYMENT_HASH: "wrong_payment_hash",
  /** A description (or description hash) other than the one the machine asked for. */
  WRONG_DESCRIPTION: "wrong_description",
  /** Already expired. */
  EXPIRED: "expired",
  /** Valid for less time than a buyer needs to pay and the machine needs to vend. */
  EXPIRY_TOO_SHORT: "expiry_too_short",
  /** A timestamp too far in the future to be the node's clock. */
  TIMESTAMP_IN_FUTURE: "timestamp_in_future",
  /** A preimage that is not 32 bytes or whose sha256 is not the payment hash. */
  BAD_PREIMAGE: "bad_preimage",
  /** An argument of the caller is malformed (a key that is not 33 bytes hex, a private key out of range). */
  BAD_ARGUMENT: "bad_argument",
} as const;
export type InvoiceErrorCode = (typeof InvoiceErrorCode)[keyof typeof InvoiceErrorCode];

/** Why an invoice was refused: a stable `code`, words for a person, and what a log line needs in `context`. */
export class InvoiceError extends Error {
  constructor(
    readonly code: InvoiceErrorCode,
    message: string,
    readonly context?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "InvoiceError";
  }
}

/** True when `err` is an `InvoiceError`, optionally with one of `codes`. */
export function isInvoiceError(err: unknown, ...codes: InvoiceErrorCode[]): err is InvoiceError {
  return err instanceof InvoiceError && (codes.length === 0 || codes.includes(err.code));
}
