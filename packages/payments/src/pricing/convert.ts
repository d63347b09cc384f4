// Fiat -> msat with integer math only. A rate is msat per one *major* unit (1 EUR); a fiat price is in *minor* units
// (cents), so amountMsat = ceil(amountMinor * msatPerUnit / 10^digits), where digits is the currency's number of
// minor-unit digits (ISO 4217). Rounding goes up to the next whole msat: the machine never asks for less than the
// price, and a msat is 1/1000 of the smallest amount a wallet shows.
import type { Price, Rate } from "@zapvend/protocol";
import { PricingError, PricingErrorCode } from "./errors.js";

/**
 * ISO 4217 minor-unit digits where ICU's currency data (what `Intl` knows) differs from ISO or is absent on
 * small-ICU builds of Node. Everything else comes from `Intl.NumberFormat`.
 */
const MINOR_DIGITS: Record<string, number> = {
  EUR: 2, USD: 2, GBP: 2, CHF: 2, CAD: 2, AUD: 2, NZD: 2, SEK: 2, NOK: 2, DKK: 2, PLN: 2, CZK: 2, HUF: 2, BRL: 2,
  MXN: 2, ZAR: 2, INR: 2, SGD: 2, HKD: 2, CNY: 2, TRY: 2, ARS: 2, TWD: 2, PHP: 2, THB: 2, NGN: 2,
  JPY: 0, KRW: 0, ISK: 0, CLP: 0, VND: 0, PYG: 0, UGX: 0, XAF: 0, XOF: 0,
  BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3, LYD: 3, IQD: 3,
};

/** Number of minor-unit digits of `currency` (2 for EUR, 0 for JPY, 3 for KWD). */
export function minorUnitDigits(currency: string): number {
  if (!/^[A-Z]{3}$/.test(currency)) throw new PricingError(PricingErrorCode.UNKNOWN_CURRENCY, `not an ISO 4217 code: ${JSON.stringify(currency)}`);
  const known = MINOR_DIGITS[currency];
  if (known !== undefined) return known;
  try {
    const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
    if (digits !== undefined && Number.isInteger(digits) && digits >= 0 && digits <= 4) return digits;
  } catch {
    // fall through
  }
  throw new PricingError(PricingErrorCode.UNKNOWN_CURRENCY, `no minor-unit rule for ${currency}`);
}

export interface ConvertedPrice {
  amountMsat: bigint;
  /** The rate used, null for a price set in msat. */
  rate: Rate | null;
  /** How old the rate was at conversion, in ms; null for a price set in msat. */
  rateAgeMs: number | null;
}

/**
 * Converts an operator's price to the msat an invoice asks for. `nowMs` is the time of the order (for the age the
 * kiosk shows); freshness is the oracle's job (`PriceOracle.lock`), this function only converts.
 */
export function priceToMsat(price: Price, rate: Rate | null, nowMs: number): ConvertedPrice {
  if (price.unit === "msat") return { amountMsat: BigInt(price.amountMsat), rate: null, rateAgeMs: null };
  if (!rate) throw new PricingError(PricingErrorCode.NO_FRESH_RATE, `a price in ${price.currency} needs an exchange rate`);
  if (rate.currency !== price.currency) {
    throw new PricingError(PricingErrorCode.CURRENCY_MISMATCH, `a price in ${price.currency} cannot use a ${rate.currency} rate`);
  }
  const scale = 10n ** BigInt(minorUnitDigits(price.currency));
  const product = BigInt(price.amountMinor) * BigInt(rate.msatPerUnit);
  const amountMsat = (product + scale - 1n) / scale;
  return { amountMsat, rate, rateAgeMs: Math.max(0, nowMs - rate.fetchedAt) };
}

/**
 * BTC price of one major unit as an exact decimal string ("87234.51") -> msat per major unit, rounded to the
 * nearest msat. 1 BTC = 10^11 msat, so msat per unit = 10^11 / price.
 */
export function msatPerUnitFromBtcPrice(priceDecimal: string): bigint | null {
  const m = /^([0-9]{1,15})(?:\.([0-9]{1,18}))?$/.exec(priceDecimal.trim());
  if (!m) return null;
  const frac = m[2] ?? "";
  const priceScaled = BigInt((m[1] ?? "0") + frac); // price * 10^frac.length
  if (priceScaled <= 0n) return null;
  const numerator = 100_000_000_000n * 10n ** BigInt(frac.length);
  return (numerator * 2n + priceScaled) / (priceScaled * 2n);
}
