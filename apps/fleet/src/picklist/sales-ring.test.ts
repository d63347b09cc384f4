// The ring of each slot's sales per UTC day (migration 12) against the ledger it summarises, on both engines: sales
// delivered out of order, late (older than the ring), redelivered and of other kinds; every window the ring serves
// and the longer ones the ledger serves give the ledger's own count; the ring filled again by the migration's
// back-fill is the same; and the pick list's pages put together are the whole pick list.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MqttMessage, PickList } from "@zapvend/protocol";
import { birth, event, sale } from "../__fixtures__/messages.js";
import { rng } from "../__fixtures__/random.js";
import { engines } from "../__fixtures__/stores.js";
import type { FleetStore } from "../store/fleet-store.js";
import { num, str } from "../store/db.js";
import { PicklistStore } from "./picklist-store.js";
import { DAY_MS, RING_DAYS, SLOT_SALES_BACKFILL, windowStartDay } from "./sales-ring.js";

const H = 3_600_000;
/** Noon UTC: today is half over, so the windows are N.5 days long. */
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

const MACHINES = ["m-1", "m-2", "m-3", "m-4", "m-5", "m-6"];
const SLOTS = ["A1", "A2", "A3", "A10"];

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`the pick list's sales ring on ${engine.name}`, () => {
    let store: FleetStore;
    let picks: PicklistStore;
    let cleanup: () => Promise<void>;
    const apply = (msgs: MqttMessage[]) => store.applyBatch(msgs.map((msg) => ({ msg, receivedAt: NOW })));

    beforeEach(async () => {
      ({ store, cleanup } = await engine.open());
      picks = new PicklistStore(store.db);
      const rand = rng(12);
      await apply(
        MACHINES.map((m, i) =>
          birth(m, {
            ts: NOW - 30 * DAY_MS,
            slots: SLOTS.map((slot, k) => ({
              slot,
              // m-1 sells one product from two slots: it counts once among the machines that need it.
              ...(m === "m-1" && slot === "A10" ? { name: "Product A1" } : {}),
              stock: (i + k) % 4 === 0 ? 0 : 1 + Math.floor(rand() * 9),
            })),
          }),
        ),
      );
      // 14 days of sales (twice the ring), some in the future of NOW by up to 6 h (a machine's clock ahead), then
      // delivered in a shuffled order, in bursts, with some redelivered: the ring sees days go back and forth.
      const sales: MqttMessage[] = [];
      const seqs = new Map(MACHINES.map((m) => [m, 0]));
      for (let k = 0; k < 260; k++) {
        const m = MACHINES[Math.floor(rand() * MACHINES.length)]!;
        const seq = seqs.get(m)! + 1;
        seqs.set(m, seq);
        const at = NOW + 6 * H - Math.floor(rand() * 14 * DAY_MS);
        sales.push(sale(m, { seq, slot: SLOTS[Math.floor(rand() * SLOTS.length)]!, settledAt: at }));
      }
      // Not sales: a refund does not count.
      sales.push(event("m-1", "refund", { seq: seqs.get("m-1")! + 1, ts: NOW - H }));
      for (let i = sales.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [sales[i], sales[j]] = [sales[j]!, sales[i]!];
      }
      for (let i = 0; i < sales.length; i += 37) await apply(sales.slice(i, i + 37));
      await apply(sales.slice(0, 40));
    });
    afterEach(async () => {
      await cleanup();
    });

    /** The ledger's own count per machine/slot in the pick list's window. */
    async function ledgerCounts(windowDays: number, now = NOW): Promise<Map<string, number>> {
      const today = Math.floor(now / DAY_MS);
      const rows = await store.db.all("SELECT machine_id, slot, COUNT(*) AS n FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ? GROUP BY machine_id, slot", [
        windowStartDay(now, windowDays) * DAY_MS,
        (today + 1) * DAY_MS,
      ]);
      return new Map(rows.map((r) => [`${str(r.machine_id)}/${str(r.slot)}`, num(r.n)]));
    }

    const soldOf = (list: PickList) => new Map(list.machines.flatMap((m) => m.lines.map((l): [string, number] => [`${m.machineId}/${l.slot}`, l.sold])));

    it("counts every window exactly as the ledger does, from the ring up to 7 days and from the ledger beyond", async () => {
      expect(num((await store.db.all("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'sale'"))[0]!.n)).toBe(260);
      for (let windowDays = 1; windowDays <= 10; windowDays++) {
        const list = await picks.compute({ nowMs: NOW, windowDays });
        const expected = await ledgerCounts(windowDays);
        const got = soldOf(list);
        for (const [key, n] of got) expect([windowDays, key, n]).toEqual([windowDays, key, expected.get(key) ?? 0]);
        expect([...expected.keys()].filter((k) => !got.has(k))).toEqual([]);
        expect(list.windowFrom).toBe(windowStartDay(NOW, windowDays) * DAY_MS);
        // The rate is over the whole days and the half day of today.
        const line = list.machines.flatMap((m) => m.lines).find((l) => l.sold > 0)!;
        expect(line.perDay).toBe(Math.round((line.sold / (windowDays + 0.5)) * 100) / 100);
      }
      expect(RING_DAYS).toBe(8);
    });

    it("keeps the default window summed for the day: sales after its roll, and the next day's roll, as the ledger counts", async () => {
      const check = async (now: number, windows = [7, 6, 3]) => {
        for (const windowDays of windows) {
          const expected = await ledgerCounts(windowDays, now);
          const got = soldOf(await picks.compute({ nowMs: now, windowDays }));
          expect([now - NOW, windowDays, [...got].filter(([key, n]) => n !== (expected.get(key) ?? 0)).map(([k, n]) => [k, n, expected.get(k)])]).toEqual([now - NOW, windowDays, []]);
        }
      };
      await check(NOW);
      expect(num((await store.db.all("SELECT day FROM picklist_day"))[0]!.day)).toBe(Math.floor(NOW / DAY_MS));
      // After the roll: sales of today, of the window's first day, one day too old, and of tomorrow (a clock ahead).
      let seq = 1000;
      const more = (at: number, slot = "A2") => sale("m-2", { seq: ++seq, slot, settledAt: at });
      const today0 = Math.floor(NOW / DAY_MS) * DAY_MS;
      await apply([more(NOW - H), more(today0 - 7 * DAY_MS), more(today0 - 7 * DAY_MS - 1), more(today0 + DAY_MS + H), more(NOW, "A10")]);
      await check(NOW);
      // The next day: the first pick list moves the kept day and sums again; a server whose clock is a day behind
      // does not move it back and still counts right.
      await check(NOW + DAY_MS);
      expect(num((await store.db.all("SELECT day FROM picklist_day"))[0]!.day)).toBe(Math.floor(NOW / DAY_MS) + 1);
      await apply([more(NOW + DAY_MS - H)]);
      // A day behind, the 7-day window is summed from the ring, where the sale dated a day ahead (tomorrow's, above)
      // took the bucket of the window's first day: that one window is short of that day's sales (README).
      await check(NOW, [6, 3]);
      await check(NOW + DAY_MS);
      expect(num((await store.db.all("SELECT day FROM picklist_day"))[0]!.day)).toBe(Math.floor(NOW / DAY_MS) + 1);
    });

    it("follows the pars as slot_pars holds them: set, changed and cleared, also by SQL straight into slot_pars", async () => {
      const parOf = async (slot: string) => (await picks.compute({ nowMs: NOW, machineIds: ["m-3"] })).machines[0]!.lines.find((l) => l.slot === slot)!;
      expect(await parOf("A2")).toMatchObject({ par: 10, parSet: false });
      await picks.setPars("m-3", { pars: { A2: 4 } }, "user:op", NOW);
      expect(await parOf("A2")).toMatchObject({ par: 4, parSet: true });
      await picks.setPars("m-3", { pars: { A2: 6 } }, "user:op", NOW);
      expect(await parOf("A2")).toMatchObject({ par: 6, parSet: true });
      await picks.setPars("m-3", { pars: { A2: null } }, "user:op", NOW);
      expect(await parOf("A2")).toMatchObject({ par: 10, parSet: false });
      await store.db.run("INSERT INTO slot_pars (machine_id, slot, par, updated_at, updated_by) VALUES ('m-3', 'A3', 2, 0, 'sql')");
      await store.db.run("UPDATE slot_pars SET slot = 'A1' WHERE machine_id = 'm-3' AND slot = 'A3'");
      expect([await parOf("A1"), await parOf("A3")]).toMatchObject([{ par: 2 }, { par: 10 }]);
      await store.db.run("DELETE FROM slot_pars");
      expect(await parOf("A1")).toMatchObject({ par: 10, parSet: false });
      // The page reads the same copy.
      await picks.setPars("m-3", { pars: { A10: 3 } }, "user:op", NOW);
      const page = await picks.computePage({ nowMs: NOW, machineIds: ["m-3"], offset: 0, limit: 1 });
      expect(page.machines[0]!.lines.find((l) => l.slot === "A10")).toMatchObject({ par: 3 });
    });

    it("fills the same ring again from the ledger with the migration's back-fill", async () => {
      const before = await picks.compute({ nowMs: NOW });
      await store.db.run("DELETE FROM picklist_slots");
      expect(soldOf(await picks.compute({ nowMs: NOW })).get("m-1/A1")).toBe(0);
      await store.db.run(SLOT_SALES_BACKFILL);
      // As the migration leaves it: no day kept yet, the first pick list sums the default window.
      await store.db.run("UPDATE picklist_day SET day = -1");
      expect(await picks.compute({ nowMs: NOW })).toEqual(before);
    });

    it("gives the pick list page by page: the pages put together are the whole list, with its totals on each", async () => {
      for (const windowDays of [7, 14]) {
        for (const machineIds of [undefined, ["m-5", "m-2", "m-3", "nobody"]]) {
          const whole = await picks.compute({ nowMs: NOW, windowDays, ...(machineIds ? { machineIds } : {}) });
          const pages: PickList["machines"] = [];
          for (let offset = 0; offset < whole.machines.length + 2; offset += 2) {
            const page = await picks.computePage({ nowMs: NOW, windowDays, offset, limit: 2, ...(machineIds ? { machineIds } : {}) });
            expect(page.totals).toEqual(whole.totals);
            expect(page.toLoad).toBe(whole.toLoad);
            expect(page.windowFrom).toBe(whole.windowFrom);
            expect(page.page).toEqual({ offset, limit: 2, machines: whole.machines.length, withLoad: whole.machines.filter((m) => m.toLoad > 0).length });
            pages.push(...page.machines);
          }
          expect(pages).toEqual(whole.machines);
        }
      }
    });
  });
}
