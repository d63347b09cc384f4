// A sale from the live feed applied to the overview in the browser, so a sale shows at once without fetching the
// whole overview again: the periods, products, series buckets and machine row that contain its settled time. What
// it cannot know (the day rolled over) makes the shell fetch the overview again (`stale`).
import type { FleetOverview, PeriodTotals, Sale, SeriesPoint } from "@zapvend/protocol";

const inSpan = (s: { from: number; to: number }, at: number) => at >= s.from && at < s.to;

function addToPeriod(p: PeriodTotals, sale: Sale): PeriodTotals {
  if (!inSpan(p, sale.settledAt)) return p;
  const fiat = sale.fiat
    ? p.fiat.some((f) => f.currency === sale.fiat!.currency)
      ? p.fiat.map((f) => (f.currency === sale.fiat!.currency ? { ...f, amountMinor: f.amountMinor + sale.fiat!.amountMinor, count: f.count + 1 } : f))
      : [...p.fiat, { currency: sale.fiat.currency, amountMinor: sale.fiat.amountMinor, count: 1 }]
    : p.fiat;
  const name = sale.productName || sale.slot;
  const known = p.products.some((x) => x.product === name);
  const products = (known ? p.products : [...p.products, { product: name, count: 0, amountMsat: "0" }])
    .map((x) => (x.product === name ? { ...x, count: x.count + 1, amountMsat: (BigInt(x.amountMsat) + BigInt(sale.amountMsat)).toString() } : x))
    .sort((a, b) => {
      const d = BigInt(b.amountMsat) - BigInt(a.amountMsat);
      return d > 0n ? 1 : d < 0n ? -1 : b.count - a.count || a.product.localeCompare(b.product);
    });
  return {
    ...p,
    count: p.count + 1,
    amountMsat: (BigInt(p.amountMsat) + BigInt(sale.amountMsat)).toString(),
    fiat: [...fiat].sort((a, b) => b.count - a.count || a.currency.localeCompare(b.currency)),
    noFiatCount: p.noFiatCount + (sale.fiat ? 0 : 1),
    products,
  };
}

const addToSeries = (series: SeriesPoint[], sale: Sale): SeriesPoint[] =>
  series.map((b) => (inSpan(b, sale.settledAt) ? { ...b, count: b.count + 1, amountMsat: (BigInt(b.amountMsat) + BigInt(sale.amountMsat)).toString() } : b));

/** The overview with `sale` counted (a sale outside every period changes only the machine's last sale). */
export function applySale(o: FleetOverview, sale: Sale): FleetOverview {
  const { today, yesterday, last7Days } = o.periods;
  const inToday = inSpan(today, sale.settledAt);
  const row = o.machines.find((m) => m.id === sale.machineId);
  const machines = row
    ? o.machines.map((m) =>
        m.id === sale.machineId
          ? { ...m, count: m.count + (inToday ? 1 : 0), amountMsat: inToday ? (BigInt(m.amountMsat) + BigInt(sale.amountMsat)).toString() : m.amountMsat, lastSaleAt: Math.max(m.lastSaleAt ?? 0, sale.settledAt) }
          : m,
      )
    : [...o.machines, { id: sale.machineId, count: inToday ? 1 : 0, amountMsat: inToday ? sale.amountMsat : "0", lastSaleAt: sale.settledAt }].sort((a, b) => a.id.localeCompare(b.id));
  return {
    ...o,
    periods: { today: addToPeriod(today, sale), yesterday: addToPeriod(yesterday, sale), last7Days: addToPeriod(last7Days, sale) },
    machines,
    perDay: addToSeries(o.perDay, sale),
    perHour: addToSeries(o.perHour, sale),
  };
}

/** The overview's today has ended (local midnight passed): fetch it again. */
export const stale = (o: FleetOverview, now: number): boolean => now >= o.periods.today.to;
