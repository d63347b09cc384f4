// The pick list's store over both engines (SQLite always, PostgreSQL with TEST_PG_URL): par levels, the numbers of
// the pick list from known stock and sales, the order by need, the van's totals, and the shrinkage of a restock
// matched against the pick list issued before it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MqttMessage } from "@zapvend/protocol";
import { event } from "../__fixtures__/messages.js";
import { D, H, NOW, seedPicklistFleet } from "../__fixtures__/picklist.js";
import { engines } from "../__fixtures__/stores.js";
import type { FleetStore } from "../store/fleet-store.js";
import { PicklistStore } from "./picklist-store.js";

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`PicklistStore on ${engine.name}`, () => {
    let store: FleetStore;
    let picks: PicklistStore;
    let cleanup: () => Promise<void>;
    const apply = (msgs: MqttMessage[]) => store.applyBatch(msgs.map((msg) => ({ msg, receivedAt: NOW - 9 * D })));
    beforeEach(async () => {
      ({ store, cleanup } = await engine.open());
      picks = new PicklistStore(store.db);
      await seedPicklistFleet(apply);
    });
    afterEach(async () => {
      await cleanup();
    });

    it("keeps a par per slot (default the capacity), refuses one above capacity or for an unknown slot, and clears it", async () => {
      expect((await picks.pars("m-1"))!.map((p) => [p.slot, p.par, p.parSet])).toEqual([["A1", 10, false], ["A2", 10, false], ["A3", 12, false]]);
      const after = await picks.setPars("m-1", { pars: { A1: 8, A3: 6 } }, "user:op", NOW);
      expect(after.map((p) => [p.slot, p.par, p.parSet])).toEqual([["A1", 8, true], ["A2", 10, false], ["A3", 6, true]]);
      await expect(picks.setPars("m-1", { pars: { A1: 11 } }, "user:op", NOW)).rejects.toMatchObject({ code: "par_above_capacity", status: 400 });
      await expect(picks.setPars("m-1", { pars: { A1: 5, Z9: 1 } }, "user:op", NOW)).rejects.toMatchObject({ code: "unknown_slot" });
      await expect(picks.setPars("nope", { pars: { A1: 1 } }, "user:op", NOW)).rejects.toMatchObject({ code: "machine_not_found", status: 404 });
      // A refused edit changed nothing (all or none).
      expect((await picks.pars("m-1"))!.find((p) => p.slot === "A1")!.par).toBe(8);
      await picks.setPars("m-1", { pars: { A3: null } }, "user:op", NOW);
      expect((await picks.pars("m-1"))!.find((p) => p.slot === "A3")).toMatchObject({ par: 12, parSet: false });
      expect(await picks.pars("nope")).toBeNull();
    });

    it("computes stock, par, to load and days left from the reported stock and the last 7 days of sales, ordered by need", async () => {
      await picks.setPars("m-1", { pars: { A1: 8 } }, "user:op", NOW);
      const list = await picks.compute({ nowMs: NOW });
      expect(list.windowDays).toBe(7);
      expect(list.machines.map((m) => [m.machineId, m.emptySlots, m.daysLeft, m.toLoad])).toEqual([
        ["m-1", 1, 2, 6 + 10 + 3],
        ["m-2", 0, 14, 6],
        ["m-3", 0, null, 5],
      ]);
      const m1 = list.machines[0]!;
      expect(m1.lines.map((l) => [l.slot, l.stock, l.par, l.parSet, l.toLoad, l.sold, l.perDay, l.daysLeft])).toEqual([
        ["A1", 2, 8, true, 6, 7, 1, 2],
        ["A2", 0, 10, false, 10, 0, 0, null],
        ["A3", 9, 12, false, 3, 3, 0.43, 21],
      ]);
      // The disabled slot is not on the list.
      expect(list.machines[1]!.lines.map((l) => l.slot)).toEqual(["A1"]);
      expect(list.totals).toEqual([
        { name: "Product A1", kind: "spiral", toLoad: 17, machines: 3 },
        { name: "Product A2", kind: "spiral", toLoad: 10, machines: 1 },
        { name: "Product A3", kind: "spiral", toLoad: 3, machines: 1 },
      ]);
      expect(list.toLoad).toBe(30);
      // A 1-day window sees only the last day's sales: m-2's 2 sales, m-1's one A1 sale and one A3 sale.
      const day = await picks.compute({ nowMs: NOW, windowDays: 1 });
      expect(day.machines.map((m) => [m.machineId, m.daysLeft])).toEqual([["m-1", 2], ["m-2", 2], ["m-3", null]]);
    });

    it("computes the pick list of a group of machines only", async () => {
      const list = await picks.compute({ nowMs: NOW, machineIds: ["m-3", "m-2", "unknown-9"] });
      expect(list.machines.map((m) => m.machineId)).toEqual(["m-2", "m-3"]);
      expect(list.totals).toEqual([{ name: "Product A1", kind: "spiral", toLoad: 11, machines: 2 }]);
    });

    it("saves an issued pick list with its lines and matches the technician's restocks after it as shrinkage", async () => {
      await picks.setPars("m-1", { pars: { A1: 8 } }, "user:op", NOW);
      const issued = await picks.issue({ nowMs: NOW, machineIds: ["m-1", "m-2"] }, "user:tech");
      expect(issued.id).toMatch(/^pl-/);
      expect(issued.issuedBy).toBe("user:tech");
      expect(issued.toLoad).toBe(25);
      expect(issued.restocked).toBe(0);
      // A par changed after the issue does not change what was issued.
      await picks.setPars("m-1", { pars: { A1: 3 } }, "user:op", NOW + H);
      let seq = 100;
      await apply([
        // Before the issue: not an answer to it.
        event("m-2", "restock", { seq: ++seq, ts: NOW - H, body: { slot: "A1", previous: 4, stock: 10 } }),
        // A1: planned 6; a sale during the day left 1; the technician counted 6 after filling: 1 unit short.
        event("m-1", "restock", { seq: ++seq, ts: NOW + 2 * H, body: { slot: "A1", previous: 1, stock: 6 } }),
        // A2: planned 10, loaded 10.
        event("m-1", "restock", { seq: ++seq, ts: NOW + 2 * H + 1000, body: { slot: "A2", previous: 0, stock: 10 } }),
        // A2 corrected a minute later: the visit counts the first `previous` and the last stock.
        event("m-1", "restock", { seq: ++seq, ts: NOW + 2 * H + 60_000, body: { slot: "A2", previous: 10, stock: 9 } }),
      ]);
      const got = (await picks.issued(issued.id))!;
      const lines = Object.fromEntries(got.machines.flatMap((m) => m.lines.map((l) => [`${m.machineId}/${l.slot}`, l])));
      expect(lines["m-1/A1"]).toMatchObject({ stock: 2, par: 8, toLoad: 6, restock: { at: NOW + 2 * H, previous: 1, counted: 6, loaded: 5, expected: 7, shrinkage: 1 } });
      expect(lines["m-1/A2"]).toMatchObject({ toLoad: 10, restock: { previous: 0, counted: 9, loaded: 9, expected: 10, shrinkage: 1 } });
      expect(lines["m-1/A3"]!.restock).toBeNull();
      expect(lines["m-2/A1"]!.restock).toBeNull();
      expect(got.restocked).toBe(2);
      expect(got.shrinkage).toBe(2);

      // A second pick list for m-1: restocks after it answer it, not the first one.
      const second = await picks.issue({ nowMs: NOW + 5 * H, machineIds: ["m-1"] }, "user:tech");
      await apply([event("m-1", "restock", { seq: ++seq, ts: NOW + 6 * H, body: { slot: "A3", previous: 9, stock: 12 } })]);
      expect((await picks.issued(issued.id))!.machines[0]!.lines.find((l) => l.slot === "A3")!.restock).toBeNull();
      const s2 = (await picks.issued(second.id))!;
      expect(s2.machines[0]!.lines.find((l) => l.slot === "A3")!.restock).toMatchObject({ previous: 9, counted: 12, expected: 12, shrinkage: 0 });
      const listed = await picks.listIssued();
      expect(listed.map((l) => [l.id, l.machineIds, l.restocked, l.shrinkage])).toEqual([
        [second.id, ["m-1"], 1, 0],
        [issued.id, ["m-1", "m-2"], 2, 2],
      ]);
      expect(await picks.issued("pl-none-such")).toBeNull();
    });

    it("refuses to issue a pick list without machines", async () => {
      await expect(picks.issue({ nowMs: NOW, machineIds: ["nobody-1"] }, "user:tech")).rejects.toMatchObject({ code: "empty_picklist", status: 400 });
    });
  });
}
