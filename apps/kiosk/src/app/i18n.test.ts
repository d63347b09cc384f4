// The English formats are made without Intl on the way to the first paint (i18n.ts): they must be Intl's en-US.
import { describe, expect, it } from "vitest";
import { formatAge, formatFiat, formatSats } from "./i18n.js";

const minors = [0, 1, 5, 9, 10, 99, 100, 101, 150, 999, 1000, 12345, 99999, 100000, 123456789, 1234567890123];
const msats = ["0", "1", "999", "1000", "1001", "1500000", "999999999", "1000000000", "123456789012345", "21000000000000000000"];

describe("English formats without Intl", () => {
  it("match Intl's en-US for fiat prices", () => {
    for (const currency of ["EUR", "USD", "GBP"]) {
      const nf = new Intl.NumberFormat("en-US", { style: "currency", currency });
      for (const m of minors) expect(formatFiat("en", currency, m)).toBe(nf.format(m / 100));
    }
    // Other currencies go through Intl.
    expect(formatFiat("en", "JPY", 150)).toBe(new Intl.NumberFormat("en-US", { style: "currency", currency: "JPY" }).format(150));
    expect(formatFiat("en", "CHF", 150)).toBe(new Intl.NumberFormat("en-US", { style: "currency", currency: "CHF" }).format(1.5));
  });
  it("match Intl's en-US for sats", () => {
    const nf = new Intl.NumberFormat("en-US");
    for (const m of msats) expect(formatSats("en", m)).toBe(`${nf.format((BigInt(m) + 999n) / 1000n)} sats`);
  });
  it("match Intl's en-US for the rate's age", () => {
    for (const min of [0, 1, 3, 59, 60, 61, 150, 60 * 24 * 3, 60 * 1500]) {
      const [v, unit] = min < 60 ? [min, "minute"] : [Math.round(min / 60), "hour"];
      const want = new Intl.NumberFormat("en-US", { style: "unit", unit, unitDisplay: "short" }).format(v);
      expect(formatAge("en", min * 60_000)).toBe(want);
    }
  });
});
