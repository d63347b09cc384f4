// The overview's answer as the console checks it (agreeing with protocol's schema), and a live sale applied in the
// browser: counted in the periods, products, series and machine row that contain it, and nowhere else.
import { describe, expect, it } from "vitest";
import { FleetOverview as FleetOverviewSchema, type FleetOverview, type Sale } from "@zapvend/protocol";
import { fleetOverview } from "./overview-check.js";
import { applySale, stale } from "./overview-live.js";

const H = 3_600_000;
const T = Date.UTC(2026, 2, 30, 0); // a midnight (UTC for this answer)
const period = (from: number, to: number) => ({ from, to, count: 1, amountMsat: "1000000", fiat: [{ currency: "EUR", amountMinor: 100, count: 1 }], noFiatCount: 0, products: [{ product: "Cola", count: 1, amountMsat: "1000000" }] });
const answer: FleetOverview = {
  timeZone: "UTC",
  generatedAt: T + 10 * H,
  periods: { today: period(T, T + 24 * H), yesterday: { ...period(T - 24 * H, T), count: 0, amountMsat: "0", fiat: [], products: [] }, last7Days: period(T - 6 * 24 * H, T + 24 * H) },
  machines: [{ id: "m-1", count: 1, amountMsat: "1000000", lastSaleAt: T + H }],
  perDay: [{ from: T - 24 * H, to: T, label: "2026-03-29", count: 0, amountMsat: "0" }, { from: T, to: T + 24 * H, label: "2026-03-30", count: 1, amountMsat: "1000000" }],
  perHour: Array.from({ length: 24 }, (_, i) => ({ from: T + i * H, to: T + (i + 1) * H, label: `${String(i).padStart(2, "0")}:00`, count: i === 1 ? 1 : 0, amountMsat: i === 1 ? "1000000" : "0" })),
};
const aSale = (o: Partial<Sale>): Sale => ({
  machineId: "m-2",
  eventId: "sale-1",
  seq: 1,
  orderId: "ord-1",
  slot: "A1",
  productName: "Crisps",
  amountMsat: "1500000",
  fiat: null,
  paymentHash: "ab".repeat(32),
  hold: true,
  evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1 },
  settledAt: T + 9 * H + 5,
  ...o,
});

describe("the overview in the browser", () => {
  it("checks what protocol's schema accepts, and refuses an amount that is not msat", () => {
    expect(FleetOverviewSchema.safeParse(answer).success).toBe(true);
    expect(fleetOverview(answer, "")).toBe(answer);
    const bad = { ...answer, periods: { ...answer.periods, today: { ...answer.periods.today, amountMsat: 12 } } };
    expect(FleetOverviewSchema.safeParse(bad).success).toBe(false);
    expect(() => fleetOverview(bad, "")).toThrow(/periods.today.amountMsat/);
  });

  it("adds a sale of today to today, the 7 days, its product, hour, day and machine; not to yesterday", () => {
    const o = applySale(answer, aSale({}));
    expect(o.periods.today).toMatchObject({ count: 2, amountMsat: "2500000", noFiatCount: 1, fiat: [{ currency: "EUR", amountMinor: 100, count: 1 }] });
    expect(o.periods.today.products.map((p) => p.product)).toEqual(["Crisps", "Cola"]);
    expect(o.periods.last7Days.count).toBe(2);
    expect(o.periods.yesterday.count).toBe(0);
    expect(o.perHour[9]).toMatchObject({ count: 1, amountMsat: "1500000" });
    expect(o.perDay[1]).toMatchObject({ count: 2, amountMsat: "2500000" });
    expect(o.machines).toEqual([answer.machines[0], { id: "m-2", count: 1, amountMsat: "1500000", lastSaleAt: T + 9 * H + 5 }]);
    // The answer it came from is not changed (lit sees a new object).
    expect(answer.periods.today.count).toBe(1);
  });

  it("a late sale of yesterday counts in yesterday and the 7 days, and moves no machine's today", () => {
    const o = applySale(answer, aSale({ machineId: "m-1", settledAt: T - H, fiat: { currency: "CHF", amountMinor: 180 } }));
    expect(o.periods.yesterday).toMatchObject({ count: 1, fiat: [{ currency: "CHF", amountMinor: 180, count: 1 }] });
    expect(o.periods.today.count).toBe(1);
    expect(o.machines[0]).toEqual({ id: "m-1", count: 1, amountMsat: "1000000", lastSaleAt: T + H });
    expect(o.periods.last7Days.fiat).toEqual([
      { currency: "CHF", amountMinor: 180, count: 1 },
      { currency: "EUR", amountMinor: 100, count: 1 },
    ]);
  });

  it("is stale once local midnight passed", () => {
    expect(stale(answer, T + 24 * H - 1)).toBe(false);
    expect(stale(answer, T + 24 * H)).toBe(true);
  });
});
