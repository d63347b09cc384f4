// One contract suite over both engines: whatever the store runs on, the operator sees the same rows.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MqttMessage } from "@zapvend/protocol";
import { birth, commandResult, event, reported, sale, status, telemetry, uid } from "../__fixtures__/messages.js";
import { engines } from "../__fixtures__/stores.js";
import { num } from "./db.js";
import type { FleetStore } from "./fleet-store.js";
import { LATEST_SCHEMA_VERSION, SCHEMA_VERSIONS } from "./migrations.js";

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
if (engines.some((e) => e.skip)) console.warn(`[fleet store] ${engines.filter((e) => e.skip).map((e) => e.skip).join("; ")}`);

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`FleetStore on ${engine.name}${engine.skip ? ` (${engine.skip})` : ""}`, () => {
    let store: FleetStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await engine.open({ telemetrySampleMs: 60_000 }));
    });
    afterEach(async () => {
      await cleanup();
    });

    const apply = (msgs: MqttMessage[], at = T0) => store.applyBatch(msgs.map((msg) => ({ msg, receivedAt: at })));
    const count = async (sql: string, params: Array<string | number> = []) => num((await store.db.all(sql, params))[0]!.n);

    it("migrates once: a second start applies nothing and keeps the data", async () => {
      await apply([birth("m-1")]);
      await store.start(T0);
      expect(await count("SELECT COUNT(*) AS n FROM schema_migrations")).toBe(SCHEMA_VERSIONS.length);
      expect(await count("SELECT MAX(version) AS n FROM schema_migrations")).toBe(LATEST_SCHEMA_VERSION);
      expect(await count("SELECT COUNT(*) AS n FROM machines")).toBe(1);
    });

    it("stores a sale once per (machine, id) whatever the redeliveries, in one batch or across batches", async () => {
      await apply([birth("m-1")]);
      const s = sale("m-1", { id: "sale-00000001", seq: 1, settledAt: T0 });
      const first = await apply([s, s]);
      expect(first.map((o) => o.duplicate ?? false)).toEqual([false, true]);
      expect(first[0]!.sale?.amountMsat).toBe("1500000");
      const again = await apply([s]);
      expect(again[0]!.duplicate).toBe(true);
      // The same id from another machine is another sale.
      await apply([sale("m-2", { id: "sale-00000001", seq: 1, settledAt: T0 })]);

      expect(await count("SELECT COUNT(*) AS n FROM ledger WHERE machine_id = ?", ["m-1"])).toBe(1);
      expect(await count("SELECT COUNT(*) AS n FROM events WHERE machine_id = ?", ["m-1"])).toBe(1);
      expect(await count("SELECT COUNT(*) AS n FROM ledger")).toBe(2);
      const sales = await store.listSales({ machineId: "m-1" });
      expect(sales).toHaveLength(1);
      expect(sales[0]).toMatchObject({ eventId: "sale-00000001", slot: "A1", amountMsat: "1500000", hold: true, settledAt: T0 });
      // Stock went down once, not three times.
      expect((await store.getMachine("m-1"))!.stock.find((x) => x.slot === "A1")!.stock).toBe(7);
    });

    it("detects sequence gaps, shows them, and closes them when late events arrive", async () => {
      await apply([0, 1, 2, 5, 6, 9].map((seq) => event("m-1", "door", { seq, body: { open: false } })));
      expect((await store.getMachine("m-1"))!.missingEvents).toBe(4);
      expect(await store.gaps("m-1")).toEqual([
        { fromSeq: 3, toSeq: 4 },
        { fromSeq: 7, toSeq: 8 },
      ]);
      const late3 = event("m-1", "door", { seq: 3, body: { open: false } });
      await apply([late3, event("m-1", "door", { seq: 4, body: { open: false } }), late3]);
      expect((await store.getMachine("m-1"))!.missingEvents).toBe(2);
      expect(await store.gaps("m-1")).toEqual([{ fromSeq: 7, toSeq: 8 }]);
    });

    it("reports the contiguous run of committed event seqs per machine (what the fleet acknowledges), across gaps and late events", async () => {
      const door = (m: string, seq: number, id?: string) => event(m, "door", { seq, body: { open: false }, ...(id ? { id } : {}) });
      // Nothing stored yet: no run, so no ack.
      expect((await store.contiguousEvents(["m-1"])).size).toBe(0);
      const out = await apply([2, 3, 5, 6].map((seq) => door("m-1", seq)).concat([door("m-2", 1), door("m-2", 2)]));
      expect(out.map((o) => o.eventSeq)).toEqual([2, 3, 5, 6, 1, 2]);
      let runs = await store.contiguousEvents(["m-1", "m-2", "m-unknown"]);
      // The run starts at the lowest seq stored (seq 1 of m-1 is not there: an ack never covers it).
      expect(runs.get("m-1")).toEqual({ from: 2, upTo: 3 });
      expect(runs.get("m-2")).toEqual({ from: 1, upTo: 2 });
      expect(runs.has("m-unknown")).toBe(false);
      // A redelivery is acknowledged again (its seq comes back with the outcome) and changes no run.
      const again = await apply([door("m-2", 2, (await store.recentEvents("m-2", 10)).find((e) => e.seq === 2)!.eventId)]);
      expect(again[0]).toMatchObject({ duplicate: true, eventSeq: 2 });
      // The missing 4 arrives: the run reaches 6; then the missing 1: it starts at 1.
      await apply([door("m-1", 4)]);
      expect((await store.contiguousEvents(["m-1"])).get("m-1")).toEqual({ from: 2, upTo: 6 });
      await apply([door("m-1", 1), door("m-1", 8)]);
      runs = await store.contiguousEvents(["m-1"]);
      expect(runs.get("m-1")).toEqual({ from: 1, upTo: 6 });
      // The same seq under two ids (a machine whose database was replaced) is not a gap.
      await apply([door("m-1", 6, uid("replaced")), door("m-1", 7)]);
      expect((await store.contiguousEvents(["m-1"])).get("m-1")).toEqual({ from: 1, upTo: 8 });
    });

    it("a reinstalled machine (new installation id, boot 1 after boot 57): birth and status taken, the old will ignored, its events counted and acknowledged apart", async () => {
      // What parseMqttMessage gives for the same payload with `install` (the fixtures build payloads without it).
      const inst = <M extends MqttMessage>(msg: M, install: number): M => ({ ...msg, payload: { ...msg.payload, install } });
      const OLD = 2 ** 40 + 7;
      const NEW = 123_456_789;
      const door = (seq: number, install: number) => inst(event("m-1", "door", { seq, body: { open: false } }), install);
      const slotsOld = [{ slot: "A1", stock: 2 }];
      await apply([inst(status("m-1", "online", { boot: 57, seq: 3 }), OLD), inst(birth("m-1", { boot: 57, slots: slotsOld }), OLD)], T0);
      await apply([1, 2, 3, 4, 5].map((seq) => door(seq, OLD)), T0 + 10);
      expect((await store.contiguousEvents(["m-1"])).get("m-1")).toEqual({ from: 1, upTo: 5, install: OLD });
      await apply([inst(status("m-1", "offline", { boot: 57, seq: 4 }), OLD)], T0 + 20);

      // The SD card is replaced: boot 1 of a new installation. Under the old rule both were "older than boot 57".
      const [b] = await apply([inst(birth("m-1", { boot: 1, slots: [{ slot: "A1", stock: 9 }, { slot: "B1", stock: 4 }] }), NEW)], T0 + 1000);
      expect(b).toMatchObject({ changed: true, reinstalled: { previous: OLD, install: NEW, boot: 1 } });
      expect(b!.ignored).toBeUndefined();
      const [st] = await apply([inst(status("m-1", "online", { boot: 1, seq: 0 }), NEW)], T0 + 1001);
      expect(st).toMatchObject({ changed: true });
      let m = (await store.getMachine("m-1"))!;
      expect(m).toMatchObject({ status: "online", boot: 1 });
      expect(m.stock.map((x) => [x.slot, x.stock])).toEqual([
        ["A1", 9],
        ["B1", 4],
      ]);
      // The old installation's will, delivered late (boot 57 > 1 under the old rule): ignored.
      const [lost] = await apply([inst(status("m-1", "lost", { boot: 57, seq: 0 }), OLD)], T0 + 1002);
      expect(lost).toMatchObject({ changed: false, ignored: expect.stringMatching(/installation/) });
      expect((await store.getMachine("m-1"))!.status).toBe("online");
      // Within the new installation the boot order holds again.
      const [stale] = await apply([inst(birth("m-1", { boot: 0 }), NEW)], T0 + 1003);
      expect(stale!.ignored).toMatch(/older than boot 1/);

      // New events restart at seq 1: stored (deduped by id only), counted apart from the old 1..5.
      const out = await apply([door(1, NEW), door(2, NEW), door(4, NEW)], T0 + 1100);
      expect(out.map((o) => [o.changed, o.eventSeq, o.eventInstall])).toEqual([
        [true, 1, NEW],
        [true, 2, NEW],
        [true, 4, NEW],
      ]);
      expect(await count("SELECT COUNT(*) AS n FROM events WHERE machine_id = ?", ["m-1"])).toBe(8);
      // The ack for the new installation covers 1..2 only: seq 3 of it is missing (the old 3 is another event).
      expect((await store.contiguousEvents(["m-1"])).get("m-1")).toEqual({ from: 1, upTo: 2, install: NEW });
      m = (await store.getMachine("m-1"))!;
      expect(m.missingEvents).toBe(1);
      expect(await store.gaps("m-1")).toEqual([{ fromSeq: 3, toSeq: 3 }]);
      // A late event of the old installation (a sale is never dropped) changes nothing of the new one's run.
      const late = await apply([inst(sale("m-1", { seq: 6, settledAt: T0 }), OLD)], T0 + 1200);
      expect(late[0]).toMatchObject({ changed: true, eventSeq: 6, eventInstall: OLD });
      expect(await count("SELECT COUNT(*) AS n FROM ledger WHERE machine_id = ?", ["m-1"])).toBe(1);
      expect((await store.contiguousEvents(["m-1"])).get("m-1")).toEqual({ from: 1, upTo: 2, install: NEW });
      await apply([door(3, NEW)], T0 + 1300);
      expect((await store.contiguousEvents(["m-1"])).get("m-1")).toEqual({ from: 1, upTo: 4, install: NEW });
      expect((await store.getMachine("m-1"))!.missingEvents).toBe(0);
      // The console's recent events: the new installation's first, then the old one's, each newest first.
      expect((await store.recentEvents("m-1")).map((e) => e.seq)).toEqual([4, 3, 2, 1, 6, 5, 4, 3, 2, 1]);
      // The current installation's will is taken.
      await apply([inst(status("m-1", "lost", { boot: 1, seq: 0 }), NEW)], T0 + 1400);
      expect((await store.getMachine("m-1"))!.status).toBe("lost");
    });

    it("an installation id seen for the first time (a machine known without one) is switched to; messages without one behave as before", async () => {
      const inst = <M extends MqttMessage>(msg: M, install: number): M => ({ ...msg, payload: { ...msg.payload, install } });
      await apply([status("m-1", "online", { boot: 57, seq: 1 }), birth("m-1", { boot: 57 })], T0);
      await apply([1, 2, 3].map((seq) => event("m-1", "door", { seq, body: { open: false } })), T0);
      expect((await store.contiguousEvents(["m-1"])).get("m-1")).toEqual({ from: 1, upTo: 3 });
      // Reflashed with software that sends installation ids: boot 1 is taken.
      const [b] = await apply([inst(birth("m-1", { boot: 1, slots: [{ slot: "C1", stock: 1 }] }), 42)], T0 + 1);
      expect(b).toMatchObject({ changed: true, reinstalled: { previous: null, install: 42, boot: 1 } });
      expect((await store.getMachine("m-1"))!.stock.map((x) => x.slot)).toEqual(["C1"]);
      // No event of installation 42 yet: an empty run that names it (nothing of the old 1..3 is acknowledged to it).
      expect((await store.contiguousEvents(["m-1"])).get("m-1")).toEqual({ from: 1, upTo: 0, install: 42 });
      // A status of the same installation switches nothing; one without the field is ordered by boot, as before.
      const [same] = await apply([inst(status("m-1", "online", { boot: 1, seq: 1 }), 42)], T0 + 2);
      expect(same!.reinstalled).toBeUndefined();
      const [old] = await apply([status("m-1", "offline", { boot: 0, seq: 9 })], T0 + 3);
      expect(old!.ignored).toMatch(/older/);
    });

    it("ignores a lost whose boot is older than the current birth; takes one of the current boot", async () => {
      await apply([status("m-1", "online", { boot: 1, seq: 1 })], T0);
      await apply([birth("m-1", { boot: 2 }), status("m-1", "online", { boot: 2, seq: 1 })], T0 + 1000);
      const stale = await apply([status("m-1", "lost", { boot: 1, seq: 0 })], T0 + 2000);
      expect(stale[0]!.ignored).toMatch(/older/);
      expect((await store.getMachine("m-1"))!.status).toBe("online");
      // The will of the current boot carries the seq it was registered with (lower than later statuses).
      await apply([status("m-1", "lost", { boot: 2, seq: 0 })], T0 + 3000);
      const m = (await store.getMachine("m-1"))!;
      expect(m.status).toBe("lost");
      expect(m.boot).toBe(2);
      // "lost" is the broker speaking: it does not count as the machine being seen.
      expect(m.lastSeen).toBe(T0 + 1000);
      const health = (await store.machineHealth())[0]!;
      expect(health.statusChangedAt).toBe(T0 + 3000);
    });

    it("orders statuses by (boot, seq), not by arrival", async () => {
      await apply([status("m-1", "online", { boot: 3, seq: 5 })]);
      const r = await apply([status("m-1", "offline", { boot: 3, seq: 4 })]);
      expect(r[0]!.changed).toBe(false);
      expect((await store.getMachine("m-1"))!.status).toBe("online");
      await apply([status("m-1", "service", { boot: 3, seq: 6 })]);
      expect((await store.getMachine("m-1"))!.status).toBe("service");
      await apply([status("m-1", "online", { boot: 4, seq: 0 })]);
      expect((await store.getMachine("m-1"))!).toMatchObject({ status: "online", boot: 4 });
    });

    it("keeps msat exact up to 21 million BTC, in sales and in report sums", async () => {
      const max = "2100000000000000000";
      await apply([sale("m-1", { seq: 1, amountMsat: max, settledAt: T0 }), sale("m-1", { seq: 2, amountMsat: "1", settledAt: T0 + 1 })]);
      const sales = await store.listSales({ machineId: "m-1" });
      expect(sales.map((s) => s.amountMsat).sort()).toEqual(["1", max]);
      const rep = await store.salesReport("machine");
      expect(rep[0]!.amountMsat).toBe("2100000000000000001");
    });

    it("filters sales by machine and time and reports per machine, slot and UTC day in sats and fiat", async () => {
      const day1 = Date.UTC(2026, 10, 19, 23, 30);
      const day2 = Date.UTC(2026, 10, 20, 0, 30);
      await apply([
        sale("m-1", { seq: 1, slot: "A1", settledAt: day1, amountMsat: "1000000", fiat: { currency: "EUR", amountMinor: 100 } }),
        sale("m-1", { seq: 2, slot: "A2", settledAt: day2, amountMsat: "2000000", fiat: { currency: "EUR", amountMinor: 200 } }),
        sale("m-1", { seq: 3, slot: "A2", settledAt: day2 + 1, amountMsat: "3000000", fiat: null }),
        sale("m-2", { seq: 1, slot: "A1", settledAt: day2, amountMsat: "5000000", fiat: { currency: "USD", amountMinor: 500 } }),
      ]);
      expect((await store.listSales({ machineId: "m-1", fromMs: day2 })).map((s) => s.seq).sort()).toEqual([2, 3]);
      expect((await store.listSales({ toMs: day2 })).map((s) => s.seq)).toEqual([1]);
      expect(await store.listSales({ limit: 2 })).toHaveLength(2);

      const byDay = await store.salesReport("day");
      expect(byDay.map((r) => [r.day, r.count, r.amountMsat])).toEqual([
        ["2026-11-19", 1, "1000000"],
        ["2026-11-20", 3, "10000000"],
      ]);
      expect(byDay[1]!.fiat).toEqual([
        { currency: "EUR", amountMinor: 200 },
        { currency: "USD", amountMinor: 500 },
      ]);
      const bySlot = await store.salesReport("slot", { machineId: "m-1" });
      expect(bySlot.map((r) => [r.machineId, r.slot, r.count, r.amountMsat])).toEqual([
        ["m-1", "A1", 1, "1000000"],
        ["m-1", "A2", 2, "5000000"],
      ]);
      const byMachine = await store.salesReport("machine");
      expect(byMachine.map((r) => [r.key, r.count])).toEqual([
        ["m-1", 3],
        ["m-2", 1],
      ]);
    });

    it("counts days in the given zone: the Paris daylight saving Sundays of 2026 last 23 and 25 hours", async () => {
      const at = [
        Date.UTC(2026, 2, 28, 22, 59, 59, 999), // 23:59:59.999 CET, Saturday 28 March
        Date.UTC(2026, 2, 28, 23, 0), // 00:00 CET, Sunday 29 March (a 23-hour day)
        Date.UTC(2026, 2, 29, 21, 59), // 23:59 CEST, still Sunday 29 March
        Date.UTC(2026, 2, 29, 22, 0), // 00:00 CEST, Monday 30 March
        Date.UTC(2026, 9, 24, 21, 59), // 23:59 CEST, Saturday 24 October
        Date.UTC(2026, 9, 24, 22, 0), // 00:00 CEST, Sunday 25 October (a 25-hour day)
        Date.UTC(2026, 9, 25, 22, 59), // 23:59 CET, still Sunday 25 October
        Date.UTC(2026, 9, 25, 23, 0), // 00:00 CET, Monday 26 October
      ];
      await apply(at.map((t, i) => sale("m-1", { seq: i + 1, settledAt: t, amountMsat: String((i + 1) * 1000), fiat: { currency: "EUR", amountMinor: i + 1 } })));
      const paris = await store.salesReport("day", {}, { timeZone: "Europe/Paris" });
      expect(paris.map((r) => [r.day, r.count, r.amountMsat])).toEqual([
        ["2026-03-28", 1, "1000"],
        ["2026-03-29", 2, "5000"],
        ["2026-03-30", 1, "4000"],
        ["2026-10-24", 1, "5000"],
        ["2026-10-25", 2, "13000"],
        ["2026-10-26", 1, "8000"],
      ]);
      expect(paris.every((r) => r.timeZone === "Europe/Paris" && r.key === r.day)).toBe(true);
      expect(paris[1]!.fiat).toEqual([{ currency: "EUR", amountMinor: 5 }]);
      // The same sales in UTC days (the default): 23:00 UTC on the 28th is the 28th there.
      const utc = await store.salesReport("day");
      expect(utc.map((r) => [r.day, r.count])).toEqual([
        ["2026-03-28", 2],
        ["2026-03-29", 2],
        ["2026-10-24", 2],
        ["2026-10-25", 2],
      ]);
      expect(utc[0]!.timeZone).toBe("UTC");
      // A range inside one day, a machine filter, and no sales at all.
      const sunday = await store.salesReport("day", { machineId: "m-1", fromMs: Date.UTC(2026, 9, 24, 22), toMs: Date.UTC(2026, 9, 25, 23) }, { timeZone: "Europe/Paris" });
      expect(sunday.map((r) => [r.day, r.count, r.machineId])).toEqual([["2026-10-25", 2, "m-1"]]);
      expect(await store.salesReport("day", { machineId: "m-2" }, { timeZone: "Europe/Paris" })).toEqual([]);
    });

    it("counts days of a half-hour zone (Asia/Kolkata, UTC+5:30): midnight is 18:30 UTC", async () => {
      await apply([
        sale("m-1", { seq: 1, settledAt: Date.UTC(2026, 5, 1, 18, 29, 59) }),
        sale("m-1", { seq: 2, settledAt: Date.UTC(2026, 5, 1, 18, 30) }),
        sale("m-1", { seq: 3, settledAt: Date.UTC(2026, 5, 2, 18, 29) }),
      ]);
      const rows = await store.salesReport("day", {}, { timeZone: "Asia/Kolkata" });
      expect(rows.map((r) => [r.day, r.count])).toEqual([
        ["2026-06-01", 1],
        ["2026-06-02", 2],
      ]);
    });

    it("lists every payment for reconciliation: settled, paid, refunded and credited", async () => {
      await apply([
        sale("m-1", { seq: 1, hold: true, settledAt: T0 }),
        sale("m-1", { seq: 2, hold: false, settledAt: T0 + 1 }),
        event("m-1", "refund", { seq: 3, ts: T0 + 2 }),
        event("m-1", "credit", { seq: 4, ts: T0 + 3 }),
      ]);
      const rec = await store.reconciliation({ machineId: "m-1" });
      expect(rec.map((r) => [r.kind, r.state])).toEqual([
        ["sale", "settled"],
        ["sale", "paid"],
        ["refund", "refunded"],
        ["credit", "credited"],
      ]);
      expect(rec.every((r) => /^[0-9a-f]{64}$/.test(r.paymentHash))).toBe(true);
    });

    it("tracks telemetry in order, stock per slot, door, faults and vend failures in a row", async () => {
      await apply([birth("m-1", { slots: [{ slot: "A1", stock: 5 }, { slot: "A2", stock: 5 }] })]);
      await apply([telemetry("m-1", { ts: T0 + 10_000, temperatureC: 7, stock: [{ slot: "A1", stock: 4 }] })]);
      const old = await apply([telemetry("m-1", { ts: T0 + 5_000, temperatureC: 30 })]);
      expect(old[0]!.changed).toBe(false);
      expect((await store.latestTelemetry("m-1"))!.temperatureC).toBe(7);
      // A sale older than the last telemetry was already counted in its stock.
      await apply([sale("m-1", { seq: 1, slot: "A1", ts: T0 + 1_000 }), sale("m-1", { seq: 2, slot: "A2", ts: T0 + 20_000 })]);
      const stock = Object.fromEntries((await store.getMachine("m-1"))!.stock.map((s) => [s.slot, s.stock]));
      expect(stock).toEqual({ A1: 4, A2: 4 });

      await apply([event("m-1", "fault", { seq: 3, ts: T0 + 30_000 }), event("m-1", "vend-failed", { seq: 4 }), event("m-1", "vend-failed", { seq: 5 })]);
      let m = (await store.getMachine("m-1"))!;
      expect(m.faults).toEqual([{ code: "PUMP_DRY_RUN", message: "tank empty" }]);
      expect((await store.machineHealth())[0]!.vendFailuresInARow).toBe(2);
      await apply([event("m-1", "fault", { seq: 6, ts: T0 + 40_000, body: { active: false } }), sale("m-1", { seq: 7, ts: T0 + 50_000 })]);
      m = (await store.getMachine("m-1"))!;
      expect(m.faults).toEqual([]);
      expect((await store.machineHealth())[0]!.vendFailuresInARow).toBe(0);
      await apply([event("m-1", "restock", { seq: 8, body: { slot: "A2", previous: 3, stock: 10 } })]);
      expect((await store.getMachine("m-1"))!.stock.find((s) => s.slot === "A2")!.stock).toBe(10);
    });

    it("keeps one telemetry sample per interval for the charts", async () => {
      await apply([0, 10_000, 30_000, 60_000, 90_000, 125_000].map((d) => telemetry("m-1", { ts: T0 + d })));
      expect((await store.telemetryHistory("m-1")).map((s) => s.ts - T0)).toEqual([0, 60_000, 125_000]);
    });

    it("raises one open alert per (machine, kind, subject), clears it, and keeps acknowledgements", async () => {
      const a = { machineId: "m-1", kind: "low-stock" as const, subject: "A1", severity: "warning" as const, message: "A1 low" };
      const first = await store.raiseAlert({ ...a, id: uid("alert") }, T0);
      expect(first).not.toBeNull();
      expect(await store.raiseAlert({ ...a, id: uid("alert") }, T0 + 1)).toBeNull();
      expect(await store.raiseAlert({ ...a, subject: "A2", id: uid("alert") }, T0 + 1)).not.toBeNull();
      const acked = await store.acknowledgeAlert(first!.id, T0 + 5);
      expect(acked!.acknowledgedAt).toBe(T0 + 5);
      expect((await store.acknowledgeAlert(first!.id, T0 + 9))!.acknowledgedAt).toBe(T0 + 5);
      expect(await store.acknowledgeAlert("no-such-alert", T0)).toBeNull();
      expect((await store.clearAlert(first!.id, T0 + 10))!.clearedAt).toBe(T0 + 10);
      expect(await store.raiseAlert({ ...a, id: uid("alert") }, T0 + 11)).not.toBeNull();
      expect((await store.openAlerts()).map((x) => x.subject).sort()).toEqual(["A1", "A2"]);
      expect(await store.listAlerts({ includeCleared: true })).toHaveLength(3);
      expect(await count("SELECT COUNT(*) AS n FROM alerts WHERE cleared_at IS NULL")).toBe(2);
    });

    it("versions desired state above anything reported and shows it pending until the machine reports it", async () => {
      await apply([birth("m-1"), reported("m-1", 4)]);
      const d1 = await store.updateDesired("m-1", { slots: { A1: { price: { unit: "msat", amountMsat: "2000000" } } } }, T0);
      expect(d1).toMatchObject({ version: 5, pending: true, reportedVersion: 4 });
      const d2 = await store.updateDesired("m-1", { slots: { A1: { enabled: false } } }, T0 + 1);
      expect(d2.version).toBe(6);
      expect(d2.slots.A1).toEqual({ price: { unit: "msat", amountMsat: "2000000" }, enabled: false });
      const out = await apply([reported("m-1", 6, { slots: { A1: { enabled: false, price: { unit: "msat", amountMsat: "2000000" } } } })]);
      expect(out[0]!.desired).toMatchObject({ version: 6, pending: false, reportedStatus: "applied" });
      const slot = (await store.slots("m-1")).find((s) => s.slot === "A1")!;
      expect(slot).toMatchObject({ enabled: false, price: { unit: "msat", amountMsat: "2000000" } });
      // An older reported state arriving late changes nothing.
      expect((await apply([reported("m-1", 5)]))[0]!.changed).toBe(false);
    });

    it("stores a command's result once", async () => {
      await store.insertCommand(
        { rid: "cmd-00000001", machineId: "m-1", name: "test-vend", args: { slot: "A1" }, sentAt: T0, expiresAt: T0 + 30_000, status: "sent", data: null, error: null, completedAt: null },
        1,
      );
      const r = commandResult("m-1", "test-vend", "cmd-00000001", { data: { dropSeen: true } });
      const out = await apply([r, r], T0 + 500);
      expect(out[0]!.command).toMatchObject({ rid: "cmd-00000001", status: "ok", data: { dropSeen: true }, completedAt: T0 + 500 });
      expect(out[1]!.duplicate).toBe(true);
      expect((await store.listCommands("m-1"))[0]!.status).toBe("ok");
    });

    it("counts up persistently", async () => {
      expect(await store.nextCounter("ctr")).toBe(1);
      expect(await store.nextCounter("ctr")).toBe(2);
      expect(await store.nextCounter("boot")).toBe(1);
    });
  });
}
