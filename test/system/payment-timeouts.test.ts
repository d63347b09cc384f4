// System tests of the vend cycle that have to wait for real time to pass (issue #6), on both machine kinds: an
// invoice that expires (30 s, the shortest expiry the config allows), a notification that is only found by the
// machine's slow poll, a node that stalls longer than a request may take. Each test has its own machine and its own
// sim node, so they run side by side and the file takes about as long as its slowest case.
import { describe, it, vi } from "vitest";
import { MachineKind, until, VendSystem } from "./support/system.js";

// All eight cases at once (the default is five): they mostly wait, so the file takes one expiry rather than two.
// (The underpayment case moved to payment-faults.test.ts: the machine now cancels it at once, nothing waits.)
vi.setConfig({ maxConcurrency: 10 });

const EXPIRY_SEC = 30;
/** The machine's expiry timer fires at 30 s; a busy CI machine gets some slack on top. */
const EXPIRY_WAIT_MS = EXPIRY_SEC * 1000 + 10_000;

describe.concurrent.each([MachineKind.DRINKS, MachineKind.SNACKS])("%s machine", (kind) => {
  it("vends when every notification is lost: the slow poll finds the held payment", async ({ expect, onTestFinished }) => {
    const sys = await VendSystem.start(kind);
    onTestFinished(() => sys.stop());
    await sys.nodeFaults({ dropNotifications: -1 });
    const stockBefore = sys.journalStock();
    const created = await sys.createOrder();
    const orderId = created.body.orderId as string;
    const paymentHash = created.body.paymentHash as string;

    const paid = await sys.pay(created.body.bolt11 as string);
    expect(paid.status).toBe(200);
    await sys.waitForState(orderId, "completed");
    expect(sys.statePath(orderId)).toEqual(["pending", "held", "dispensing", "completed"]);
    expect(sys.invoice(paymentHash).state).toBe("SETTLED");
    expect(sys.node.node.faults.dropNotifications).toBe(-1); // still dropping: the poll did it, not a push
    expect(sys.journalStock()).toBe(stockBefore - 1);
    expect((await sys.catalogEntry()).stock).toBe(stockBefore - 1);
    await until("the sale event", () => (sys.eventsOf("sale", orderId).length === 1 ? true : undefined), 10_000);
  });

  // The settle and the lookup after it each wait out the 10 s request timeout before the retry is scheduled.
  it("retries the settle when the node stalls during the vend, and settles once it answers again", { timeout: 90_000 }, async ({ expect, onTestFinished }) => {
    const sys = await VendSystem.start(kind);
    onTestFinished(() => sys.stop());
    const stockBefore = sys.journalStock();
    const balanceBefore = sys.balanceMsat;
    const created = await sys.createOrder();
    const orderId = created.body.orderId as string;
    const paymentHash = created.body.paymentHash as string;
    const paying = sys.pay(created.body.bolt11 as string);

    await sys.waitForState(orderId, "dispensing");
    await sys.nodeFaults({ stall: true });
    // The product comes out; the settle gets no answer within the request timeout and is scheduled again.
    await until("a failed settle", () => (sys.logs.some((l) => l.includes("settle failed; will retry") && l.includes(orderId)) ? true : undefined), 45_000, () => sys.recentLogs());
    expect((await sys.order(orderId)).state).toBe("dispensing");
    // Write-ahead: the evidence and the stock are on disk before the money is taken.
    expect(sys.journalOrder(orderId)?.evidence).toMatchObject({ kind: kind === "drinks" ? "pour" : "spiral" });
    expect(sys.journalStock()).toBe(stockBefore - 1);
    expect(sys.invoice(paymentHash).state).toBe("ACCEPTED");
    // The product is out and counted: the order holds no unit back any more while its money is being taken.
    expect((await sys.catalogEntry()).stock).toBe(stockBefore - 1);

    await sys.nodeFaults({ stall: false });
    await sys.waitForState(orderId, "completed", 20_000);
    expect((await paying).status).toBe(200);
    expect(sys.statePath(orderId)).toEqual(["pending", "held", "dispensing", "completed"]);
    expect(sys.invoice(paymentHash).state).toBe("SETTLED");
    expect(sys.balanceMsat).toBe(balanceBefore - sys.priceMsat);
    expect(sys.journalStock()).toBe(stockBefore - 1);
    expect((await sys.catalogEntry()).stock).toBe(stockBefore - 1);
    await until("the sale event", () => (sys.eventsOf("sale", orderId).length === 1 ? true : undefined), 10_000);
  });

  it("takes nothing and vends nothing when the wallet pays after the invoice expired", async ({ expect, onTestFinished }) => {
    const sys = await VendSystem.start(kind, { invoiceExpirySec: EXPIRY_SEC });
    onTestFinished(() => sys.stop());
    const stockBefore = sys.journalStock();
    const balanceBefore = sys.balanceMsat;
    const created = await sys.createOrder();
    const orderId = created.body.orderId as string;
    const paymentHash = created.body.paymentHash as string;

    const order = await sys.waitForState(orderId, "expired", EXPIRY_WAIT_MS);
    expect(order.failure?.code).toBe("invoice_expired");
    // A phone that ignores the expiry pays anyway: the node turns the payment away.
    await sys.nodeFaults({ payAfterExpiry: true });
    const paid = await sys.pay(created.body.bolt11 as string);
    expect(paid).toMatchObject({ status: 409, body: { error: { code: "payment_failed" } } });

    expect(sys.statePath(orderId)).toEqual(["pending", "expired"]);
    const inv = sys.invoice(paymentHash);
    expect(inv.state).toBe("CANCELED");
    expect(inv.htlcs).toHaveLength(0);
    expect(sys.balanceMsat).toBe(balanceBefore);
    expect(sys.journalStock()).toBe(stockBefore);
    expect((await sys.catalogEntry()).stock).toBe(stockBefore);
    expect(sys.creditCount()).toBe(0);
    expect(sys.eventsOf("sale")).toHaveLength(0);
  });

  it("releases the last item when the first buyer's invoice expires unpaid", async ({ expect, onTestFinished }) => {
    const sys = await VendSystem.start(kind, { invoiceExpirySec: EXPIRY_SEC, stock: 1 });
    onTestFinished(() => sys.stop());
    const first = await sys.createOrder();
    expect(first.status).toBe(201);
    expect(await sys.createOrder()).toMatchObject({ status: 409, body: { error: { code: "sold_out" } } });
    expect(await sys.catalogEntry()).toMatchObject({ stock: 0, soldOut: true });

    await sys.waitForState(first.body.orderId as string, "expired", EXPIRY_WAIT_MS);
    expect(sys.invoice(first.body.paymentHash as string).state).toBe("CANCELED");
    expect(await sys.catalogEntry()).toMatchObject({ stock: 1, soldOut: false });

    const second = await sys.createOrder();
    expect(second.status).toBe(201);
    expect((await sys.pay(second.body.bolt11 as string)).status).toBe(200);
    await sys.waitForState(second.body.orderId as string, "completed");
    expect(sys.journalStock()).toBe(0);
    expect(await sys.catalogEntry()).toMatchObject({ stock: 0, soldOut: true });
    expect(sys.statePath(first.body.orderId as string)).toEqual(["pending", "expired"]);
  });
});
