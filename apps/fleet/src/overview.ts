// `GET /api/overview` (issue #18 "Numbers at a glance"): the fleet's sales today, yesterday and in the last 7 days,
// each machine's sales today and last sale, revenue per day (14 days) and per hour (today), all in the operator's
// time zone.
import type { FleetOverview } from "@zapvend/protocol";
import { FleetError } from "./errors.js";
import type { RouteRegistrar } from "./http-routes.js";
import { hoursOf, lastDays, overviewPeriods } from "./periods.js";
import type { OverviewStore } from "./store/overview-store.js";

/** Days in the revenue-per-day series. */
export const OVERVIEW_DAYS = 14;

export async function fleetOverview(store: OverviewStore, timeZone: string, now: number): Promise<FleetOverview> {
  const p = overviewPeriods(timeZone, now);
  // Three reads at once (each within the PostgreSQL pool's four connections): the three periods from one read of the
  // hourly sums, the machines, the two series from another (today's hours lie inside the 14 days).
  const [[today, yesterday, last7Days], machines, [perDay, perHour]] = await Promise.all([
    store.periodsTotals([p.today, p.yesterday, p.last7Days]),
    store.machinesToday(p.today),
    store.seriesOf([lastDays(timeZone, now, OVERVIEW_DAYS), hoursOf(timeZone, p.today)]),
  ]);
  return { timeZone, generatedAt: now, periods: { today, yesterday, last7Days }, machines, perDay, perHour };
}

/** Registers `GET /api/overview` and `GET /api/time-zone` (viewer). */
export function defineOverviewRoutes(router: RouteRegistrar, deps: { store: OverviewStore; timeZone: string; now: () => number }): void {
  // The zone alone, for pages that show times without the overview's numbers (a machine's page).
  router.route("GET", "/api/time-zone", "viewer", async () => ({ status: 200, body: { timeZone: deps.timeZone } }));
  router.route("GET", "/api/overview", "viewer", async ({ url }) => {
    for (const k of url.searchParams.keys()) throw new FleetError("unknown_key", `unknown query key "${k}" (the overview takes none)`, 400);
    return { status: 200, body: await fleetOverview(deps.store, deps.timeZone, deps.now()) };
  });
}
