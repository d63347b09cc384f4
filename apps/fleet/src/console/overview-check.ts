// The console's check of `GET /api/overview` (protocol's FleetOverview, as types only: see check.ts).
import type { FleetOverview, PeriodTotals, SeriesPoint } from "@zapvend/protocol";
import { arr, int, msat, nullable, obj, str } from "./check.js";

const periodTotals = obj<PeriodTotals>({
  from: int,
  to: int,
  count: int,
  amountMsat: msat,
  fiat: arr(obj<PeriodTotals["fiat"][number]>({ currency: str, amountMinor: int, count: int })),
  noFiatCount: int,
  products: arr(obj<PeriodTotals["products"][number]>({ product: str, count: int, amountMsat: msat })),
});
const seriesPoint = obj<SeriesPoint>({ from: int, to: int, label: str, count: int, amountMsat: msat });

export const fleetOverview = obj<FleetOverview>({
  timeZone: str,
  generatedAt: int,
  periods: obj<FleetOverview["periods"]>({ today: periodTotals, yesterday: periodTotals, last7Days: periodTotals }),
  machines: arr(obj<FleetOverview["machines"][number]>({ id: str, count: int, amountMsat: msat, lastSaleAt: nullable(int) })),
  perDay: arr(seriesPoint),
  perHour: arr(seriesPoint),
});

export const timeZoneAnswer = obj<{ timeZone: string }>({ timeZone: str });
