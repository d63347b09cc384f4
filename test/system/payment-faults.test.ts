// System tests of the vend cycle when the Lightning side misbehaves (issue #6), on both machine kinds: the sim
// node's fault switchboard (`POST /sim/faults`) makes it lose notifications, restart its streams, refuse requests,
// take a payment twice or push a forged "paid". The machine must vend exactly when an authenticated lookup shows the
// full amount held, and never otherwise. The cases that need an invoice to expire or a request to time out are in
// payment-timeouts.test.ts, where they run side by side.
import { afterEach, describe, expect, it } from "vitest";
import { MachineKind, until, VendSystem } from "./support/system.js";

const systems: VendSystem[] = [];
async function system(...args: Parameters<typeof VendSystem.start>): Promise<VendSystem> {
  const s = await VendSystem.start(...args);
  systems.push(s);
  return s;
}
afterEach(async () => {
  for (const s of systems.splice(0)) await s.stop();
});

/** The machine's slow poll of tracked invoices (PaymentMonitor's default, which the daemon keeps). */
const MONITOR_POLL_MS = 10_000;

describe.each([MachineKind.DRINKS, MachineKind.SNACKS])("%s machine", (kind) => {
  it("cancels an underpayment a broken node accepted at once, not at the invoice's expiry: refunded, code underpaid", async () => {
    // The default expiry (120 s) is far beyond the wait below: the cancel has to be the machine's reaction.
    const sys = await system(kind);
    const stockBefore = sys.journalStock();
    const balanceBefore = sys.balanceMsat;
    await sys.nodeFaults({ payAmountDeltaMsat: "-1000", acceptUnderpayment: true });
    const created = await sys.createOrder();
    const orderId = created.body.orderId as string;
    const paymentHash = created.body.paymentHash as string;

    const paying = sys.pay(created.body.bolt11 as string);
    // The node holds it, the machine's lookup shows it short, and the hold is cancelled: the wallet's payment fails.
    const order = await sys.waitForState(orderId, "refunded", MONITOR_POLL_MS + 10_000);
    expect(order.failure?.code).toBe("underpaid");
    expect(order.expiresAt - Date.now()).toBeGreaterThan(60_000); // long before the invoice would have expired
    expect((await paying).status).toBe(409);
    const inv = sys.invoice(paymentHash);
    expect(inv.state).toBe("CANCELED");
    expect(inv.amtPaidMsat).toBe(sys.priceMsat - 1000n);
    expect(inv.htlcs.map((h) => h.state)).toEqual(["CANCELED"]);
    expect(sys.balanceMsat).toBe(balanceBefore);
    expect(sys.statePath(orderId)).toEqual(["pending", "refunded"]);
    expect(sys.transitions(orderId).some((t) => t.note === "hold cancel confirmed")).toBe(true);
    expect(sys.journalOrder(orderId)).toMatchObject({ state: "refunded", failure: { code: "underpaid" } });
    // Nothing came out, nothing is reserved any more.
    expect(sys.journalStock()).toBe(stockBefore);
    expect((await sys.catalogEntry()).stock).toBe(stockBefore);
    expect(sys.creditCount()).toBe(0);
    await until("the refund event", () => (sys.eventsOf("refund", orderId).length > 0 ? true : undefined), 10_000);
    expect(sys.eventsOf("refund", orderId)[0]).toMatchObject({ paymentHash, amountMsat: (sys.priceMsat - 1000n).toString(), reason: { code: "underpaid" } });
    expect(sys.eventsOf("sale")).toHaveLength(0);
    expect(sys.eventsOf("vend-failed")).toHaveLength(0);
  });

  it("finds a payment whose notification was lost when the node's streams restart (sweep after reconnect)", async () => {
    const sys = await system(kind);
    const stockBefore = sys.journalStock();
    const created = await sys.createOrder();
    expect(created.status).toBe(201);
    const orderId = created.body.orderId as string;
    const paymentHash = created.body.paymentHash as string;

    // Every push is lost while the buyer pays: the node holds the payment, the machine hears nothing.
    await sys.nodeFaults({ dropNotifications: -1 });
    const paying = sys.pay(created.body.bolt11 as string);
    await until("the node to hold the payment", () => (sys.invoice(paymentHash).state === "ACCEPTED" ? true : undefined), 10_000);
    expect((await sys.order(orderId)).state).toBe("pending");

    // The node restarts its streams (and delivers again): the machine reconnects, sweeps, and finds the payment
    // sooner than its slow poll would have.
    const restartedAt = Date.now();
    await sys.nodeFaults({ clear: true, restartStreams: true });
    await sys.waitForState(orderId, "held", MONITOR_POLL_MS - 4_000).catch(async (err: unknown) => {
      // `held` may already be behind us: the vend is quick.
      if (["dispensing", "completed"].includes((await sys.order(orderId)).state)) return;
      throw err;
    });
    expect(Date.now() - restartedAt).toBeLessThan(MONITOR_POLL_MS);
    expect(sys.logs.some((l) => l.includes("invoice stream reconnected") && l.includes(paymentHash))).toBe(true);

    expect((await paying).status).toBe(200);
    await sys.waitForState(orderId, "completed");
    expect(sys.statePath(orderId)).toEqual(["pending", "held", "dispensing", "completed"]);
    expect(sys.invoice(paymentHash).state).toBe("SETTLED");
    expect(sys.journalStock()).toBe(stockBefore - 1);
    expect((await sys.catalogEntry()).stock).toBe(stockBefore - 1);
    await until("the sale event", () => (sys.eventsOf("sale", orderId).length === 1 ? true : undefined), 10_000);
  });

  it("refuses the order while the node is down (503 payments_unavailable, nothing reserved) and sells once it is back", async () => {
    const sys = await system(kind);
    const stockBefore = sys.journalStock();
    await sys.nodeFaults({ refuse: true });

    const refused = await sys.createOrder();
    expect(refused).toMatchObject({ status: 503, body: { error: { code: "payments_unavailable" } } });
    expect(sys.node.node.listInvoices()).toHaveLength(0);
    // No unit is held back for an invoice nobody can pay.
    expect((await sys.catalogEntry()).stock).toBe(stockBefore);
    expect(sys.journalStock()).toBe(stockBefore);
    expect(sys.eventsOf("sale")).toHaveLength(0);

    await sys.nodeFaults({ clear: true });
    const balanceBefore = sys.balanceMsat;
    const created = await until(
      "an order once the node is back",
      async () => {
        const r = await sys.createOrder();
        if (r.status === 201) return r;
        expect(r).toMatchObject({ status: 503, body: { error: { code: "payments_unavailable" } } });
        return undefined;
      },
      MONITOR_POLL_MS + 5_000,
    );
    expect((await sys.pay(created.body.bolt11 as string)).status).toBe(200);
    await sys.waitForState(created.body.orderId as string, "completed");
    expect(sys.journalStock()).toBe(stockBefore - 1);
    expect(sys.balanceMsat).toBe(balanceBefore - sys.priceMsat);
  });

  it("vends once when the wallet pays twice", async () => {
    const sys = await system(kind);
    const stockBefore = sys.journalStock();
    const balanceBefore = sys.balanceMsat;
    await sys.nodeFaults({ payTwice: true });

    const created = await sys.createOrder();
    const orderId = created.body.orderId as string;
    const paymentHash = created.body.paymentHash as string;
    const paid = await sys.pay(created.body.bolt11 as string);
    expect(paid.status).toBe(200);
    // The node turned the second HTLC away: the invoice was already paid.
    expect(paid.body.secondAttempt).toMatchObject({ ok: false });

    await sys.waitForState(orderId, "completed");
    expect(sys.statePath(orderId)).toEqual(["pending", "held", "dispensing", "completed"]);
    expect(sys.transitions(orderId).filter((t) => t.to === "dispensing" && t.from === "held")).toHaveLength(1);
    const inv = sys.invoice(paymentHash);
    expect(inv.state).toBe("SETTLED");
    expect(inv.htlcs.map((h) => h.state)).toEqual(["SETTLED"]);
    expect(sys.balanceMsat).toBe(balanceBefore - sys.priceMsat);
    expect(sys.journalStock()).toBe(stockBefore - 1);
    expect((await sys.catalogEntry()).stock).toBe(stockBefore - 1);
    await until("the sale event", () => (sys.eventsOf("sale", orderId).length > 0 ? true : undefined), 10_000);
    // The outbox had time to flush everything; still one sale.
    await new Promise((r) => setTimeout(r, 500));
    expect(sys.eventsOf("sale")).toHaveLength(1);
  });

  it("does not vend on a forged 'paid' push, and still vends once the buyer really pays", async () => {
    const sys = await system(kind);
    const stockBefore = sys.journalStock();
    const created = await sys.createOrder();
    const orderId = created.body.orderId as string;
    const paymentHash = created.body.paymentHash as string;

    // The node's stream says "held", then "settled", with the full amount; its own lookup says OPEN.
    await sys.nodeFaults({ forgePush: { paymentHash, state: "ACCEPTED" } });
    await sys.nodeFaults({ forgePush: { paymentHash, state: "SETTLED" } });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await sys.order(orderId)).state).toBe("pending");
    expect(sys.statePath(orderId)).toEqual(["pending"]);
    expect(sys.invoice(paymentHash).state).toBe("OPEN");
    expect(sys.journalStock()).toBe(stockBefore);
    expect((await sys.catalogEntry()).stock).toBe(stockBefore - 1); // still reserved for this buyer
    expect(sys.eventsOf("sale")).toHaveLength(0);

    expect((await sys.pay(created.body.bolt11 as string)).status).toBe(200);
    await sys.waitForState(orderId, "completed");
    expect(sys.statePath(orderId)).toEqual(["pending", "held", "dispensing", "completed"]);
    expect(sys.journalStock()).toBe(stockBefore - 1);
    expect(sys.invoice(paymentHash).state).toBe("SETTLED");
  });
});
