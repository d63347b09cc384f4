import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, flush } from "./__fixtures__/manual-clock.js";
import { MemoryBackend } from "./__fixtures__/memory-backend.js";
import { PaymentError, PaymentErrorCode } from "./errors.js";
import { PaymentMonitor, type HealthChange, type RejectedUpdate, type VerifiedUpdate } from "./monitor.js";

const POLL_MS = 10_000;

function newHash(): { preimage: string; hash: string } {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, hash: createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex") };
}

function setup(opts: { downAfterFailures?: number } = {}) {
  const clock = new ManualClock();
  const backend = new MemoryBackend();
  const monitor = new PaymentMonitor({ backend, clock, pollIntervalMs: POLL_MS, ...opts });
  const updates: VerifiedUpdate[] = [];
  const rejected: RejectedUpdate[] = [];
  const health: HealthChange[] = [];
  monitor.on("update", (u) => updates.push(u));
  monitor.on("rejected", (r) => rejected.push(r));
  monitor.on("health", (h) => health.push(h));
  monitors.push(monitor);
  return { clock, backend, monitor, updates, rejected, health };
}

const monitors: PaymentMonitor[] = [];
afterEach(async () => {
  for (const m of monitors.splice(0)) await m.stop();
});

describe("PaymentMonitor", () => {
  it("a forged push dispenses nothing: the lookup still shows the invoice open", async () => {
    const { backend, monitor, updates } = setup();
    const { hash } = newHash();
    backend.set(hash, { amountMsat: 21_000n });
    await monitor.start();
    monitor.track(hash, 21_000n);
    await flush();
    const lookupsBefore = backend.lookups.length;

    backend.push({ type: "invoice", paymentHash: hash, state: "settled" });
    backend.push({ type: "invoice", paymentHash: hash, state: "accepted" });
    await flush();

    expect(backend.lookups.length).toBeGreaterThan(lookupsBefore); // the push was looked into ...
    expect(updates).toEqual([]); // ... and proved nothing
  });

  it("reports accepted once, only after the lookup shows the full amount held", async () => {
    const { backend, monitor, updates, clock } = setup();
    const { hash } = newHash();
    backend.set(hash, { amountMsat: 21_000n });
    const accepted: VerifiedUpdate[] = [];
    monitor.on("accepted", (u) => accepted.push(u));
    await monitor.start();
    monitor.track(hash, 21_000n);

    backend.set(hash, { state: "accepted", amountPaidMsat: 21_000n });
    backend.push({ type: "invoice", paymentHash: hash });
    await flush();
    await clock.advance(3 * POLL_MS); // polls keep seeing "accepted": no repeat

    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({ paymentHash: hash, state: "accepted", amountPaidMsat: 21_000n, expectedAmountMsat: 21_000n });
    expect(updates.map((u) => u.state)).toEqual(["accepted"]);
  });

  it("does not report an underpaid invoice as paid, and says why", async () => {
    const { backend, monitor, updates, rejected } = setup();
    const { hash } = newHash();
    backend.set(hash, { amountMsat: 21_000n, state: "accepted", amountPaidMsat: 20_999n });
    await monitor.start();
    monitor.track(hash, 21_000n);
    await flush();

    expect(updates).toEqual([]);
    expect(rejected).toMatchObject([{ paymentHash: hash, reason: "underpaid" }]);
  });

  it("does not trust an invoice whose amount differs from what the machine asked", async () => {
    const { backend, monitor, updates, rejected } = setup();
    const { hash } = newHash();
    backend.set(hash, { amountMsat: 1_000n, state: "settled", amountPaidMsat: 1_000n });
    await monitor.start();
    monitor.track(hash, 21_000n);
    await flush();

    expect(updates).toEqual([]);
    expect(rejected[0]?.reason).toBe("amount_mismatch");
  });

  it("refuses a settled invoice whose revealed preimage does not match the hash", async () => {
    const { backend, monitor, updates, rejected } = setup();
    const { hash } = newHash();
    backend.set(hash, { amountMsat: 5_000n, state: "settled", amountPaidMsat: 5_000n, preimage: "ab".repeat(32) });
    await monitor.start();
    monitor.track(hash, 5_000n);
    await flush();

    expect(updates).toEqual([]);
    expect(rejected[0]?.reason).toBe("bad_preimage");
  });

  it("recovers a lost notification with the slow poll, within one poll interval", async () => {
    const { backend, monitor, updates, clock } = setup();
    const { hash } = newHash();
    backend.set(hash, { amountMsat: 21_000n });
    await monitor.start();
    monitor.track(hash, 21_000n);
    await flush();

    backend.set(hash, { state: "accepted", amountPaidMsat: 21_000n }); // paid; the push never arrives
    await clock.advance(POLL_MS - 1);
    expect(updates).toEqual([]);
    await clock.advance(1);
    expect(updates.map((u) => u.state)).toEqual(["accepted"]);
  });

  it("sweeps every tracked invoice as soon as the push channel reconnects", async () => {
    const { backend, monitor, updates } = setup();
    const a = newHash().hash;
    const b = newHash().hash;
    backend.set(a, { amountMsat: 1_000n });
    backend.set(b, { amountMsat: 2_000n });
    await monitor.start();
    monitor.track(a, 1_000n);
    monitor.track(b, 2_000n);
    await flush();

    // Both paid while the stream was down; neither notification arrives.
    backend.set(a, { state: "accepted", amountPaidMsat: 1_000n });
    backend.set(b, { state: "settled", amountPaidMsat: 2_000n });
    backend.push({ type: "reconnected" });
    await flush();

    expect(updates.map((u) => [u.paymentHash, u.state]).sort()).toEqual([
      [a, "accepted"],
      [b, "settled"],
    ].sort());
  });

  it("reports canceled and stops watching the invoice", async () => {
    const { backend, monitor, updates, clock } = setup();
    const { hash } = newHash();
    backend.set(hash, { amountMsat: 21_000n, state: "accepted", amountPaidMsat: 21_000n });
    await monitor.start();
    monitor.track(hash, 21_000n);
    await flush();
    expect(backend.subscribed.has(hash)).toBe(true);

    backend.set(hash, { state: "canceled" });
    backend.push({ type: "invoice", paymentHash: hash, state: "canceled" });
    await flush();
    const lookups = backend.lookups.length;
    await clock.advance(3 * POLL_MS);

    expect(updates.map((u) => u.state)).toEqual(["accepted", "canceled"]);
    expect(monitor.trackedHashes()).toEqual([]);
    expect(backend.subscribed.has(hash)).toBe(false);
    expect(backend.lookups.length).toBe(lookups); // no more polling of a final invoice
  });

  it("ignores pushes about invoices it does not track", async () => {
    const { backend, monitor } = setup();
    await monitor.start();
    backend.push({ type: "invoice", paymentHash: newHash().hash, state: "settled" });
    await flush();
    expect(backend.lookups).toEqual([]);
  });

  it("goes degraded on a failed request, down after repeated failures, and up again when the node answers", async () => {
    const { backend, monitor, health, clock } = setup({ downAfterFailures: 3 });
    await monitor.start();
    expect(monitor.health()).toBe("up");

    backend.failWith = new PaymentError(PaymentErrorCode.BACKEND_UNREACHABLE, "connect ECONNREFUSED");
    await clock.advance(POLL_MS);
    expect(monitor.health()).toBe("degraded");
    await clock.advance(2 * POLL_MS);
    expect(monitor.health()).toBe("down");

    backend.failWith = undefined;
    await clock.advance(POLL_MS);
    expect(monitor.health()).toBe("up");
    expect(health.map((h) => h.health)).toEqual(["up", "degraded", "down", "up"]);
  });

  it("goes down at once when the node refuses the credential", async () => {
    const { backend, monitor, clock } = setup({ downAfterFailures: 3 });
    await monitor.start();
    backend.failWith = new PaymentError(PaymentErrorCode.UNAUTHORIZED, "verification failed: signature mismatch after caveat verification");
    await clock.advance(POLL_MS);
    expect(monitor.health()).toBe("down");
  });

  it("is degraded while the push channel is down even though lookups work", async () => {
    const { backend, monitor } = setup();
    await monitor.start();
    backend.push({ type: "health", health: "degraded", reason: "stream reconnecting" });
    expect(monitor.health()).toBe("degraded");
    backend.push({ type: "health", health: "up" });
    expect(monitor.health()).toBe("up");
  });

  it("starts down: no invoice is issued before the backend has answered once", async () => {
    const { backend, monitor } = setup();
    backend.failWith = new PaymentError(PaymentErrorCode.UNAUTHORIZED, "verification failed");
    expect(monitor.health()).toBe("down");
    await monitor.start();
    expect(monitor.health()).toBe("down");
  });

  it("keeps delivering to other listeners when one throws", async () => {
    const { backend, monitor, updates } = setup();
    monitor.on("accepted", () => {
      throw new Error("listener bug");
    });
    const { hash } = newHash();
    backend.set(hash, { amountMsat: 7_000n, state: "accepted", amountPaidMsat: 7_000n });
    await monitor.start();
    monitor.track(hash, 7_000n);
    await flush();
    expect(updates.map((u) => u.state)).toEqual(["accepted"]);
  });

  it("removes its backend listener and timers on stop", async () => {
    const { backend, monitor, clock } = setup();
    await monitor.start();
    expect(backend.listenerCount).toBe(1);
    await monitor.stop();
    expect(backend.listenerCount).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
