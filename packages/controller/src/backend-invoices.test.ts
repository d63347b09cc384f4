// What the vend cycle owes backends whose invoices differ from the order (issue #14): a hold invoice that lives
// longer than the order (Core Lightning's holdinvoice plugin needs an expiry above its floor, 1800 s by default), and
// a backend that cannot find an invoice by payment hash after a restart (BTCPay: the journal's BOLT 11 is handed over).
import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Product } from "@zapvend/protocol";
import { VendController } from "./index.js";
import type { InvoiceLookup } from "./ports.js";
import { FakeHardware, FakeLightning, ManualClock, MemorySink, flush } from "./__fixtures__/fakes.js";

const catalog: Product[] = [{ slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "msat", amountMsat: "250000" }, stock: 3, capacity: 10, enabled: true }];

function setup(ln: FakeLightning, dbPath = ":memory:", clock = new ManualClock()) {
  const db = new Database(dbPath);
  const hw = new FakeHardware();
  const sink = new MemorySink();
  const ctl = new VendController({
    db,
    hardware: hw,
    payments: ln,
    events: sink,
    catalog,
    clock,
    quote: (p) => (p.price.unit === "msat" ? { amountMsat: BigInt(p.price.amountMsat), fiat: null, rate: null } : null),
  });
  return { ctl, db, hw, sink, clock };
}

/** A node whose hold invoices stay payable far past the order (as CLN's do), recording the expiry it was asked for. */
class LongLivedHolds extends FakeLightning {
  asked: number[] = [];
  override async createHoldInvoice(req: { paymentHash: string; amountMsat: bigint; expirySec: number }) {
    this.asked.push(req.expirySec);
    return super.createHoldInvoice(req);
  }
}

/** A backend that, like BTCPay, finds an invoice after a restart only when told its BOLT 11 first. */
class NeedsBolt11 extends FakeLightning {
  restored = new Map<string, string>();
  forgetful = false;
  restoreInvoice(paymentHash: string, bolt11: string): void {
    this.restored.set(paymentHash, bolt11);
  }
  override async lookup(hash: string): Promise<InvoiceLookup> {
    if (this.forgetful && !this.restored.has(hash)) throw Object.assign(new Error("cannot search by hash"), { code: "invoice_not_found" });
    return super.lookup(hash);
  }
}

describe("a hold invoice that outlives its order", () => {
  it("the order still expires at its own 180 s: the hold is cancelled then, and a later payment is refunded, never vended", async () => {
    const ln = new LongLivedHolds(true);
    const { ctl, clock } = setup(ln);
    await ctl.start();
    const order = await ctl.createOrder("A1");
    // The controller asks for the order's window; the backend may make the invoice live longer (CLN: + floor).
    expect(ln.asked).toEqual([180]);
    expect(order.expiresAt - order.createdAt).toBe(180_000);
    await clock.advance(179_000);
    expect(ctl.getOrder(order.orderId)?.state).toBe("pending");
    await clock.advance(1_000);
    await flush();
    expect(ctl.getOrder(order.orderId)).toMatchObject({ state: "expired", failure: { code: "invoice_expired" } });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(ctl.available("A1")).toBe(3);
    await ctl.stop();
  });

  it("a payment the node still accepted after the order's expiry (the cancel failed) is cancelled, not vended", async () => {
    const ln = new LongLivedHolds(true);
    const { ctl, hw, clock } = setup(ln);
    await ctl.start();
    const order = await ctl.createOrder("A1");
    ln.cancelFails = 1;
    await clock.advance(180_000);
    await flush();
    expect(ctl.getOrder(order.orderId)?.state).toBe("expired");
    // The node was unreachable for the cancel; the invoice is still open there and the buyer pays at 182 s,
    // before the cancel's retry.
    const inv = ln.invoices.get(order.paymentHash)!;
    expect(inv.state).toBe("open");
    await clock.advance(2_000);
    await ln.pay(order.paymentHash);
    await flush();
    expect(hw.vends).toEqual([]);
    expect(inv.state).toBe("canceled");
    await ctl.stop();
  });
});

describe("after a restart the backend is told each open invoice's BOLT 11 before any lookup", () => {
  it("a plain-invoice order paid while the machine was down is found (BTCPay-like backend) and vended", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-")), "journal.db");
    const ln = new NeedsBolt11(false);
    const first = setup(ln, dbPath);
    await first.ctl.start();
    const order = await first.ctl.createOrder("A1");
    const done = await first.ctl.createOrder("A1");
    await ln.pay(done.paymentHash);
    await flush();
    expect(first.ctl.getOrder(done.orderId)?.state).toBe("completed");
    await first.ctl.stop();
    first.db.close();

    // Paid while the machine was down; the restarted backend knows nothing of earlier invoices.
    const inv = ln.invoices.get(order.paymentHash)!;
    inv.state = "settled";
    inv.paidMsat = inv.amountMsat;
    ln.forgetful = true;
    const second = setup(ln, dbPath, first.clock);
    await second.ctl.start();
    await flush();
    // Only the open order's invoice is handed over, with the BOLT 11 the buyer was shown.
    expect([...ln.restored]).toEqual([[order.paymentHash, order.bolt11]]);
    expect(second.ctl.getOrder(order.orderId)?.state).toBe("completed");
    expect(second.hw.vends).toEqual(["spiral:A1"]);
    await second.ctl.stop();
  });
});
