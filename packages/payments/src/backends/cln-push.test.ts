// The CLN adapter's push path: `wait invoices updated` long-polled, read as each CLN release answers it
// (upstream/cln-contract.ts CLN_WAIT: `details` until v26.06, `invoices` from v25.05, neither in an answer given at
// once), failures reported as health, and a sweep after every recovery.
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../__fixtures__/manual-clock.js";
import type { BackendHint } from "../backend.js";
import { FakeCln, type FakeClnRelease } from "./__fixtures__/fake-cln.js";
import { ClnBackend } from "./cln.js";

const RUNE = "rune-full";

function preimagePair() {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, paymentHash: createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex") };
}

const open: Array<{ node: FakeCln; backend: ClnBackend }> = [];
afterEach(async () => {
  for (const { node, backend } of open.splice(0)) {
    await backend.stop();
    await node.close();
  }
});

async function setup(release: FakeClnRelease) {
  const node = await new FakeCln({ release }).start();
  node.runes.set(RUNE, undefined);
  const clock = new ManualClock();
  const backend = new ClnBackend({ url: node.url, rune: RUNE, clock, random: () => 0.5 });
  open.push({ node, backend });
  const hints: BackendHint[] = [];
  backend.watch((h) => hints.push(h));
  await backend.start();
  // The loop first reads the current index, then long-polls for the next one.
  await vi.waitFor(async () => {
    await clock.advance(0);
    expect(node.waiting).toBe(1);
  });
  /** Resolves once a long-poll newer than the last answer is waiting at the node (so the next change is pushed, not swept). */
  const pollPending = () =>
    vi.waitFor(async () => {
      await clock.advance(0);
      expect(node.waiting).toBe(1);
    });
  const until = (expected: BackendHint) =>
    vi.waitFor(async () => {
      await clock.advance(0);
      expect(hints, JSON.stringify(hints)).toContainEqual(expected);
    });
  return { node, clock, backend, hints, until, pollPending };
}

describe.each(["v26.06", "v25.05", "v24.11"] as const)("CLN push on %s", (release) => {
  it("a hold invoice settled and a plain invoice paid each produce a hint with the payment hash", async () => {
    const { node, backend, until, pollPending } = await setup(release);
    const pair = preimagePair();
    await backend.createHoldInvoice({ ...pair, amountMsat: 5_000n, description: "x", expirySec: 180 });
    node.pay(pair.paymentHash);
    await backend.settleInvoice(pair.preimage);
    // The label of a hold invoice carries its hash.
    await until({ type: "invoice", paymentHash: pair.paymentHash, state: "settled" });

    const plain = await backend.createInvoice({ amountMsat: 3_000n, description: "y", expirySec: 60 });
    await pollPending();
    node.pay(plain.paymentHash);
    // A plain invoice's label does not: the adapter asks listinvoices for it.
    await until({ type: "invoice", paymentHash: plain.paymentHash, state: "settled" });
    expect(node.calls("listinvoices")).toContainEqual({ label: expect.stringMatching(/^zapvend-/) });

    const expiring = await backend.createInvoice({ amountMsat: 1_000n, description: "z", expirySec: 60 });
    await pollPending();
    node.expire(expiring.paymentHash);
    await until({ type: "invoice", paymentHash: expiring.paymentHash });
  });
});

