// The rules on fake timers: routing by kind and opening hours, at most one message per alert until it clears,
// "resolved" to the channels that were told, minor alerts and quiet-hour ones gathered into a digest. The HTTP
// transport is injected and records what the webhook and ntfy channels post (their wire format is tested against
// real receivers in webhook.test.ts and ntfy.test.ts).
import { EventEmitter } from "node:events";
import type { Alert } from "@zapvend/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { alert, notifications } from "../__fixtures__/notify.js";
import { engines } from "../__fixtures__/stores.js";
import { DEFAULT_ALERT_SETTINGS } from "../alerts.js";
import { systemClock } from "../clock.js";
import type { FleetStore } from "../store/fleet-store.js";
import type { HttpPost } from "./channel.js";
import { Notifier } from "./notifier.js";

// Monday 7 December 2026; Paris is UTC+1.
const paris = (h: number, m = 0) => Date.UTC(2026, 11, 7, h - 1, m);
const HOURS = { tz: "Europe/Paris", days: { mon: ["08:00-20:00"], tue: ["08:00-20:00"], wed: ["08:00-20:00"], thu: ["08:00-20:00"], fri: ["08:00-20:00"] } };
const NIGHTS = ["22:00-07:00"];
const CONFIG = {
  channels: {
    "tech-hook": { type: "webhook", url: "http://tech.invalid/hook", secret: "a-webhook-secret-of-32-characters" },
    "ops-ntfy": { type: "ntfy", server: "http://ntfy.invalid", topic: "zapvend-ops" },
  },
  groups: { technicians: ["tech-hook"], operator: ["ops-ntfy"] },
  routes: [
    { kinds: ["door-open"], when: "closed", to: ["technicians"] },
    { kinds: ["no-sales"], to: ["operator"] },
    { kinds: ["temperature"], to: ["technicians", "operator"] },
  ],
  quietHours: { tz: "Europe/Paris", days: { mon: NIGHTS, tue: NIGHTS, wed: NIGHTS, thu: NIGHTS, fri: NIGHTS, sat: NIGHTS, sun: NIGHTS } },
  digestIntervalMs: 3_600_000,
  maxAttempts: 2,
  retryBaseMs: 1_000,
};

