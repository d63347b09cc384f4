import { describe, expect, it } from "vitest";
import { minorUnitDigits, msatPerUnitFromBtcPrice, priceToMsat } from "./convert.js";
import { PricingErrorCode } from "./errors.js";

const eurRate = { currency: "EUR", msatPerUnit: "1111111", source: "kraken", fetchedAt: 1_000_000 };

describe("priceToMsat", () => {
  it("converts cents at msat per euro, rounding up to the next whole msat", () => {
    // 2.50 EUR * 1 111 111 msat/EUR = 2 777 777.5 msat -> 2 777 778
    expect(priceToMsat({ unit: "fiat", currency: "EUR", amountMinor: 250 }, eurRate, 1_030_000)).toEqual({ amountMsat: 2_777_778n, rate: eurRate, rateAgeMs: 30_000 });
    // exact: 1.00 EUR
    expect(priceToMsat({ unit: "fiat", currency: "EUR", amountMinor: 100 }, eurRate, 1_000_000).amountMsat).toBe(1_111_111n);
  });

  it("uses each currency's minor unit: yen have none, dinars three", () => {
    expect(priceToMsat({ unit: "fiat", currency: "JPY", amountMinor: 150 }, { ...eurRate, currency: "JPY", msatPerUnit: "7000" }, 1_000_000).amountMsat).toBe(1_050_000n);
    expect(priceToMsat({ unit: "fiat", currency: "KWD", amountMinor: 1_500 }, { ...eurRate, currency: "KWD", msatPerUnit: "3300001" }, 1_000_000).amountMsat).toBe(4_950_002n);
    expect(minorUnitDigits("EUR")).toBe(2);
    expect(minorUnitDigits("CHF")).toBe(2);
  });

  it("keeps a price in msat as it is, with no rate", () => {
    expect(priceToMsat({ unit: "msat", amountMsat: "21000" }, null, 5)).toEqual({ amountMsat: 21_000n, rate: null, rateAgeMs: null });
  });

  it("refuses a rate of another currency or no rate", () => {
    expect(() => priceToMsat({ unit: "fiat", currency: "USD", amountMinor: 100 }, eurRate, 0)).toThrow(expect.objectContaining({ code: PricingErrorCode.CURRENCY_MISMATCH }));
    expect(() => priceToMsat({ unit: "fiat", currency: "EUR", amountMinor: 100 }, null, 0)).toThrow(expect.objectContaining({ code: PricingErrorCode.NO_FRESH_RATE }));
    expect(() => minorUnitDigits("eur")).toThrow(expect.objectContaining({ code: PricingErrorCode.UNKNOWN_CURRENCY }));
  });

  it("handles prices far beyond Number's exact range without drift", () => {
    const r = priceToMsat({ unit: "fiat", currency: "EUR", amountMinor: 1_000_000_000 }, { ...eurRate, msatPerUnit: "99999999999" }, 0);
    expect(r.amountMsat).toBe(999_999_999_990_000_000n);
  });
});

describe("msatPerUnitFromBtcPrice", () => {
  it("turns a BTC price into msat per unit, rounded to the nearest msat", () => {
    expect(msatPerUnitFromBtcPrice("100000")).toBe(1_000_000n);
    expect(msatPerUnitFromBtcPrice("90000.00000")).toBe(1_111_111n);
    expect(msatPerUnitFromBtcPrice("87234.5")).toBe(1_146_335n); // 1e11 / 87234.5 = 1 146 335.3
  });
  it("refuses what is not a positive plain decimal", () => {
    for (const bad of ["0", "-1", "1e5", "abc", ""]) expect(msatPerUnitFromBtcPrice(bad)).toBeNull();
  });
});