describe("CLN push: answers that name no invoice, answers it cannot read, outages", () => {
  it("an answer given at once (the index had moved on) names no invoice: the monitor is asked to sweep", async () => {
    const { node, backend, hints, clock } = await setup("v26.06");
    const a = await backend.createInvoice({ amountMsat: 1_000n, description: "a", expirySec: 60 });
    const b = await backend.createInvoice({ amountMsat: 1_000n, description: "b", expirySec: 60 });
    // Two changes at once: the pending long-poll gets the first; the next call finds the index already past it.
    node.pay(a.paymentHash);
    node.pay(b.paymentHash);
    await vi.waitFor(async () => {
      await clock.advance(0);
      expect(hints).toContainEqual({ type: "invoice", paymentHash: a.paymentHash, state: "settled" });
      expect(hints).toContainEqual({ type: "reconnected" });
    });
    expect(hints).not.toContainEqual(expect.objectContaining({ type: "health" }));
  });

  it("an answer it cannot read is a failure reported as health, not silence; it recovers and sweeps", async () => {
    const { node, backend, hints, clock, until } = await setup("v26.06");
    // A node (or a proxy) answering the next long-poll with something that is not CLN's `wait` result.
    const a = await backend.createInvoice({ amountMsat: 1_000n, description: "a", expirySec: 60 });
    node.http.faults.push({ status: 201, body: { subsystem: "invoices", updated: "soon", invoices: 7 } });
    node.pay(a.paymentHash);
    await vi.waitFor(async () => {
      await clock.advance(0);
      expect(hints).toContainEqual(expect.objectContaining({ type: "health", health: expect.stringMatching(/^(degraded|down)$/) }));
    });
    await vi.waitFor(async () => {
      await clock.advance(30_000);
      expect(hints).toContainEqual({ type: "health", health: "up" });
    });
    await until({ type: "reconnected" });
  });

  it("the node restarts: the cut long-poll is reported degraded, then the loop recovers and asks for a sweep", async () => {
    const { node, hints, clock, until } = await setup("v26.06");
    node.http.faults.push("drop");
    node.http.dropAll();
    await vi.waitFor(async () => {
      await clock.advance(0);
      expect(hints).toContainEqual(expect.objectContaining({ type: "health", health: "degraded" }));
    });
    await vi.waitFor(async () => {
      await clock.advance(30_000);
      expect(hints).toContainEqual({ type: "reconnected" });
    });
    await until({ type: "health", health: "up" });
  });
});

describe("CLN push of a held payment (ACCEPTED) through the htlcs index", () => {
  it.each(["v26.06", "v25.05"] as const)("%s: an incoming HTLC for a watched hold invoice is hinted once the plugin shows it held", async (release) => {
    const { node, backend, hints, clock } = await setup(release);
    const pair = preimagePair();
    await backend.createHoldInvoice({ ...pair, amountMsat: 5_000n, description: "x", expirySec: 180 });
    backend.subscribe(pair.paymentHash); // the monitor does this for every tracked invoice
    const unwatched = preimagePair();
    await backend.createHoldInvoice({ ...unwatched, amountMsat: 5_000n, description: "y", expirySec: 180 });
    await vi.waitFor(async () => {
      await clock.advance(0);
      expect(node.waitingHtlcs).toBe(1);
    });
    // Someone else's payment through this node: no lookups, no hint.
    node.pay(unwatched.paymentHash);
    await vi.waitFor(async () => {
      await clock.advance(0);
      expect(node.waitingHtlcs).toBe(1);
    });
    expect(node.calls("holdinvoicelookup").filter((c) => (c as { payment_hash: string }).payment_hash === unwatched.paymentHash)).toHaveLength(0);

    // The plugin shows ACCEPTED only on the third look, a moment after the HTLC index moved.
    node.acceptAfterLookups = 2;
    node.pay(pair.paymentHash);
    await vi.waitFor(async () => {
      await clock.advance(250);
      expect(hints).toContainEqual({ type: "invoice", paymentHash: pair.paymentHash });
    });
    const looks = node.calls("holdinvoicelookup").filter((c) => (c as { payment_hash: string }).payment_hash === pair.paymentHash);
    expect(looks).toHaveLength(3);
    expect(await backend.lookupInvoice(pair.paymentHash)).toMatchObject({ state: "accepted" });
    expect(hints.filter((h) => h.type === "invoice")).toHaveLength(1);
  });

  it("v24.11 has no htlcs index: that loop stops after one refused call, quietly (the poll finds ACCEPTED)", async () => {
    const { node, hints, clock } = await setup("v24.11");
    await clock.advance(60_000);
    await clock.advance(60_000);
    expect(node.calls("wait").filter((c) => (c as { subsystem: string }).subsystem === "htlcs")).toHaveLength(1);
    expect(hints.filter((h) => h.type === "health")).toEqual([]);
  });
});