describe("Notifier rules", () => {
  let store: FleetStore;
  let cleanup: () => Promise<void>;
  let notifier: Notifier;
  let sent: Array<{ url: string; headers: Record<string, string>; body: string }>;
  const source = new EventEmitter<{ alert: [Alert] }>();

  beforeEach(async () => {
    ({ store, cleanup } = await engines[0]!.open());
    vi.useFakeTimers({ now: paris(21, 30), toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    sent = [];
    const post: HttpPost = async (url, req) => {
      sent.push({ url, headers: req.headers, body: req.body });
      return { status: 200, body: "" };
    };
    notifier = new Notifier({ config: notifications(CONFIG), alertSettings: { ...DEFAULT_ALERT_SETTINGS, openingHours: HOURS }, db: store.db, clock: systemClock, post, newId: (() => { let n = 0; return () => `n${++n}`; })() });
    notifier.start(source);
  });
  afterEach(async () => {
    await notifier.stop();
    vi.useRealTimers();
    await cleanup();
  });

  /** A fresh notifier started at `ms` (its digest interval counts from there). */
  const startAt = async (ms: number) => {
    await notifier.stop();
    vi.setSystemTime(ms);
    notifier = new Notifier({ config: notifications(CONFIG), alertSettings: { ...DEFAULT_ALERT_SETTINGS, openingHours: HOURS }, db: store.db, clock: systemClock, post: async (url, req) => (sent.push({ url, headers: req.headers, body: req.body }), { status: 200, body: "" }) });
    notifier.start(source);
  };

  const emit = async (a: Alert) => {
    source.emit("alert", a);
    await vi.advanceTimersByTimeAsync(0);
    await notifier.idle();
  };

  it("sends a door open after hours to the technicians once until it clears, then 'resolved'", async () => {
    const door = alert({ id: "door-1", raisedAt: paris(21, 30) });
    await emit(door);
    expect(sent.map((s) => s.url)).toEqual(["http://tech.invalid/hook"]);
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ event: "raised", alerts: [{ id: "door-1" }] });
    // Acknowledged, then raised again (a second server, a replayed event): no second message.
    await emit({ ...door, acknowledgedAt: paris(21, 31) });
    await emit(door);
    expect(sent).toHaveLength(1);
    await emit({ ...door, clearedAt: paris(21, 40) });
    expect(sent).toHaveLength(2);
    expect(JSON.parse(sent[1]!.body)).toMatchObject({ event: "resolved", title: "Resolved: door-open on m-1" });
    expect((await notifier.deliveries.list()).map((r) => r.dedupeKey)).toEqual(["door-1:resolved", "door-1:raised"]);
  });

  it("does not route a door open during opening hours (the technician is there)", async () => {
    vi.setSystemTime(paris(10));
    await emit(alert({ id: "door-2", raisedAt: paris(10) }));
    await emit(alert({ id: "door-2", raisedAt: paris(10), clearedAt: paris(10, 5) }));
    expect(sent).toHaveLength(0);
  });

  it("gathers minor alerts into one digest per channel on the digest timer, and drops those cleared meanwhile", async () => {
    await startAt(paris(10));
    await emit(alert({ id: "ns-1", kind: "no-sales", severity: "info", machineId: "m-1", message: "no sale on m-1 for 6 h", raisedAt: paris(10) }));
    await emit(alert({ id: "ns-2", kind: "no-sales", severity: "info", machineId: "m-2", message: "no sale on m-2 for 6 h", raisedAt: paris(10) }));
    await emit(alert({ id: "ns-3", kind: "no-sales", severity: "info", machineId: "m-3", message: "no sale on m-3 for 6 h", raisedAt: paris(10) }));
    await emit(alert({ id: "ns-3", kind: "no-sales", severity: "info", machineId: "m-3", raisedAt: paris(10), clearedAt: paris(10, 10) }));
    expect(sent).toHaveLength(0);
    expect(notifier.waiting).toBe(2);
    await vi.advanceTimersByTimeAsync(59 * 60_000);
    await notifier.idle();
    expect(sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(60_000);
    await notifier.idle();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe("http://ntfy.invalid/zapvend-ops");
    expect(sent[0]!.headers).toMatchObject({ Title: "Digest: 2 alerts", Priority: "default" });
    expect(sent[0]!.body).toContain("m-1");
    expect(sent[0]!.body).toContain("m-2");
    expect(sent[0]!.body).not.toContain("m-3");
    expect(notifier.waiting).toBe(0);
    // A minor alert told in a digest gets no "resolved" message of its own when it clears.
    await emit(alert({ id: "ns-1", kind: "no-sales", severity: "info", machineId: "m-1", raisedAt: paris(10), clearedAt: paris(11, 30) }));
    expect(sent).toHaveLength(1);
  });

  it("holds a warning raised in quiet hours until they end, while a critical one goes at once", async () => {
    vi.setSystemTime(paris(23));
    await emit(alert({ id: "t-1", kind: "temperature", severity: "warning", message: "m-1 is at 14.0 °C", raisedAt: paris(23) }));
    await emit(alert({ id: "door-3", raisedAt: paris(23) }));
    expect(sent.map((s) => s.url)).toEqual(["http://tech.invalid/hook"]);
    expect(JSON.parse(sent[0]!.body).alerts[0].id).toBe("door-3");
    // Digest ticks at 00:00 ... 06:00 Paris are quiet: nothing goes.
    await vi.advanceTimersByTimeAsync(7 * 3_600_000);
    await notifier.idle();
    expect(sent).toHaveLength(1);
    // 07:00 Paris: quiet hours over; within the minute the held warning goes to both groups' channels.
    await vi.advanceTimersByTimeAsync(59 * 60_000);
    await notifier.idle();
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000 + 60_000);
    await notifier.idle();
    expect(sent.slice(1).map((s) => s.url).sort()).toEqual(["http://ntfy.invalid/zapvend-ops", "http://tech.invalid/hook"]);
    expect(sent.slice(1).every((s) => s.body.includes("14.0 °C"))).toBe(true);
  });

  it("sends what quiet hours held within a minute of their end, not a whole digest interval later", async () => {
    await startAt(paris(6, 30));
    await emit(alert({ id: "t-2", kind: "temperature", severity: "warning", message: "m-1 is at 13.0 °C", raisedAt: paris(6, 30) }));
    await vi.advanceTimersByTimeAsync(29 * 60_000);
    await notifier.idle();
    expect(sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    await notifier.idle();
    expect(sent).toHaveLength(2);
    expect(Date.now() - paris(6, 30)).toBeLessThan(3_600_000);
  });

  it("keeps at-most-once across a restart: a new notifier on the same database does not resend", async () => {
    const door = alert({ id: "door-4", raisedAt: paris(21, 30) });
    await emit(door);
    await notifier.stop();
    notifier = new Notifier({ config: notifications(CONFIG), alertSettings: { ...DEFAULT_ALERT_SETTINGS, openingHours: HOURS }, db: store.db, clock: systemClock, post: async (url, req) => (sent.push({ url, headers: req.headers, body: req.body }), { status: 200, body: "" }) });
    notifier.start(source);
    await emit(door);
    expect(sent).toHaveLength(1);
    // ... and still tells the technicians when it clears.
    await emit({ ...door, clearedAt: paris(21, 45) });
    expect(sent).toHaveLength(2);
    expect(JSON.parse(sent[1]!.body).event).toBe("resolved");
  });

  it("after a restart, puts back in the digest the open alerts a routed channel was never told about", async () => {
    vi.setSystemTime(paris(10));
    let ntfyDown = true;
    await notifier.stop();
    const post: HttpPost = async (url, req) => {
      sent.push({ url, headers: req.headers, body: req.body });
      return { status: url.includes("ntfy") && ntfyDown ? 400 : 200, body: "" };
    };
    const make = () => new Notifier({ config: notifications(CONFIG), alertSettings: { ...DEFAULT_ALERT_SETTINGS, openingHours: HOURS }, db: store.db, clock: systemClock, post });
    notifier = make();
    notifier.start(source);
    const info = alert({ id: "ns-9", kind: "no-sales", severity: "info", message: "no sale on m-9", machineId: "m-9", raisedAt: paris(10) });
    const warm = alert({ id: "t-9", kind: "temperature", severity: "warning", message: "m-1 is at 15.0 °C", raisedAt: paris(10) });
    const acked = alert({ id: "t-8", kind: "temperature", severity: "warning", raisedAt: paris(9), acknowledgedAt: paris(9, 30) });
    await emit(info);
    await emit(warm);
    // The webhook took the warning; ntfy refused it (400, given up at once).
    expect(sent.map((s) => s.url).sort()).toEqual(["http://ntfy.invalid/zapvend-ops", "http://tech.invalid/hook"]);
    await notifier.stop();

    ntfyDown = false;
    sent = [];
    notifier = make();
    notifier.start(source);
    expect(await notifier.recover([info, warm, acked])).toBe(2);
    await vi.advanceTimersByTimeAsync(3_600_000);
    await notifier.idle();
    expect(sent.map((s) => s.url)).toEqual(["http://ntfy.invalid/zapvend-ops"]);
    expect(sent[0]!.headers).toMatchObject({ Title: "Digest: 2 alerts" });
    expect(sent[0]!.body).toContain("no sale on m-9");
    expect(sent[0]!.body).toContain("15.0 °C");
  });
});

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`delivery log on ${engine.name}`, () => {
    it("records attempts, answers 'delivered' per channel, and lists newest first with filters", async () => {
      const { store, cleanup } = await engine.open();
      try {
        const n = new Notifier({ config: notifications(CONFIG), alertSettings: DEFAULT_ALERT_SETTINGS, db: store.db });
        const log = n.deliveries;
        const base = { messageId: "m1", dedupeKey: "a-1:raised", event: "raised" as const, alertIds: ["a-1"], channelType: "webhook" as const, status: null, durationMs: 3 };
        await log.record({ ...base, channel: "tech-hook", attempt: 1, at: 1_000, ok: false, error: "answered 500" });
        expect(await log.delivered("a-1:raised", "tech-hook")).toBe(false);
        await log.record({ ...base, channel: "tech-hook", attempt: 2, at: 2_000, ok: true, status: "200", error: null });
        await log.record({ ...base, messageId: "m2", dedupeKey: "a-2:raised", alertIds: ["a-2"], channel: "ops-ntfy", channelType: "webhook", attempt: 1, at: 3_000, ok: true, status: "200", error: null });
        expect(await log.delivered("a-1:raised", "tech-hook")).toBe(true);
        expect(await log.delivered("a-1:raised", "ops-ntfy")).toBe(false);
        expect((await log.list()).map((r) => [r.dedupeKey, r.attempt, r.ok])).toEqual([
          ["a-2:raised", 1, true],
          ["a-1:raised", 2, true],
          ["a-1:raised", 1, false],
        ]);
        expect((await log.list({ alertId: "a-1" })).map((r) => r.attempt)).toEqual([2, 1]);
        expect(await log.list({ channel: "ops-ntfy", limit: 1 })).toHaveLength(1);
        expect((await log.list({ channel: "tech-hook" }))[1]).toMatchObject({ error: "answered 500", status: null, durationMs: 3, alertIds: ["a-1"] });
      } finally {
        await cleanup();
      }
    });
  });
}
