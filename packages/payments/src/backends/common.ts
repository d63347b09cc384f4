// Small helpers shared by the CLN, LNbits, BTCPay and phoenixd adapters: argument checks, unit conversions that
// refuse to round money, and a zod parse that turns a foreign answer into a coded error.
import { createHash } from "node:crypto";
import type { InvoiceRequest } from "../backend.js";
import { parseInvoice } from "../bolt11/index.js";
import { PaymentError, PaymentErrorCode } from "../errors.js";

export const HASH_RE = /^[0-9a-f]{64}$/;

export function checkHash(paymentHash: string, what = "a payment hash"): void {
  if (!HASH_RE.test(paymentHash)) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, `${what} is 32 bytes as 64 lower-case hex digits`);
}

export function checkInvoiceRequest(req: InvoiceRequest): void {
  if (typeof req.amountMsat !== "bigint" || req.amountMsat <= 0n) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "an invoice needs a positive amountMsat");
  if (!Number.isInteger(req.expirySec) || req.expirySec <= 0) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "expirySec must be a positive integer");
}

/**
 * msat -> whole sat for APIs that only take sat (LNbits, phoenixd, BTCPay). An amount with a msat remainder is
 * refused, never rounded: the machine would otherwise show one price and charge another.
 */
export function msatToWholeSat(amountMsat: bigint, backend: string): bigint {
  if (amountMsat % 1000n !== 0n) {
    throw new PaymentError(
      PaymentErrorCode.BAD_REQUEST,
      `${backend} takes whole satoshis only; ${amountMsat} msat is not a whole sat (price in whole sats or round the price up first)`,
      { amountMsat: amountMsat.toString() },
    );
  }
  return amountMsat / 1000n;
}

/** A bigint that JSON can carry as a number without loss (the APIs here take amounts as JSON numbers). */
export function toSafeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < 0n) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, `${what} ${v} is out of range`);
  return Number(v);
}

export function sha256Hex(hex: string): string {
  return createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");
}

export function parseWire<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } },
  v: unknown,
  what: string,
  product: string,
): T {
  const r = schema.safeParse(v);
  if (!r.success) {
    throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `${what}: the answer does not match ${product}'s API`, { detail: r.error.message.slice(0, 300) });
  }
  return r.data;
}

/** Exact decimal string ("0.00001234", "12") -> integer in units of 10^-scale; null when not a plain decimal or too precise. */
export function decimalToUnits(s: string, scale: number): bigint | null {
  const m = /^([0-9]{1,20})(?:\.([0-9]{1,30}))?$/.exec(s.trim());
  if (!m) return null;
  const whole = m[1] ?? "0";
  const frac = (m[2] ?? "").replace(/0+$/, "");
  if (frac.length > scale) return null;
  return BigInt(whole) * 10n ** BigInt(scale) + BigInt((frac || "0").padEnd(scale, "0"));
}

/** msat -> BTC as an exact decimal string with at most 11 decimals ("0.00001234"). */
export function msatToBtcString(amountMsat: bigint): string {
  const whole = amountMsat / 100_000_000_000n;
  const frac = (amountMsat % 100_000_000_000n).toString().padStart(11, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole.toString();
}

/**
 * The two fields a sat-based service leaves out of its answers, read from the BOLT 11 string it returned: the
 * payment hash and the amount. Parsing only (no signature check): every invoice still goes through
 * `verifyInvoice` (PaymentService) before a buyer sees it.
 */
export function bolt11Fields(bolt11: string): { paymentHash: string; amountMsat: bigint | null } {
  try {
    const p = parseInvoice(bolt11);
    return { paymentHash: p.paymentHash, amountMsat: p.amountMsat };
  } catch (err) {
    throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `the backend returned an unreadable BOLT 11 invoice: ${String((err as Error).message ?? err)}`, undefined, { cause: err });
  }
}
