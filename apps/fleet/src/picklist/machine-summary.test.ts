// Each machine's pick-list summary (migration 13) against the slots it summarises, on both engines: after every kind
// of write the ingest, the par editor or plain SQL makes, the console's page (which reads the summaries) equals the
// whole pick list computed from the slots; the day's roll computes them again; and on PostgreSQL a machine whose
// writer has not committed yet keeps its previous summary without the page waiting for it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MqttMessage, PickListPage } from "@zapvend/protocol";
import { birth, event, reported, sale, telemetry } from "../__fixtures__/messages.js";
import { rng } from "../__fixtures__/random.js";
import { engines, pgUrl } from "../__fixtures__/stores.js";
import { num, PostgresDb } from "../store/db.js";
import type { FleetStore } from "../store/fleet-store.js";
import { PicklistStore } from "./picklist-store.js";
import { DAY_MS } from "./sales-ring.js";

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const MACHINES = Array.from({ length: 12 }, (_, i) => `m-${i + 1}`);
const SLOTS = ["A1", "A2", "A3", "B1", "B2"];

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`the pick list's machine summaries on ${engine.name}`, () => {
    let store: FleetStore;
    let picks: PicklistStore;
    let cleanup: () => Promise<void>;
    const seqs = new Map<string, number>();
    const nextSeq = (m: string) => {
      const seq = (seqs.get(m) ?? 0) + 1;
      seqs.set(m, seq);
      return seq;
    };
    const apply = (msgs: MqttMessage[], at = NOW) => store.applyBatch(msgs.map((msg) => ({ msg, receivedAt: at })));
    const stale = async () =>
      num((await store.db.all("SELECT COUNT(*) AS n FROM picklist_machines p, picklist_day k WHERE k.id = 1 AND (p.at_rev <> p.rev OR p.day <> k.day)"))[0]!.n);

    /** The page of every machine (the summaries) equals the pick list computed from the slots, and leaves none stale. */
    async function expectPageIsWhole(nowMs = NOW): Promise<PickListPage> {
      const page = await picks.computePage({ nowMs, offset: 0, limit: 500 });
      const whole = await picks.compute({ nowMs });
      expect(page.machines).toEqual(whole.machines);
      expect(page.totals).toEqual(whole.totals);
      expect(page.toLoad).toBe(whole.toLoad);
      expect(await stale()).toBe(0);
      return page;
    }

    beforeEach(async () => {
      seqs.clear();
      ({ store, cleanup } = await engine.open());
      picks = new PicklistStore(store.db);
      const rand = rng(13);
      await apply(
        MACHINES.map((m) => birth(m, { ts: NOW - 30 * DAY_MS, slots: SLOTS.map((slot) => ({ slot, name: `P${Math.floor(rand() * 4)}`, stock: Math.floor(rand() * 11) })) })),
        NOW - 30 * DAY_MS,
      );
      const sales: MqttMessage[] = [];
      for (let k = 0; k < 120; k++) {
        const m = MACHINES[Math.floor(rand() * MACHINES.length)]!;
        sales.push(sale(m, { seq: nextSeq(m), slot: SLOTS[Math.floor(rand() * SLOTS.length)]!, settledAt: NOW - Math.floor(rand() * 9 * DAY_MS) }));
      }
      await apply(sales);
    });
    afterEach(async () => {
      await cleanup();
    });

    it("follows every write to a machine's slots, sales and pars", async () => {
      const first = await expectPageIsWhole();
      expect(first.machines.length).toBe(MACHINES.length);
      const steps: Array<[string, () => Promise<unknown>]> = [
        ["a sale takes a unit", () => apply([sale("m-1", { seq: nextSeq("m-1"), slot: "A1", settledAt: NOW - H })])],
        ["a sale of an empty slot only counts", () => apply([telemetry("m-2", { ts: NOW - 2 * H, stock: [{ slot: "A2", stock: 0 }] }), sale("m-2", { seq: nextSeq("m-2"), slot: "A2", settledAt: NOW - H })])],
        ["telemetry reports new stock", () => apply([telemetry("m-3", { ts: NOW - H, stock: SLOTS.map((slot, i) => ({ slot, stock: i })) })])],
        ["the technician restocks", () => apply([event("m-4", "restock", { seq: nextSeq("m-4"), ts: NOW - H, body: { slot: "B2", previous: 1, stock: 10 } })])],
        ["a par is set", () => picks.setPars("m-5", { pars: { A1: 3, B1: 9 } }, "user:op", NOW)],
        ["a par is cleared", () => picks.setPars("m-5", { pars: { A1: null } }, "user:op", NOW)],
        ["a par written by SQL", () => store.db.run("INSERT INTO slot_pars (machine_id, slot, par, updated_at, updated_by) VALUES ('m-6', 'A3', 1, 0, 'sql')")],
        ["a par deleted by SQL", () => store.db.run("DELETE FROM slot_pars WHERE machine_id = 'm-6'")],
        ["a slot disabled by the desired state", () => apply([reported("m-7", 1, { slots: { A1: { enabled: false, price: { unit: "msat", amountMsat: "1500000" } } } })])],
        ["a rebirth with other slots", () => apply([birth("m-8", { ts: NOW - H, slots: [{ slot: "C1", name: "New", stock: 2, capacity: 6 }] })])],
        ["a product renamed by SQL", () => store.db.run("UPDATE slots SET name = 'Renamed' WHERE machine_id = 'm-9' AND slot = 'A1'")],
        ["a capacity changed by SQL", () => store.db.run("UPDATE slots SET capacity = 30 WHERE machine_id = 'm-9' AND slot = 'A2'")],
        ["a slot deleted by SQL", () => store.db.run("DELETE FROM slots WHERE machine_id = 'm-10' AND slot = 'A1'")],
        ["a new machine's birth", () => apply([birth("m-13", { ts: NOW - H, slots: [{ slot: "A1", stock: 0 }] })])],
        ["a machine without slots", () => apply([telemetry("m-14", { ts: NOW - H })])],
        ["a redelivered sale changes nothing", async () => apply([sale("m-1", { id: "sale-again", seq: nextSeq("m-1"), slot: "A2", settledAt: NOW - H }), sale("m-1", { id: "sale-again", seq: seqs.get("m-1")!, slot: "A2", settledAt: NOW - H })])],
      ];
      for (const [what, step] of steps) {
        const before = await picks.computePage({ nowMs: NOW, offset: 0, limit: 500 });
        await step();
        const after = await expectPageIsWhole().catch((e: unknown) => {
          throw new Error(`after "${what}": ${String(e)}`);
        });
        // Every step changes what the pick list shows (so a summary left stale would fail the comparison above).
        if (what !== "a redelivered sale changes nothing" && what !== "a par deleted by SQL") expect(after, what).not.toEqual(before);
      }
    });

    it("computes every summary again on the day's roll, and after its rows are lost", async () => {
      const today = await expectPageIsWhole();
      // The fleet server's timer: the roll and every summary in the background, then nothing left to do.
      expect(await picks.refresh(NOW + DAY_MS)).toBe(MACHINES.length);
      expect(await stale()).toBe(0);
      expect(await picks.refresh(NOW + DAY_MS + H)).toBe(0);
      const tomorrow = await expectPageIsWhole(NOW + DAY_MS);
      // The oldest day's sales left the window: the days of stock left moved.
      expect(tomorrow.machines.map((m) => m.daysLeft)).not.toEqual(today.machines.map((m) => m.daysLeft));
      // As the migration leaves a store: a stale row per machine.
      await store.db.run("DELETE FROM picklist_machines");
      await store.db.run("INSERT INTO picklist_machines (machine_id) SELECT id FROM machines");
      expect(await stale()).toBe(MACHINES.length);
      await expectPageIsWhole(NOW + DAY_MS);
    });

    it.skipIf(engine.name !== "postgres")("does not wait for another server's writer: its machine keeps the summary it had until the writer commits", async () => {
      await expectPageIsWhole();
      // m-1 is stale (a restock since the last page) when a writer that has not committed yet holds its row.
      await apply([event("m-1", "restock", { seq: nextSeq("m-1"), ts: NOW - H, body: { slot: "A1", previous: 0, stock: 0 } })]);
      const kept = num((await store.db.all("SELECT to_load FROM picklist_machines WHERE machine_id = 'm-1'"))[0]!.to_load);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let wrote!: () => void;
      const written = new Promise<void>((resolve) => (wrote = resolve));
      // Another fleet server on the same database (one server's own transactions take turns).
      const other = new PostgresDb(pgUrl!, (store.db as PostgresDb).schema);
      const writer = other.transaction(async (tx) => {
        await tx.run("UPDATE slots SET stock = 0 WHERE machine_id = 'm-1'");
        wrote();
        await held;
      });
      await written;
      try {
        let timer: NodeJS.Timeout | undefined;
        const waited = new Promise<"waited">((resolve) => (timer = setTimeout(() => resolve("waited"), 3_000)));
        const during = await Promise.race([picks.computePage({ nowMs: NOW, offset: 0, limit: 500 }), waited]);
        clearTimeout(timer);
        expect(during, "the page waited for the writer's commit").not.toBe("waited");
        if (during !== "waited") expect(during.machines.find((m) => m.machineId === "m-1")!.toLoad).toBe(kept);
      } finally {
        release();
        await writer;
        await other.close();
      }
      const after = await expectPageIsWhole();
      expect(after.machines.find((m) => m.machineId === "m-1")!.toLoad).toBe(SLOTS.length * 10);
    });
  });
}
