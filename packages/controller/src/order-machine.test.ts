import { describe, expect, it } from "vitest";
import type { OrderRecord } from "./journal.js";
import {
  canTransition,
  decideDispensingRecovery,
  decideHeldRecovery,
  decidePaymentUpdate,
  decidePendingRecovery,
  ORDER_TRANSITIONS,
} from "./order-machine.js";

const T0 = 1_763_700_000_000;
function order(over: Partial<OrderRecord> = {}): OrderRecord {
  return {
    orderId: "ord_1", slot: "A1", productName: "Crisps", kind: "spiral", volumeMl: null, state: "pending",
    amountMsat: 1000n, fiat: null, rate: null, paymentHash: "ab".repeat(32), preimage: "cd".repeat(32), bolt11: "lnbc1",
    hold: true, createdAt: T0, expiresAt: T0 + 60_000, updatedAt: T0, failure: null, evidence: null, credit: null,
    creditUsed: null, settlement: null, cancelPending: false, ...over,
  };
}
const facts = { now: T0 + 1_000, vendQueueIdle: true, preimageMatches: true };

describe("the order state table", () => {
  it("lets no final state out, and an expired order only become a credit", () => {
    for (const s of ["completed", "refunded", "credited"] as const) expect(ORDER_TRANSITIONS[s]).toEqual([]);
    expect(canTransition("expired", "credited")).toBe(true);
    expect(canTransition("expired", "held")).toBe(false);
    expect(canTransition("pending", "completed")).toBe(false);
  });
});

describe("a verified payment update", () => {
  it("vends a held payment at once when the queue is idle, else writes held and queues it", () => {
    const paid = { state: "accepted" as const, amountMsat: 1000n, amountPaidMsat: 1000n };
    expect(decidePaymentUpdate(order(), paid, facts)).toEqual({ do: "vend", via: "held-and-dispensing" });
    expect(decidePaymentUpdate(order(), paid, { ...facts, vendQueueIdle: false })).toEqual({ do: "vend", via: "held-then-queue" });
  });
  it("never vends a short payment, a late one, or a plain one with a wrong preimage", () => {
    expect(decidePaymentUpdate(order(), { state: "accepted", amountMsat: 1000n, amountPaidMsat: 999n }, facts)).toEqual({ do: "ignore" });
    expect(decidePaymentUpdate(order(), { state: "accepted", amountMsat: 1000n, amountPaidMsat: 1000n }, { ...facts, now: T0 + 60_001 })).toMatchObject({ do: "refuse-late" });
    expect(decidePaymentUpdate(order({ state: "expired" }), { state: "accepted", amountMsat: 1000n, amountPaidMsat: 1000n }, facts)).toMatchObject({ do: "refuse-late" });
    const plain = order({ hold: false, preimage: null });
    expect(decidePaymentUpdate(plain, { state: "settled", amountMsat: 1000n, amountPaidMsat: 1000n }, { ...facts, preimageMatches: false })).toEqual({ do: "reject-preimage" });
    expect(decidePaymentUpdate(plain, { state: "accepted", amountMsat: 1000n, amountPaidMsat: 1000n }, facts)).toEqual({ do: "ignore" });
  });
  it("expires a pending order the node cancelled", () => {
    expect(decidePaymentUpdate(order(), { state: "canceled", amountMsat: 1000n, amountPaidMsat: 0n }, facts)).toEqual({ do: "cancelled", expire: true });
    expect(decidePaymentUpdate(order({ state: "refunded" }), { state: "canceled", amountMsat: 1000n, amountPaidMsat: 0n }, facts)).toEqual({ do: "cancelled", expire: false });
  });
});

describe("recovery decisions", () => {
  it("settles a dispensing order only with evidence and no failure", () => {
    const evidence = { kind: "spiral" as const, dropSeen: true, homed: true, runMs: 900 };
    expect(decideDispensingRecovery(order({ state: "dispensing", evidence }), true)).toEqual({ do: "complete" });
    expect(decideDispensingRecovery(order({ state: "dispensing" }), true)).toMatchObject({ do: "refund", failure: { code: "interrupted" } });
    expect(decideDispensingRecovery(order({ state: "dispensing", hold: false }), true)).toMatchObject({ do: "credit" });
  });
  it("vends a held order only while the buyer is plausibly there", () => {
    expect(decideHeldRecovery(order({ state: "held" }), T0 + 100_000, 120_000)).toEqual({ do: "vend" });
    expect(decideHeldRecovery(order({ state: "held" }), T0 + 200_000, 120_000)).toMatchObject({ do: "refund" });
  });
  it("turns a payment found after a restart into a vend, a late refusal, an underpayment or a wait", () => {
    const paid = { state: "accepted" as const, amountMsat: 1000n, amountPaidMsat: 1000n };
    expect(decidePendingRecovery(order(), paid, T0 + 1_000, 120_000)).toEqual({ do: "vend" });
    expect(decidePendingRecovery(order(), paid, T0 + 500_000, 120_000)).toMatchObject({ do: "refuse-late" });
    expect(decidePendingRecovery(order(), { ...paid, amountPaidMsat: 10n }, T0 + 1_000, 120_000)).toEqual({ do: "underpaid" });
    expect(decidePendingRecovery(order(), { ...paid, state: "open", amountPaidMsat: 0n }, T0 + 1_000, 120_000)).toEqual({ do: "track" });
    expect(decidePendingRecovery(order(), { ...paid, state: "open", amountPaidMsat: 0n }, T0 + 61_000, 120_000)).toMatchObject({ do: "expire" });
  });
});
