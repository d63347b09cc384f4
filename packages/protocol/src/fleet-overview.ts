// The fleet overview's numbers (issue #18 "Numbers at a glance"): `GET /api/overview` answers sales count, revenue
// in sats and in the fiat the sales carried, and the top products for today, yesterday and the last 7 days, each
// machine's sales today and its last sale, and the revenue per day and per hour for the charts. Every period is a
// day of the operator's time zone (`timeZone` of the fleet config), so a day of a daylight saving change has 23 or
// 25 hours.
import { z } from "zod";
import { CurrencyCode, EpochMs, MachineId, MsatString } from "./common.js";

/** An IANA time zone name that this runtime's `Intl` knows (`Europe/Paris`, `UTC`). */
export const TimeZoneName = z
  .string()
  .min(1)
  .max(64)
  .check((ctx) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: ctx.value });
    } catch {
      ctx.issues.push({ code: "custom", message: `unknown time zone "${ctx.value}" (expected an IANA name such as Europe/Paris)`, input: ctx.value, params: { code: "bad_value" } });
    }
  });

/** Sales of one product in a period. `product` is the name the sale carried (the slot when it had none). */
export const ProductSales = z.object({ product: z.string().max(60), count: z.int().min(0), amountMsat: MsatString });
export type ProductSales = z.infer<typeof ProductSales>;

/** One period's totals. */
export const PeriodTotals = z.object({
  /** `[from, to)` in epoch ms: local midnights of the operator's zone. */
  from: EpochMs,
  to: EpochMs,
  count: z.int().min(0),
  amountMsat: MsatString,
  /**
   * The fiat value of the sales that carried one, per currency (most sales first). Mixed currencies are listed
   * side by side, never converted; sales that carried no fiat are counted in `noFiatCount`.
   */
  fiat: z.array(z.object({ currency: CurrencyCode, amountMinor: z.int().min(0), count: z.int().min(0) })),
  noFiatCount: z.int().min(0),
  /** Every product sold in the period, most sats first (at most 100; the console shows the top ones). */
  products: z.array(ProductSales),
});
export type PeriodTotals = z.infer<typeof PeriodTotals>;

/** A bucket of a chart series: `[from, to)` and its label in the operator's zone (`2026-03-29`, `14:00`). */
export const SeriesPoint = z.object({ from: EpochMs, to: EpochMs, label: z.string().max(20), count: z.int().min(0), amountMsat: MsatString });
export type SeriesPoint = z.infer<typeof SeriesPoint>;

export const MachineSalesToday = z.object({
  id: MachineId,
  count: z.int().min(0),
  amountMsat: MsatString,
  /** The machine's latest sale ever (settled time), null when it never sold. */
  lastSaleAt: EpochMs.nullable(),
});
export type MachineSalesToday = z.infer<typeof MachineSalesToday>;

export const FleetOverview = z.object({
  /** The operator's IANA zone every period and label is in. */
  timeZone: z.string(),
  generatedAt: EpochMs,
  periods: z.object({ today: PeriodTotals, yesterday: PeriodTotals, last7Days: PeriodTotals }),
  /** Machines that ever sold, with today's count (0 when none today). */
  machines: z.array(MachineSalesToday),
  /** Revenue per local day, the last 14 days (today last), and per local hour of today (23 or 25 on a DST day). */
  perDay: z.array(SeriesPoint),
  perHour: z.array(SeriesPoint),
});
export type FleetOverview = z.infer<typeof FleetOverview>;
