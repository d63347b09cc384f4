// Telemetry retention on both engines: old chart samples go, in batches that let ingest through; sales, events
// and everything else stay; the service prunes at start and on its timer.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MqttMessage } from "@zapvend/protocol";
import { birth, event, sale, status, telemetry } from "./__fixtures__/messages.js";
import { RecordingLink } from "./__fixtures__/recording-link.js";
import { engines } from "./__fixtures__/stores.js";
import type { Clock } from "./clock.js";
import { FleetService } from "./fleet-service.js";
import { num } from "./store/db.js";
import type { FleetStore } from "./store/fleet-store.js";

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const DAY = 86_400_000;
const MIN = 60_000;

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`telemetry retention on ${engine.name}${engine.skip ? ` (${engine.skip})` : ""}`, () => {
    let store: FleetStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await engine.open({ telemetrySampleMs: 60_000 }));
    });
    afterEach(async () => {
      vi.useRealTimers();
      await cleanup();
    });

    const apply = (msgs: MqttMessage[], at = T0) => store.applyBatch(msgs.map((msg) => ({ msg, receivedAt: at })));
    const count = async (table: string) => num((await store.db.all(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
    /** Ten days of samples, one every 30 minutes, for two machines, plus old sales and events. */
    async function tenDays(): Promise<void> {
      await apply([birth("m-1", { slots: [{ slot: "A1", stock: 9 }] }), birth("m-2"), status("m-1", "online", { boot: 1, seq: 1 })], T0 - 10 * DAY);
      const msgs: MqttMessage[] = [];
      for (let t = T0 - 10 * DAY; t < T0; t += 30 * MIN) msgs.push(telemetry("m-1", { ts: t }), telemetry("m-2", { ts: t + MIN }));
      await apply(msgs, T0 - 10 * DAY);
      await apply([sale("m-1", { seq: 1, settledAt: T0 - 9 * DAY }), event("m-1", "door", { seq: 2, ts: T0 - 9 * DAY }), sale("m-1", { seq: 3, settledAt: T0 - DAY })], T0 - DAY);
    }

    it("deletes only samples older than the cutoff, batch by batch, and never a sale or an event", async () => {
      await tenDays();
      expect(await count("telemetry")).toBe(2 * 480);
      const cutoff = T0 - 7 * DAY;
      const deleted = await store.pruneTelemetry(cutoff, { batchSize: 50 });
      expect(deleted).toBe(2 * 3 * 48);
      expect(await count("telemetry")).toBe(2 * 7 * 48);
      expect((await store.telemetryStats()).oldestMs).toBe(cutoff);
      expect(await count("ledger")).toBe(2);
      expect(await count("events")).toBe(3);
      expect((await store.listSales({ machineId: "m-1" })).map((s) => s.settledAt)).toEqual([T0 - DAY, T0 - 9 * DAY]);
      // The charts still show the kept week; the machine's latest reading is untouched.
      expect((await store.telemetryHistory("m-1", 1000))[0]!.ts).toBe(cutoff);
      expect((await store.latestTelemetry("m-1"))!.ts).toBe(T0 - 30 * MIN);
      // Nothing left to do: a second run deletes nothing.
      expect(await store.pruneTelemetry(cutoff, { batchSize: 50 })).toBe(0);
    });

    it("lets an ingest batch through between two delete batches instead of after the whole pruning", async () => {
      await tenDays();
      const order: string[] = [];
      const pruning = store.pruneTelemetry(T0 - 7 * DAY, { batchSize: 20 }).then((n) => (order.push("prune"), n));
      const ingest = apply([sale("m-1", { seq: 4, settledAt: T0 }), telemetry("m-1", { ts: T0 })], T0).then(() => order.push("ingest"));
      await Promise.all([pruning, ingest]);
      expect(order).toEqual(["ingest", "prune"]);
      expect(await pruning).toBe(2 * 3 * 48);
      expect(await count("ledger")).toBe(3);
    });

    it("stops between batches when aborted, and finishes at the next run", async () => {
      await tenDays();
      const ac = new AbortController();
      const first = store.pruneTelemetry(T0 - 7 * DAY, { batchSize: 10, signal: ac.signal });
      ac.abort();
      const n1 = await first;
      expect(n1).toBe(10);
      expect(n1 + (await store.pruneTelemetry(T0 - 7 * DAY, { batchSize: 1000 }))).toBe(2 * 3 * 48);
    });

    it("prunes in the service at start and then on its timer, with the configured retention", async () => {
      await tenDays();
      vi.useFakeTimers({ now: T0, toFake: ["Date", "setInterval", "clearInterval"] });
      const clock: Clock = { now: () => Date.now(), setInterval: (fn, ms) => setInterval(fn, ms), clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>) };
      const service = new FleetService({
        store,
          link: new RecordingLink(),
        clock,
        alertIntervalMs: 3_600_000,
        retention: { telemetryMs: 7 * DAY, pruneIntervalMs: 6 * 3_600_000, batchSize: 100 },
      });
      try {
        await service.start();
        await service.pruned(); // the run that start() began
        expect(service.retentionStats).toMatchObject({ runs: 1, deleted: 2 * 3 * 48, lastRunAt: T0, lastError: null });
        expect(await count("telemetry")).toBe(2 * 7 * 48);
        // Six hours later the timer moves the cutoff by six hours: 12 more samples per machine go.
        await vi.advanceTimersByTimeAsync(6 * 3_600_000);
        await service.pruned();
        expect(service.retentionStats.runs).toBe(2);
        expect(service.retentionStats.lastDeleted).toBe(2 * 12);
        expect((await store.telemetryStats()).oldestMs).toBe(T0 + 6 * 3_600_000 - 7 * DAY);
        expect(await count("ledger")).toBe(2);
      } finally {
        await service.stop();
      }
    });
  });
}
