// The production path end to end: the LND adapter talking LND's REST shape to the sim node, the PaymentMonitor on
// top, and the sim wallet paying over HTTP as a buyer's phone does. The sim node and the HTTP traffic run on real
// time; the monitor's poll and the adapter's reconnect delays run on manual clocks, so "within the poll interval"
// is exact and nothing sleeps.
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../__fixtures__/manual-clock.js";
import type { BackendHint } from "../backend.js";
import { LndBackend } from "../backends/lnd.js";
import { PaymentMonitor, type RejectedUpdate, type VerifiedUpdate } from "../monitor.js";
import { decodeSimInvoice } from "./codec.js";
import { startSimNode, type SimNodeServer } from "./server.js";

// Generous: CI runs every package's tests at once, and these wait on real loopback HTTP.
const waitFor = <T>(fn: () => T) => vi.waitFor(fn, { timeout: 10_000, interval: 10 });

const POLL_MS = 10_000;
const MACAROON = "0201036c6e64".padEnd(64, "a");

function newPreimage(): { preimage: string; hash: string } {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, hash: createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex") };
}

interface Rig {
  sim: SimNodeServer;
  backend: LndBackend;
  monitor: PaymentMonitor;
  pollClock: ManualClock;
  streamClock: ManualClock;
  updates: VerifiedUpdate[];
  rejected: RejectedUpdate[];
  hints: BackendHint[];
  /** The buyer's phone: POST /wallet/pay, resolving with the HTTP status and body. */
  pay(bolt11: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

const teardown: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const t of teardown.splice(0).reverse()) await t();
});

async function rig(): Promise<Rig> {
  const sim = await startSimNode({ port: 0, macaroonHex: MACAROON });
  teardown.push(() => sim.stop());
  const streamClock = new ManualClock();
  const pollClock = new ManualClock();
  const backend = new LndBackend({ url: sim.url, macaroonHex: MACAROON, clock: streamClock, requestTimeoutMs: 60_000, random: () => 0.5 });
  teardown.push(() => backend.stop());
  const monitor = new PaymentMonitor({ backend, clock: pollClock, pollIntervalMs: POLL_MS });
  teardown.push(() => monitor.stop());
  const updates: VerifiedUpdate[] = [];
  const rejected: RejectedUpdate[] = [];
  const hints: BackendHint[] = [];
  monitor.on("update", (u) => updates.push(u));
  monitor.on("rejected", (r) => rejected.push(r));
  backend.watch((h) => hints.push(h));
  await backend.start();
  await monitor.start();
  const pay = async (bolt11: string) => {
    try {
      const res = await fetch(`${sim.url}/wallet/pay`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ bolt11 }) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    } catch (err) {
      // The node went away mid-payment (teardown of a failed test): an answer, not an unhandled rejection.
      return { status: 0, body: { error: String(err) } };
    }
  };
  return { sim, backend, monitor, pollClock, streamClock, updates, rejected, hints, pay };
}

/** A hold invoice for a hash the machine chose, tracked by the monitor, with its stream open. */
async function holdInvoice(r: Rig, amountMsat = 21_000n) {
  const { preimage, hash } = newPreimage();
  const created = await r.backend.createHoldInvoice({ paymentHash: hash, amountMsat, description: "Cola 0.33 l (A1)", expirySec: 180 });
  r.monitor.track(hash, amountMsat);
  // The stream's first message (the invoice's current state) proves the subscription is live.
  await waitFor(() => expect(r.hints).toContainEqual({ type: "invoice", paymentHash: hash, state: "open" }));
  return { preimage, hash, bolt11: created.bolt11 };
}

