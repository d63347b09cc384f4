// The webhook against a real HTTP receiver on loopback: the signature verifies over the timestamp and the raw
// body, a receiver failing twice gets three attempts with exponential backoff, and every attempt is in the log.
import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alert, instantClock } from "../__fixtures__/notify.js";
import { startReceiver, type Receiver } from "../__fixtures__/http-receiver.js";
import { engines } from "../__fixtures__/stores.js";
import type { FleetStore } from "../store/fleet-store.js";
import { silentLogger } from "../clock.js";
import { DeliveryLog } from "./delivery-log.js";
import { Dispatcher } from "./dispatcher.js";
import { alertMessage } from "./message.js";
import { WebhookChannel, signWebhook, verifyWebhook } from "./webhook.js";

const SECRET = "a-webhook-secret-of-32-characters";
const NOW = Date.UTC(2026, 11, 7, 22, 0, 5);

describe("webhook channel", () => {
  let receiver: Receiver;
  let store: FleetStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await engines[0]!.open());
  });
  afterEach(async () => {
    await receiver?.close();
    await cleanup();
  });

  it("signs the timestamp and the raw body, retries 500, 500 with backoff, and logs three attempts, one success", async () => {
    receiver = await startReceiver([500, 500, 200]);
    const clock = instantClock(NOW);
    const log = new DeliveryLog(store.db);
    const dispatcher = new Dispatcher(log, clock, { maxAttempts: 5, baseMs: 2_000 }, silentLogger);
    const hook = new WebhookChannel({ name: "ops-hook", url: `${receiver.url}/zapvend`, secret: SECRET, now: clock.now });
    const m = alertMessage("msg-1", alert(), "raised", NOW);

    const [outcome] = await dispatcher.deliver(m, [hook]);

    expect(outcome).toMatchObject({ channel: "ops-hook", ok: true, attempts: 3, skipped: false });
    expect(receiver.requests).toHaveLength(3);
    expect(clock.delays).toEqual([2_000, 4_000]);
    for (const r of receiver.requests) {
      expect(r.method).toBe("POST");
      expect(r.path).toBe("/zapvend");
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.headers["x-zapvend-timestamp"]).toBe(String(NOW));
      expect(r.headers["x-zapvend-delivery"]).toBe("msg-1");
      const sig = String(r.headers["x-zapvend-signature"]);
      expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
      // Recomputed here as a receiver would, independently of the channel's code.
      expect(sig).toBe(`sha256=${createHmac("sha256", SECRET).update(`${r.headers["x-zapvend-timestamp"]}.${r.body}`).digest("hex")}`);
      expect(verifyWebhook(SECRET, String(r.headers["x-zapvend-timestamp"]), r.body, sig)).toBe(true);
      // Another timestamp, a changed body or another secret does not verify.
      expect(verifyWebhook(SECRET, String(NOW + 1), r.body, sig)).toBe(false);
      expect(verifyWebhook(SECRET, String(NOW), r.body.replace("m-1", "m-2"), sig)).toBe(false);
      expect(verifyWebhook("another-secret-of-enough-length", String(NOW), r.body, sig)).toBe(false);
    }
    const body = JSON.parse(receiver.requests[2]!.body);
    expect(body).toMatchObject({ id: "msg-1", event: "raised", severity: "critical", alerts: [{ id: "a-1", machineId: "m-1", kind: "door-open", event: "raised" }] });

    const rows = await log.list({ channel: "ops-hook" });
    expect(rows.map((r) => [r.attempt, r.ok, r.status])).toEqual([
      [3, true, "200"],
      [2, false, "500"],
      [1, false, "500"],
    ]);
    expect(rows.every((r) => r.dedupeKey === "a-1:raised" && r.channelType === "webhook" && r.alertIds[0] === "a-1")).toBe(true);
    expect(rows[1]!.error).toContain("answered 500");

    // At most once: the same message again is skipped, nothing reaches the receiver.
    const [again] = await dispatcher.deliver(alertMessage("msg-2", alert(), "raised", NOW), [hook]);
    expect(again).toMatchObject({ skipped: true, attempts: 0 });
    expect(receiver.requests).toHaveLength(3);
  });

  it("gives up after maxAttempts, and does not retry a 4xx refusal", async () => {
    receiver = await startReceiver([503, 503, 503, 400]);
    const clock = instantClock(NOW);
    const log = new DeliveryLog(store.db);
    const dispatcher = new Dispatcher(log, clock, { maxAttempts: 3, baseMs: 100 }, silentLogger);
    const hook = new WebhookChannel({ name: "hook", url: receiver.url, secret: SECRET, now: clock.now });
    const [down] = await dispatcher.deliver(alertMessage("m1", alert(), "raised", NOW), [hook]);
    expect(down).toMatchObject({ ok: false, attempts: 3 });
    expect(clock.delays).toEqual([100, 200]);
    const [refused] = await dispatcher.deliver(alertMessage("m2", alert({ id: "a-2" }), "raised", NOW), [hook]);
    expect(refused).toMatchObject({ ok: false, attempts: 1 });
    expect(receiver.requests).toHaveLength(4);
    expect((await log.list()).filter((r) => !r.ok)).toHaveLength(4);
  });

  it("logs a connection refused as a failed attempt", async () => {
    receiver = await startReceiver();
    const url = receiver.url;
    await receiver.close();
    receiver = await startReceiver();
    const log = new DeliveryLog(store.db);
    const dispatcher = new Dispatcher(log, instantClock(NOW), { maxAttempts: 2, baseMs: 10 }, silentLogger);
    const [out] = await dispatcher.deliver(alertMessage("m1", alert(), "raised", NOW), [new WebhookChannel({ name: "gone", url, secret: SECRET })]);
    expect(out).toMatchObject({ ok: false, attempts: 2 });
    const rows = await log.list({ channel: "gone" });
    expect(rows).toHaveLength(2);
    expect(rows[0]!.error).toContain("no answer");
  });

  it("computes the documented signature", () => {
    // sha256=HMAC(secret, "<timestamp>.<body>") in hex: what a receiver in any language recomputes.
    expect(signWebhook("k".repeat(16), "1", "{}")).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signWebhook("k".repeat(16), "1", "{}")).not.toBe(signWebhook("k".repeat(16), "2", "{}"));
  });
});
