// The sim node's own behaviour, on a manual clock: what a buyer's wallet and the machine see when payments are
// held, time out, expire, arrive twice or short.
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, flush } from "../__fixtures__/manual-clock.js";
import { decodeInvoice } from "../bolt11/decode.js";
import { SimLightningNode, type SimPayResult } from "./node.js";

function newPreimage(): { preimage: string; hash: string } {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, hash: createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex") };
}

const nodes: SimLightningNode[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.stop();
});

function node(opts: ConstructorParameters<typeof SimLightningNode>[0] = {}) {
  const clock = new ManualClock();
  const n = new SimLightningNode({ clock, htlcTimeoutMs: 60_000, ...opts });
  nodes.push(n);
  return { n, clock };
}

/** Starts a payment and records how it ended, without awaiting it. */
function payLater(n: SimLightningNode, bolt11: string) {
  const out: { result?: SimPayResult; error?: { code: string; message: string } } = {};
  const p = n.pay(bolt11).then(
    (r) => (out.result = r),
    (e: { code: string; message: string }) => (out.error = { code: e.code, message: e.message }),
  );
  return { out, done: p };
}

describe("sim node", () => {
  it("signs real BOLT 11 invoices with its node key, a fixed key giving a fixed identity", () => {
    const key = "11".repeat(32);
    const { n } = node({ nodeKeyHex: key });
    const again = new SimLightningNode({ nodeKeyHex: key });
    expect(again.pubkey).toBe(n.pubkey);
    const { hash } = newPreimage();
    const inv = n.createHoldInvoice({ paymentHash: hash, amountMsat: 250_000n, memo: "Water (A2)", expirySec: 120 });
    // Verified against the key, not just parsed.
    const d = decodeInvoice(inv.bolt11, { payeeNodeKey: n.pubkey });
    expect(d).toMatchObject({ network: "regtest", amountMsat: 250_000n, paymentHash: hash, description: "Water (A2)", expirySec: 120 });
    expect(() => decodeInvoice(inv.bolt11, { payeeNodeKey: new SimLightningNode().pubkey })).toThrow();
  });

  it("cancels a held payment when its HTLC times out, and the wallet gets its money back", async () => {
    const { n, clock } = node();
    const before = n.walletBalanceMsat;
    const { hash } = newPreimage();
    const inv = n.createHoldInvoice({ paymentHash: hash, amountMsat: 21_000n, expirySec: 600 });
    const { out } = payLater(n, inv.bolt11);
    await flush();
    expect(n.lookup(hash)?.state).toBe("ACCEPTED");
    expect(n.lookup(hash)?.amtPaidMsat).toBe(21_000n);

    await clock.advance(59_999);
    expect(n.lookup(hash)?.state).toBe("ACCEPTED");
    await clock.advance(1);
    expect(n.lookup(hash)?.state).toBe("CANCELED");
    expect(out.error?.code).toBe("payment_failed");
    expect(n.walletBalanceMsat).toBe(before);
  });

  it("cancels a held payment whose HTLC nears its expiry height as blocks are mined", async () => {
    const { n } = node({ defaultCltvExpiry: 40 });
    const { hash } = newPreimage();
    const inv = n.createHoldInvoice({ paymentHash: hash, amountMsat: 1_000n });
    const { out, done } = payLater(n, inv.bolt11);
    await flush();
    n.mineBlocks(27);
    expect(n.lookup(hash)?.state).toBe("ACCEPTED");
    n.mineBlocks(1); // 12 blocks left
    await done;
    expect(n.lookup(hash)?.state).toBe("CANCELED");
    expect(out.error?.code).toBe("payment_failed");
  });

  it("cancels an open invoice at its expiry; the wallet refuses it, and with payAfterExpiry the node turns it away", async () => {
    const { n, clock } = node();
    const { hash } = newPreimage();
    const inv = n.createHoldInvoice({ paymentHash: hash, amountMsat: 1_000n, expirySec: 60 });
    await clock.advance(60_000);
    expect(n.lookup(hash)?.state).toBe("CANCELED");
    await expect(n.pay(inv.bolt11)).rejects.toMatchObject({ code: "invoice_expired" });
    n.setFaults({ payAfterExpiry: true });
    await expect(n.pay(inv.bolt11)).rejects.toMatchObject({ code: "payment_failed", message: expect.stringContaining("canceled or expired") as string });
  });

  it("takes a payment once when the wallet pays twice", async () => {
    const { n } = node();
    const before = n.walletBalanceMsat;
    n.setFaults({ payTwice: true });
    const { preimage, hash } = newPreimage();
    const inv = n.createHoldInvoice({ paymentHash: hash, amountMsat: 5_000n });
    const { out, done } = payLater(n, inv.bolt11);
    await flush();
    expect(n.lookup(hash)?.htlcs).toHaveLength(1);
    n.settle(preimage);
    await done;
    expect(out.result?.secondAttempt).toMatchObject({ ok: false, error: expect.stringContaining("already paid") as string });
    expect(n.walletBalanceMsat).toBe(before - 5_000n);
  });

  it("turns away an underpayment (as LND does) unless told to be a broken node; accepts an overpayment", async () => {
    const { n } = node();
    const a = newPreimage();
    const invA = n.createHoldInvoice({ paymentHash: a.hash, amountMsat: 5_000n });
    n.setFaults({ payAmountDeltaMsat: -1n });
    await expect(n.pay(invA.bolt11)).rejects.toMatchObject({ code: "payment_failed", message: expect.stringContaining("amount too low") as string });
    expect(n.lookup(a.hash)?.state).toBe("OPEN");

    n.setFaults({ acceptUnderpayment: true });
    const p = payLater(n, invA.bolt11);
    await flush();
    expect(n.lookup(a.hash)).toMatchObject({ state: "ACCEPTED", amtPaidMsat: 4_999n });
    n.cancel(a.hash);
    await p.done;

    n.clearFaults();
    n.setFaults({ payAmountDeltaMsat: 1_000n });
    const b = newPreimage();
    const invB = n.createHoldInvoice({ paymentHash: b.hash, amountMsat: 5_000n });
    const q = payLater(n, invB.bolt11);
    await flush();
    expect(n.lookup(b.hash)).toMatchObject({ state: "ACCEPTED", amtPaidMsat: 6_000n });
    n.settle(b.preimage);
    await q.done;
    expect(q.out.result?.preimage).toBe(b.preimage);
  });

  it("has no route to another node's invoice and refuses text that is not an invoice", async () => {
    const { n } = node();
    const other = new SimLightningNode();
    const inv = other.createInvoice({ amountMsat: 1_000n });
    other.stop();
    await expect(n.pay(inv.bolt11)).rejects.toMatchObject({ code: "no_route" });
    await expect(n.pay("lnbcrt1garbage")).rejects.toMatchObject({ code: "bad_invoice" });
  });

  it("drops exactly the number of notifications asked, then delivers again", () => {
    const { n } = node();
    const { hash } = newPreimage();
    const inv = n.createHoldInvoice({ paymentHash: hash, amountMsat: 1_000n });
    const seen: string[] = [];
    n.subscribe(hash, { send: (i) => seen.push(i.state), restart: () => seen.push("restart") });
    n.setFaults({ dropNotifications: 2 });
    const sub = { send: (i: { state: string }) => seen.push(i.state), restart: () => undefined };
    n.deliver(sub, inv);
    n.deliver(sub, inv);
    n.deliver(sub, inv);
    expect(seen).toEqual(["OPEN"]);
    expect(n.faults.dropNotifications).toBe(0);
    n.restartStreams();
    expect(seen).toEqual(["OPEN", "restart"]);
  });
});
