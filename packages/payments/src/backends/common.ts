// Small helpers shared by the CLN, LNbits, BTCPay and phoenixd adapters: argument checks, unit conversions that
// refuse to round money, and a zod parse that turns a foreign answer into a coded error.
import { createHash } from "node:crypto";
import { bech32 } from "@scure/base";
import type { InvoiceRequest } from "../backend.js";
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

const BOLT11_AMOUNT_RE = /^ln(?:bcrt|bc|tbs|tb|sb)(\d+)?([munp])?$/;

/**
 * The two fields a sat-based service leaves out of its answers, read from the BOLT 11 string it returned: the
 * payment hash (tag `p`) and the amount in the human-readable part. This is *not* verification (no signature
 * check): every invoice still goes through the payment core's `verifyInvoice` before a buyer sees it.
 */
export function bolt11Fields(bolt11: string): { paymentHash: string; amountMsat: bigint | null } {
  const bad = (why: string) => new PaymentError(PaymentErrorCode.BAD_RESPONSE, `the backend returned an unreadable BOLT 11 invoice: ${why}`);
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32.decode(bolt11.toLowerCase() as `${string}1${string}`, 10_000);
  } catch (err) {
    throw bad(String((err as Error).message ?? err));
  }
  const hrp = BOLT11_AMOUNT_RE.exec(decoded.prefix);
  if (!hrp) throw bad(`unknown prefix ${decoded.prefix.slice(0, 12)}`);
  let amountMsat: bigint | null = null;
  if (hrp[1] !== undefined) {
    const n = BigInt(hrp[1]);
    // 1 BTC = 10^11 msat; m = 10^-3, u = 10^-6, n = 10^-9, p = 10^-12 (p must be a multiple of 10).
    switch (hrp[2]) {
      case undefined: amountMsat = n * 100_000_000_000n; break;
      case "m": amountMsat = n * 100_000_000n; break;
      case "u": amountMsat = n * 100_000n; break;
      case "n": amountMsat = n * 100n; break;
      case "p":
        if (n % 10n !== 0n) throw bad("a pico-BTC amount that is not a whole msat");
        amountMsat = n / 10n;
        break;
    }
  }
  // words: 7 words of timestamp, then tagged fields (type, 2 words of length, data), then 104 words of signature.
  const words = decoded.words;
  const end = words.length - 104;
  let i = 7;
  while (i + 3 <= end) {
    const type = words[i] ?? 0;
    const len = (words[i + 1] ?? 0) * 32 + (words[i + 2] ?? 0);
    const data = words.slice(i + 3, i + 3 + len);
    if (type === 1 && len === 52) {
      const bytes = bech32.fromWords(data);
      return { paymentHash: Buffer.from(bytes.slice(0, 32)).toString("hex"), amountMsat };
    }
    i += 3 + len;
  }
  throw bad("no payment hash");
}
