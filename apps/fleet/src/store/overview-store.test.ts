// The overview's numbers on both engines, in Europe/Paris around the spring-forward Sunday (29 March 2026, 23 h):
// exact counts, sats, fiat per currency and sales without fiat, products, each machine's today, the per-day and
// per-hour series, and a redelivered sale counted once. The sums come from migration 10's trigger; a zone at UTC+5:30
// (midnight on a half hour) reads its cut hours from the ledger and must give the ledger's own numbers.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MqttMessage } from "@zapvend/protocol";
import { event, sale } from "../__fixtures__/messages.js";
import { engines } from "../__fixtures__/stores.js";
import { fleetOverview } from "../overview.js";
import { hoursOf, lastDays } from "../periods.js";
import { num } from "./db.js";
import type { FleetStore } from "./fleet-store.js";
import { OverviewStore } from "./overview-store.js";

const TZ = "Europe/Paris";
/** Monday 30 March 2026, 10:00 in Paris (CEST, UTC+2). */
const NOW = Date.UTC(2026, 2, 30, 8, 0);
const H = 3_600_000;

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`overview numbers on ${engine.name}${engine.skip ? ` (${engine.skip})` : ""}`, () => {
    let store: FleetStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await engine.open());
    });
    afterEach(async () => {
      await cleanup();
    });
    const apply = (msgs: MqttMessage[]) => store.applyBatch(msgs.map((msg) => ({ msg, receivedAt: NOW })));

    async function seed(): Promise<void> {
      const todayCrisps = sale("m-1", { id: "s-today-a1", seq: 1, slot: "A1", settledAt: Date.UTC(2026, 2, 30, 7, 15), amountMsat: "1500000" }); // 09:15 today
      await apply([
        todayCrisps,
        sale("m-1", { seq: 2, slot: "A2", settledAt: Date.UTC(2026, 2, 29, 22, 5), amountMsat: "2000000", fiat: { currency: "EUR", amountMinor: 200 } }), // 00:05 today
        sale("m-1", { seq: 3, slot: "A1", settledAt: Date.UTC(2026, 2, 29, 21, 50), amountMsat: "1500000" }), // 23:50 Sunday (CEST)
        sale("m-2", { seq: 1, slot: "A1", settledAt: Date.UTC(2026, 2, 29, 0, 30), amountMsat: "1500000", fiat: null }), // 01:30 Sunday (CET), no fiat
        sale("m-2", { seq: 2, slot: "A1", settledAt: Date.UTC(2026, 2, 28, 22, 30), amountMsat: "1500000", fiat: { currency: "CHF", amountMinor: 180 } }), // 23:30 Saturday
        sale("m-3", { seq: 1, slot: "A1", settledAt: Date.UTC(2026, 2, 23, 22, 30), amountMsat: "1000000" }), // 23:30 Monday 23rd: 8 days ago
        sale("m-3", { seq: 2, slot: "A2", settledAt: Date.UTC(2026, 2, 23, 23, 10), amountMsat: "2000000", fiat: { currency: "EUR", amountMinor: 200 } }), // 00:10 Tuesday 24th
        event("m-1", "refund", { seq: 4, ts: Date.UTC(2026, 2, 30, 7, 30) }),
      ]);
      // The same sale delivered again (another batch): stored once, summed once.
      await apply([todayCrisps]);
    }

    it("answers today, yesterday (23 h) and the last 7 days with exact counts, sats, fiat and products", async () => {
      await seed();
      const o = await fleetOverview(new OverviewStore(store.db), TZ, NOW);
      expect(o.timeZone).toBe(TZ);
      const { today, yesterday, last7Days } = o.periods;
      expect([today.from, today.to]).toEqual([Date.UTC(2026, 2, 29, 22), Date.UTC(2026, 2, 30, 22)]);
      expect(yesterday.to - yesterday.from).toBe(23 * H);
      expect(today).toMatchObject({ count: 2, amountMsat: "3500000", fiat: [{ currency: "EUR", amountMinor: 350, count: 2 }], noFiatCount: 0 });
      expect(today.products).toEqual([
        { product: "Product A2", count: 1, amountMsat: "2000000" },
        { product: "Product A1", count: 1, amountMsat: "1500000" },
      ]);
      expect(yesterday).toMatchObject({ count: 2, amountMsat: "3000000", fiat: [{ currency: "EUR", amountMinor: 150, count: 1 }], noFiatCount: 1 });
      expect(last7Days).toMatchObject({
        count: 6,
        amountMsat: "10000000",
        fiat: [
          { currency: "EUR", amountMinor: 700, count: 4 },
          { currency: "CHF", amountMinor: 180, count: 1 },
        ],
        noFiatCount: 1,
      });
      expect(last7Days.products).toEqual([
        { product: "Product A1", count: 4, amountMsat: "6000000" },
        { product: "Product A2", count: 2, amountMsat: "4000000" },
      ]);
    });

    it("gives each machine that ever sold its sales today and its last sale", async () => {
      await seed();
      const o = await fleetOverview(new OverviewStore(store.db), TZ, NOW);
      expect(o.machines).toEqual([
        { id: "m-1", count: 2, amountMsat: "3500000", lastSaleAt: Date.UTC(2026, 2, 30, 7, 15) },
        { id: "m-2", count: 0, amountMsat: "0", lastSaleAt: Date.UTC(2026, 2, 29, 0, 30) },
        { id: "m-3", count: 0, amountMsat: "0", lastSaleAt: Date.UTC(2026, 2, 23, 23, 10) },
      ]);
    });

    it("lists no machine before the first sale, and many machines in id order with exact sats", async () => {
      const o = new OverviewStore(store.db);
      expect((await fleetOverview(o, TZ, NOW)).machines).toEqual([]);
      // Inserted out of id order; one machine's sats today beyond 2^53 msat (exact), one only before today.
      const ids = ["m-10", "m-9", "m-1", "m-100", "a-0"];
      await apply(ids.map((id, i) => sale(id, { seq: 1, slot: "A1", settledAt: NOW - (i + 1) * 60_000, amountMsat: "1500000" })));
      await apply([sale("m-9", { seq: 2, slot: "A1", settledAt: NOW - 1000, amountMsat: "2000000000000000001" })]);
      await apply([sale("x-old", { seq: 1, slot: "A1", settledAt: NOW - 3 * 86_400_000, amountMsat: "1000" })]);
      const machines = (await fleetOverview(o, TZ, NOW)).machines;
      expect(machines.map((m) => m.id)).toEqual(["a-0", "m-1", "m-10", "m-100", "m-9", "x-old"]);
      expect(machines.find((m) => m.id === "m-9")).toEqual({ id: "m-9", count: 2, amountMsat: "2000000000001500001", lastSaleAt: NOW - 1000 });
      expect(machines.find((m) => m.id === "x-old")).toEqual({ id: "x-old", count: 0, amountMsat: "0", lastSaleAt: NOW - 3 * 86_400_000 });
      expect(machines.find((m) => m.id === "m-100")).toEqual({ id: "m-100", count: 1, amountMsat: "1500000", lastSaleAt: NOW - 4 * 60_000 });
    });

    it("counts each machine's today as sales arrive (trigger), leaves a late sale of yesterday out, recomputes on a new day", async () => {
      await seed();
      const o = new OverviewStore(store.db);
      const today = (await fleetOverview(o, TZ, NOW)).machines;
      expect(today.find((m) => m.id === "m-2")).toMatchObject({ count: 0 });
      await apply([
        sale("m-2", { seq: 10, slot: "A1", settledAt: NOW - 60_000, amountMsat: "1500000" }),
        sale("m-2", { seq: 11, slot: "A1", settledAt: NOW - 30_000, amountMsat: "2000000" }),
        sale("m-1", { seq: 12, slot: "A1", settledAt: Date.UTC(2026, 2, 29, 12), amountMsat: "1500000" }), // yesterday, late
      ]);
      // Counted by the trigger: the day did not change, so nothing was recomputed.
      const rows = await store.db.all("SELECT n, msat FROM machine_today WHERE machine_id = 'm-2'");
      expect(rows.map((r) => [num(r.n), num(r.msat)])).toEqual([[2, 3500000]]);
      const after = (await fleetOverview(o, TZ, NOW)).machines;
      expect(after.find((m) => m.id === "m-2")).toEqual({ id: "m-2", count: 2, amountMsat: "3500000", lastSaleAt: NOW - 30_000 });
      expect(after.find((m) => m.id === "m-1")).toMatchObject({ count: 2, amountMsat: "3500000" });
      // The next local day: recomputed from the ledger, nobody sold yet.
      const tomorrow = (await fleetOverview(o, TZ, NOW + 86_400_000)).machines;
      expect(tomorrow.map((m) => m.count)).toEqual([0, 0, 0]);
      // And back (another server's zone, or a test): the ledger again, the same numbers.
      expect((await fleetOverview(o, TZ, NOW)).machines.find((m) => m.id === "m-2")).toMatchObject({ count: 2, amountMsat: "3500000" });
    });

    it("series: 14 local days (the 23-hour Sunday included) and today's 24 hours", async () => {
      await seed();
      const o = await fleetOverview(new OverviewStore(store.db), TZ, NOW);
      expect(o.perDay).toHaveLength(14);
      expect(o.perDay.at(-1)).toMatchObject({ label: "2026-03-30", count: 2, amountMsat: "3500000" });
      const byLabel = Object.fromEntries(o.perDay.map((p) => [p.label, p.count]));
      expect(byLabel).toMatchObject({ "2026-03-29": 2, "2026-03-28": 1, "2026-03-24": 1, "2026-03-23": 1, "2026-03-22": 0 });
      const sunday = o.perDay.find((p) => p.label === "2026-03-29")!;
      expect(sunday.to - sunday.from).toBe(23 * H);
      expect(o.perHour).toHaveLength(24);
      expect(o.perHour.filter((p) => p.count > 0).map((p) => [p.label, p.count, p.amountMsat])).toEqual([
        ["00:00", 1, "2000000"],
        ["09:00", 1, "1500000"],
      ]);
    });

    it("keeps the hourly sums equal to the ledger (the trigger fires once per stored sale)", async () => {
      await seed();
      const sums = await store.db.all("SELECT SUM(n) AS n, SUM(msat) AS msat FROM sales_hours");
      const ledger = await store.db.all("SELECT COUNT(*) AS n, SUM(amount_msat) AS msat FROM ledger WHERE kind = 'sale'");
      expect(num(sums[0]!.n)).toBe(7);
      expect(num(sums[0]!.n)).toBe(num(ledger[0]!.n));
      expect(num(sums[0]!.msat)).toBe(num(ledger[0]!.msat));
    });

    it("answers a span that does not fall on whole hours with the ledger's numbers", async () => {
      await seed();
      const o = new OverviewStore(store.db);
      const span = { from: Date.UTC(2026, 2, 29, 22, 0, 1), to: Date.UTC(2026, 2, 30, 22) };
      expect(await o.periodTotals(span)).toMatchObject({ count: 2, amountMsat: "3500000" });
    });

    it("sums overlapping, nested, far apart and sub-hour periods in one read as the ledger does, and both series as one by one", async () => {
      await seed();
      const extra: MqttMessage[] = [];
      for (let i = 0; i < 40; i++) extra.push(sale("m-5", { seq: i + 1, slot: i % 3 ? "A1" : "A2", settledAt: Date.UTC(2026, 2, 28, 20, 10) + i * 2_300_000, amountMsat: String(2000000 + i * 1000) }));
      await apply(extra);
      const o = new OverviewStore(store.db);
      const spans = [
        { from: Date.UTC(2026, 2, 29, 22), to: Date.UTC(2026, 2, 30, 22) }, // today
        { from: Date.UTC(2026, 2, 23, 22), to: Date.UTC(2026, 2, 30, 22) }, // 7 days, around it
        { from: Date.UTC(2026, 2, 23, 22), to: Date.UTC(2026, 2, 24, 1) }, // 3 hours, 6 days before the first
        { from: Date.UTC(2026, 2, 29, 10, 30), to: Date.UTC(2026, 2, 29, 16, 30) }, // half-hour bounds
        { from: Date.UTC(2026, 2, 29, 12, 10), to: Date.UTC(2026, 2, 29, 12, 50) }, // no whole hour
        { from: Date.UTC(2026, 2, 29, 12), to: Date.UTC(2026, 2, 29, 12) }, // empty
      ];
      const all = await o.periodsTotals(spans);
      for (const [i, span] of spans.entries()) {
        const r = (await store.db.all("SELECT COUNT(*) AS n, SUM(amount_msat) AS msat FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ?", [span.from, span.to]))[0]!;
        expect({ count: all[i]!.count, amountMsat: all[i]!.amountMsat }, `span ${i}`).toEqual({ count: num(r.n), amountMsat: String(r.msat === null ? 0 : BigInt(r.msat as never)) });
        expect(all[i], `span ${i}`).toEqual(await o.periodTotals(span));
      }
      expect(all[1]!.count).toBe(47);
      const days = lastDays(TZ, NOW, 14);
      const hours = hoursOf(TZ, spans[0]!);
      expect(await o.seriesOf([days, hours])).toEqual([await o.series(days), await o.series(hours)]);
    });

    it("in Asia/Kolkata (midnight at 18:30 UTC) every period and bucket equals a count over the ledger", async () => {
      await seed();
      // More sales on both sides of the Kolkata midnights and half hours.
      const extra: MqttMessage[] = [];
      for (let i = 0; i < 48; i++) extra.push(sale("m-4", { seq: i + 1, slot: i % 2 ? "A1" : "A2", settledAt: Date.UTC(2026, 2, 29, 0, 0) + i * 1_700_000, amountMsat: String(1000000 + i * 1000) }));
      await apply(extra);
      const tz = "Asia/Kolkata";
      const o = await fleetOverview(new OverviewStore(store.db), tz, NOW);
      const count = async (from: number, to: number) => {
        const r = (await store.db.all("SELECT COUNT(*) AS n, SUM(amount_msat) AS msat FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ?", [from, to]))[0]!;
        return { count: num(r.n), amountMsat: String(r.msat === null ? 0 : BigInt(r.msat as never)) };
      };
      expect(o.periods.today.from % H).toBe(H / 2);
      for (const p of [o.periods.today, o.periods.yesterday, o.periods.last7Days, ...o.perDay, ...o.perHour]) {
        expect({ count: p.count, amountMsat: p.amountMsat }, `${p.from}`).toEqual(await count(p.from, p.to));
      }
      expect(o.perHour.reduce((n, p) => n + p.count, 0)).toBe(o.periods.today.count);
    });
  });
}
