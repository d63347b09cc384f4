// Alerts over time, with fake timers: what the operator sees in the alert list as machines go quiet, run low,
// get warm or fail, and what clears by itself.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Alert } from "@zapvend/protocol";
import { birth, event, sale, status, telemetry } from "./__fixtures__/messages.js";
import { RecordingLink } from "./__fixtures__/recording-link.js";
import { engines } from "./__fixtures__/stores.js";
import { conditionsFor, DEFAULT_ALERT_SETTINGS } from "./alerts.js";
import type { Clock } from "./clock.js";
import { FleetService } from "./fleet-service.js";

const T0 = Date.UTC(2026, 10, 20, 8, 0, 0);
const MIN = 60_000;

describe("alerts", () => {
  let service: FleetService;
  let cleanup: () => Promise<void>;
  let pushed: Alert[];

  beforeEach(async () => {
    vi.useFakeTimers({ now: T0, toFake: ["Date", "setInterval", "clearInterval"] });
    const clock: Clock = { now: () => Date.now(), setInterval: (fn, ms) => setInterval(fn, ms), clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>) };
    const opened = await engines[0]!.open();
    cleanup = opened.cleanup;
    service = new FleetService({
      store: opened.store,
      link: new RecordingLink(),
      clock,
      liveIntervalMs: 1_000,
      alertIntervalMs: 30_000,
      alerts: { offlineAfterMs: 5 * MIN, noSalesAfterMs: 2 * 3_600_000, lowStockBelow: 2, temperatureRangeC: [2, 12], vendFailuresInARow: 3 },
    });
    pushed = [];
    service.on("alert", (a) => pushed.push(a));
    await service.start();
  });

  afterEach(async () => {
    await service.stop();
    await cleanup();
    vi.useRealTimers();
  });

  const open = async () => (await service.store.listAlerts()).map((a) => `${a.kind}:${a.severity}`).sort();

  it("raises machine-lost after N minutes of lost, once, and clears it when the machine is back", async () => {
    await service.ingest([birth("m-1", { slots: [{ slot: "A1", stock: 5 }] }), status("m-1", "online", { boot: 1, seq: 1 })]);
    await vi.advanceTimersByTimeAsync(1 * MIN);
    await service.ingest([status("m-1", "lost", { boot: 1, seq: 0 })]);
    await vi.advanceTimersByTimeAsync(4 * MIN);
    expect(await open()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1 * MIN + 30_000);
    expect(await open()).toEqual(["machine-lost:critical"]);
    await vi.advanceTimersByTimeAsync(10 * MIN);
    expect(await service.store.listAlerts({ includeCleared: true })).toHaveLength(1);
    await service.ingest([status("m-1", "online", { boot: 2, seq: 0 })]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await open()).toEqual([]);
    expect(pushed.map((a) => [a.kind, a.clearedAt === null ? "raised" : "cleared"])).toEqual([
      ["machine-lost", "raised"],
      ["machine-lost", "cleared"],
    ]);
  });

  it("raises a silent machine as offline when nothing arrives for N minutes", async () => {
    await service.ingest([status("m-1", "online", { boot: 1, seq: 1 })]);
    await vi.advanceTimersByTimeAsync(6 * MIN);
    expect(await open()).toEqual(["machine-offline:warning"]);
    const msg = (await service.store.listAlerts())[0]!.message;
    expect(msg).toContain("sent nothing");
  });

  it("raises stock, door, temperature, payments, vend failures and missing events as they happen, within a live tick", async () => {
    await service.ingest([birth("m-1", { slots: [{ slot: "A1", stock: 3 }, { slot: "A2", stock: 5, enabled: false }] }), status("m-1", "online", { boot: 1, seq: 1 })]);
    await service.ingest([telemetry("m-1", { ts: T0 + 1, stock: [{ slot: "A1", stock: 1 }, { slot: "A2", stock: 0 }], door: "open", temperatureC: 15, payments: "down" })]);
    await service.ingest([1, 2, 3].map((seq) => event("m-1", "vend-failed", { seq })));
    await service.ingest([event("m-1", "door", { seq: 7, body: { open: true } })]);
    await vi.advanceTimersByTimeAsync(1_000);
    // A2 is disabled: it runs empty without alarming anyone.
    expect(await open()).toEqual(["door-open:critical", "events-missing:warning", "low-stock:warning", "payments-down:critical", "temperature:warning", "vend-failures:critical"]);
    const low = (await service.store.listAlerts()).find((a) => a.kind === "low-stock")!;
    expect(low.message).toBe("A1 (Product A1) has 1 left");

    // The technician arrives: service mode, door open is expected; restock, fix, close.
    await service.ingest([status("m-1", "service", { boot: 1, seq: 2 })]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await open()).not.toContain("door-open:critical");
    await service.ingest([
      event("m-1", "restock", { seq: 4, body: { slot: "A1", previous: 1, stock: 10 } }),
      event("m-1", "door", { seq: 5, body: { open: false } }),
      event("m-1", "door", { seq: 6, body: { open: false } }),
      telemetry("m-1", { ts: T0 + 2, door: "closed", temperatureC: 6, payments: "up", stock: [{ slot: "A1", stock: 10 }] }),
      sale("m-1", { seq: 8, ts: T0 + 3 }),
      status("m-1", "online", { boot: 1, seq: 3 }),
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await open()).toEqual([]);
  });

  it("raises no-sales only for a machine that is online and selling", async () => {
    await service.ingest([status("m-1", "online", { boot: 1, seq: 1 }), sale("m-1", { seq: 1, settledAt: T0 })]);
    // Telemetry keeps it from looking offline.
    for (let i = 1; i <= 9; i++) {
      await vi.advanceTimersByTimeAsync(15 * MIN);
      await service.ingest([telemetry("m-1", { ts: T0 + i * 15 * MIN })]);
    }
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await open()).toEqual(["no-sales:info"]);
  });

  it("keeps acknowledgement on an alert while it stays open", async () => {
    await service.ingest([birth("m-1", { slots: [{ slot: "A1", stock: 0 }] })]);
    await vi.advanceTimersByTimeAsync(1_000);
    const [a] = await service.store.listAlerts();
    await service.acknowledgeAlert(a!.id);
    await vi.advanceTimersByTimeAsync(60_000);
    const [b] = await service.store.listAlerts();
    expect(b!.id).toBe(a!.id);
    expect(b!.acknowledgedAt).toBe(T0 + 1_000);
  });
});

describe("alert policy", () => {
  it("does not call a machine offline that has not been silent long enough", () => {
    const h = { id: "m", status: "online" as const, statusChangedAt: 0, lastSeen: 1_000, firstSeen: 0, temperatureC: null, door: null, payments: null, vendFailuresInARow: 0, lastSaleAt: null, missingEvents: 0, mode: null, slots: [] };
    expect(conditionsFor(h, DEFAULT_ALERT_SETTINGS, 1_000 + DEFAULT_ALERT_SETTINGS.offlineAfterMs - 1)).toEqual([]);
    expect(conditionsFor(h, DEFAULT_ALERT_SETTINGS, 1_000 + DEFAULT_ALERT_SETTINGS.offlineAfterMs).map((a) => a.kind)).toEqual(["machine-offline"]);
  });
});