describe("hold-invoice flow: LND adapter <-> sim node", { timeout: 30_000 }, () => {
  it("the machine's hash, a signed invoice, held payment seen after lookup, settle, and the buyer gets the preimage", async () => {
    const r = await rig();
    const { preimage, hash, bolt11 } = await holdInvoice(r);

    const decoded = decodeSimInvoice(bolt11);
    expect(decoded).toMatchObject({ paymentHash: hash, amountMsat: 21_000n, payeeNodeKey: r.sim.node.pubkey, network: "regtest" });
    expect(bolt11.startsWith("lnbcrt210n1")).toBe(true);

    let walletDone = false;
    const paid = r.pay(bolt11).finally(() => (walletDone = true));
    await waitFor(() => expect(r.updates.map((u) => u.state)).toEqual(["accepted"]));
    expect(r.updates[0]).toMatchObject({ paymentHash: hash, amountPaidMsat: 21_000n, expectedAmountMsat: 21_000n });
    expect((await r.backend.lookupInvoice(hash)).state).toBe("accepted");
    expect(walletDone).toBe(false); // held: the buyer's payment is in flight until the machine decides

    await r.backend.settleInvoice(preimage);
    const res = await paid;
    expect(res).toEqual({ status: 200, body: { paymentHash: hash, preimage, amountMsat: "21000" } });
    await waitFor(() => expect(r.updates.map((u) => u.state)).toEqual(["accepted", "settled"]));
    expect(r.updates[1]?.preimage).toBe(preimage);
    await r.backend.settleInvoice(preimage); // a retried settle is harmless
  });

  it("cancel refunds: the wallet's payment fails and its balance is whole again", async () => {
    const r = await rig();
    const before = r.sim.node.walletBalanceMsat;
    const { hash, bolt11 } = await holdInvoice(r);
    const paid = r.pay(bolt11);
    await waitFor(() => expect(r.updates.map((u) => u.state)).toEqual(["accepted"]));
    expect(r.sim.node.walletBalanceMsat).toBe(before - 21_000n);

    await r.backend.cancelInvoice(hash);
    const res = await paid;
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: { code: "payment_failed" } });
    expect(r.sim.node.walletBalanceMsat).toBe(before);
    await waitFor(() => expect(r.updates.map((u) => u.state)).toEqual(["accepted", "canceled"]));
    await expect(r.backend.settleInvoice(newPreimage().preimage)).rejects.toMatchObject({ code: "invoice_not_found" });
  });

  it("a forged push dispenses nothing", async () => {
    const r = await rig();
    const { hash } = await holdInvoice(r);
    const res = await fetch(`${r.sim.url}/sim/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ forgePush: { paymentHash: hash, state: "SETTLED" } }),
    });
    expect(res.status).toBe(200);
    await waitFor(() => expect(r.hints).toContainEqual({ type: "invoice", paymentHash: hash, state: "settled" }));
    // The monitor looked it up (the invoice is open) and reported nothing, through a full poll as well.
    await r.pollClock.advance(POLL_MS);
    await r.monitor.sweep();
    expect(r.updates).toEqual([]);
    expect((await r.backend.lookupInvoice(hash)).state).toBe("open");
  });

  it("a notification dropped during a reconnect: the stream never opens, and the next attempt brings the state", async () => {
    const r = await rig();
    const { preimage, hash, bolt11 } = await holdInvoice(r);

    r.sim.node.setFaults({ dropNotifications: -1 });
    r.sim.node.restartStreams();
    await waitFor(() => expect(r.hints).toContainEqual(expect.objectContaining({ type: "health", health: "degraded" })));
    // The buyer pays while the stream is down; every notification is lost, including the one on resubscribe.
    const paid = r.pay(bolt11);
    await waitFor(() => expect(r.sim.node.lookup(hash)?.state).toBe("ACCEPTED"));
    await r.streamClock.advance(30_000); // the adapter's backoff elapses: it resubscribes
    // As LND's gateway, the sim sends the HTTP head only with the first message: that message lost, the stream
    // never opens, so there is no "reconnected" and nothing reported.
    await new Promise((res) => setTimeout(res, 200));
    expect(r.hints).not.toContainEqual({ type: "reconnected" });
    expect(r.updates).toEqual([]);

    // The loss ends; the adapter gives up on the silent attempt at its head timeout and the next one gets the state.
    r.sim.node.setFaults({ dropNotifications: 0 });
    await r.streamClock.advance(60_000);
    await r.streamClock.advance(30_000);
    await waitFor(() => expect(r.hints).toContainEqual({ type: "reconnected" }));
    await waitFor(() => expect(r.updates.map((u) => u.state)).toEqual(["accepted"]));

    await r.backend.settleInvoice(preimage);
    expect((await paid).status).toBe(200);
  });

  it("a notification dropped without any reconnect is recovered by the slow poll within one interval", async () => {
    const r = await rig();
    const { hash, bolt11 } = await holdInvoice(r);
    r.sim.node.setFaults({ dropNotifications: -1 });
    const paid = r.pay(bolt11);
    await waitFor(() => expect(r.sim.node.lookup(hash)?.state).toBe("ACCEPTED"));

    await r.pollClock.advance(POLL_MS - 1);
    expect(r.updates).toEqual([]);
    await r.pollClock.advance(1);
    await waitFor(() => expect(r.updates.map((u) => u.state)).toEqual(["accepted"]));

    await r.backend.cancelInvoice(hash);
    expect((await paid).status).toBe(409);
  });

  it("an underpayment a broken node accepts is still not reported as paid", async () => {
    const r = await rig();
    const { hash, bolt11 } = await holdInvoice(r);
    r.sim.node.setFaults({ acceptUnderpayment: true, payAmountDeltaMsat: -1_000n });
    const paid = r.pay(bolt11);
    await waitFor(() => expect(r.rejected).toMatchObject([{ paymentHash: hash, reason: "underpaid" }]));
    expect(r.updates).toEqual([]);
    await r.backend.cancelInvoice(hash);
    expect((await paid).status).toBe(409);
  });

  it("a plain invoice: the node keeps the preimage, the monitor reports settled with it checked", async () => {
    const r = await rig();
    const created = await r.backend.createInvoice({ amountMsat: 5_000n, description: "Snack (B2)", expirySec: 180 });
    r.monitor.track(created.paymentHash, 5_000n);
    const res = await r.pay(created.bolt11);
    expect(res.status).toBe(200);
    await waitFor(() => expect(r.updates.map((u) => u.state)).toEqual(["settled"]));
    expect(createHash("sha256").update(Buffer.from(r.updates[0]?.preimage ?? "", "hex")).digest("hex")).toBe(created.paymentHash);
  });

  it("maps LND's refusals: settle before payment, cancel after settle, a reused hash", async () => {
    const r = await rig();
    const { preimage, hash, bolt11 } = await holdInvoice(r);
    await expect(r.backend.settleInvoice(preimage)).rejects.toMatchObject({ code: "not_held" });
    await expect(r.backend.createHoldInvoice({ paymentHash: hash, amountMsat: 1_000n, description: "again", expirySec: 60 })).rejects.toMatchObject({
      code: "duplicate_payment_hash",
    });
    const paid = r.pay(bolt11);
    await waitFor(() => expect(r.sim.node.lookup(hash)?.state).toBe("ACCEPTED"));
    await r.backend.settleInvoice(preimage);
    await paid;
    await expect(r.backend.cancelInvoice(hash)).rejects.toMatchObject({ code: "already_settled" });
  });
});
