// Times and money as the operator reads them: in the fleet's time zone (the overview's `timeZone`), fiat per
// currency side by side.
import type { PeriodTotals } from "@zapvend/protocol";
import { fiat } from "./format.js";

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string, kind: "time" | "datetime" | "date"): Intl.DateTimeFormat {
  const key = `${tz}|${kind}`;
  let f = formatters.get(key);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions =
      kind === "time" ? { hour: "2-digit", minute: "2-digit" } : kind === "date" ? { year: "numeric", month: "2-digit", day: "2-digit" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    try {
      f = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hourCycle: "h23", ...opts });
    } catch {
      f = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", hourCycle: "h23", ...opts });
    }
    formatters.set(key, f);
  }
  return f;
}

/** `14:05` on the operator's clock. */
export const clockTime = (tz: string, ms: number): string => formatter(tz, "time").format(ms);
/** `7 Dec, 14:05` on the operator's clock. */
export const dateTime = (tz: string, ms: number): string => formatter(tz, "datetime").format(ms);

const stampFormatters = new Map<string, Intl.DateTimeFormat>();
/** `2026-12-07 14:05:33` on the operator's clock (audit rows, deliveries, logins: the year and seconds count). */
export function timestamp(tz: string, ms: number): string {
  let f = stampFormatters.get(tz);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions = { hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" };
    try {
      f = new Intl.DateTimeFormat("en-GB", { timeZone: tz, ...opts });
    } catch {
      f = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", ...opts });
    }
    stampFormatters.set(tz, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(ms)) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/**
 * The fiat of a period: every currency the sales carried, most sales first (`12.50 EUR + 3.00 CHF`), never converted;
 * "no fiat" when none did. Sales without fiat are said apart (`noFiatNote`).
 */
export function fiatTotals(p: PeriodTotals): string {
  return p.fiat.length === 0 ? "no fiat" : p.fiat.map((f) => fiat({ currency: f.currency, amountMinor: f.amountMinor })).join(" + ");
}
export function noFiatNote(p: PeriodTotals): string {
  return p.noFiatCount === 0 ? "" : `${p.noFiatCount} ${p.noFiatCount === 1 ? "sale" : "sales"} without a fiat value`;
}
