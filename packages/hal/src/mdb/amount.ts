// Prices on MDB are integers in the VMC's units: one unit = scale factor × 10^-decimal places of the currency
// (MDB/ICP, cashless SETUP: "Scale Factor" and "Decimal Places"). The Qibixx interface writes them as a decimal
// string of the currency (`1.50`), already multiplied by the scale factor. Money is never a float here.
import { MdbError, MdbErrorCode } from "./errors.js";
import type { MdbSettings, ResolvedMdbSettings } from "./types.js";

/** The largest MDB price: cashless VEND REQUEST carries a 16-bit price (0xFFFF is reserved for "unknown"). */
export const MAX_PRICE_UNITS = 0xfffe;

export function resolveMdbSettings(settings: MdbSettings): ResolvedMdbSettings {
  const resolved: ResolvedMdbSettings = {
    featureLevel: settings.featureLevel ?? 1,
    currencyCode: settings.currencyCode,
    scaleFactor: settings.scaleFactor ?? 1,
    decimalPlaces: settings.decimalPlaces ?? 2,
    alwaysIdle: settings.alwaysIdle ?? true,
    ...(settings.vendTimeoutSec !== undefined ? { vendTimeoutSec: settings.vendTimeoutSec } : {}),
  };
  const bad = (field: string, why: string) => {
    throw new MdbError(MdbErrorCode.BAD_SETTINGS, `MDB settings: ${field} ${why}`, { field });
  };
  if (![1, 2, 3].includes(resolved.featureLevel)) bad("featureLevel", "must be 1, 2 or 3");
  if (!Number.isInteger(resolved.currencyCode) || resolved.currencyCode < 1 || resolved.currencyCode > 999) bad("currencyCode", "must be an ISO 4217 numeric code (1..999)");
  if (!Number.isInteger(resolved.scaleFactor) || resolved.scaleFactor < 1 || resolved.scaleFactor > 100) bad("scaleFactor", "must be an integer 1..100");
  if (!Number.isInteger(resolved.decimalPlaces) || resolved.decimalPlaces < 0 || resolved.decimalPlaces > 3) bad("decimalPlaces", "must be an integer 0..3");
  if (resolved.vendTimeoutSec !== undefined && (!Number.isInteger(resolved.vendTimeoutSec) || resolved.vendTimeoutSec < 1 || resolved.vendTimeoutSec > 255)) {
    bad("vendTimeoutSec", "must be an integer 1..255");
  }
  return resolved;
}

type Scaling = Pick<ResolvedMdbSettings, "scaleFactor" | "decimalPlaces">;

/**
 * Parses an amount as the interface writes it (`1.50`, `15`, `0.5`) into VMC units. Strict: digits with at most
 * one point; more decimals than the machine's decimal places are refused unless they are zeros; the value must be
 * a whole number of scale-factor steps. Returns undefined for anything else (the caller counts it as a bad line).
 */
export function parseAmountText(text: string, s: Scaling): number | undefined {
  const m = /^([0-9]{1,7})(?:\.([0-9]{1,4}))?$/.exec(text);
  if (!m) return undefined;
  let frac = m[2] ?? "";
  while (frac.length > s.decimalPlaces) {
    if (!frac.endsWith("0")) return undefined;
    frac = frac.slice(0, -1);
  }
  frac = frac.padEnd(s.decimalPlaces, "0");
  const smallest = Number(m[1]) * 10 ** s.decimalPlaces + (frac ? Number(frac) : 0);
  if (smallest % s.scaleFactor !== 0) return undefined;
  const units = smallest / s.scaleFactor;
  return units <= MAX_PRICE_UNITS ? units : undefined;
}

/** Formats VMC units as the interface expects them in `C,VEND,<amount>`: `30` units at scale 5, 2 decimals -> `1.50`. */
export function formatAmountText(units: number, s: Scaling): string {
  assertUnits(units);
  const smallest = units * s.scaleFactor;
  if (s.decimalPlaces === 0) return String(smallest);
  const p = 10 ** s.decimalPlaces;
  return `${Math.floor(smallest / p)}.${String(smallest % p).padStart(s.decimalPlaces, "0")}`;
}

/**
 * VMC units -> the currency's minor units (cents) as an integer. `minorDigits` is the currency's ISO 4217 exponent
 * (2 for EUR/USD, 0 for JPY). Throws MDB_BAD_AMOUNT when the machine's decimal places are finer than the currency's
 * minor unit and the price is not a whole number of minor units.
 */
export function unitsToMinor(units: number, s: Scaling, minorDigits = 2): number {
  assertUnits(units);
  const smallest = units * s.scaleFactor; // in 10^-decimalPlaces of the currency
  const shift = minorDigits - s.decimalPlaces;
  if (shift >= 0) return smallest * 10 ** shift;
  const div = 10 ** -shift;
  if (smallest % div !== 0) throw new MdbError(MdbErrorCode.BAD_AMOUNT, `${units} VMC units are not a whole number of minor units`, { units });
  return smallest / div;
}

/** The currency's minor units -> VMC units. Throws MDB_BAD_AMOUNT when the amount is not a whole number of units. */
export function minorToUnits(minor: number, s: Scaling, minorDigits = 2): number {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new MdbError(MdbErrorCode.BAD_AMOUNT, `a minor amount is a non-negative integer, not ${minor}`, { minor });
  const shift = s.decimalPlaces - minorDigits;
  let smallest: number;
  if (shift >= 0) smallest = minor * 10 ** shift;
  else {
    const div = 10 ** -shift;
    if (minor % div !== 0) throw new MdbError(MdbErrorCode.BAD_AMOUNT, `${minor} minor units are finer than the machine's ${s.decimalPlaces} decimal places`, { minor });
    smallest = minor / div;
  }
  if (smallest % s.scaleFactor !== 0) throw new MdbError(MdbErrorCode.BAD_AMOUNT, `${minor} minor units are not a multiple of the scale factor ${s.scaleFactor}`, { minor });
  const units = smallest / s.scaleFactor;
  assertUnits(units);
  return units;
}

function assertUnits(units: number): void {
  if (!Number.isSafeInteger(units) || units < 0 || units > MAX_PRICE_UNITS) {
    throw new MdbError(MdbErrorCode.BAD_AMOUNT, `a VMC amount is an integer 0..${MAX_PRICE_UNITS}, not ${units}`, { units });
  }
}
