import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Product } from "@zapvend/protocol";
import { VendController, VmcSales, vmcUnitsToMinor, type ControllerOptions } from "../index.js";
import { FakeLightning, ManualClock, MemorySink, flush } from "../__fixtures__/fakes.js";
import { FakeMdbPort } from "../__fixtures__/fake-mdb.js";

// The selection map: selection 12 is mapped, 13 is mapped but disabled; others are unmapped.
const catalog: Product[] = [
  { slot: "S12", name: "Cola", kind: "mdb", icon: "🥤", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 10, capacity: 10, enabled: true },
  { slot: "S13", name: "Water", kind: "mdb", price: { unit: "fiat", currency: "EUR", amountMinor: 100 }, stock: 10, capacity: 10, enabled: false },
];
/** 1 cent = 10 000 msat (a fixed rate, as the quote would give). */
const MSAT_PER_CENT = 10_000n;

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

function setup(opts: { dbPath?: string; clock?: ManualClock; ln?: FakeLightning; device?: FakeMdbPort; maxPriceMinor?: number; sink?: MemorySink } = {}) {
  const db = new Database(opts.dbPath ?? ":memory:");
  const clock = opts.clock ?? new ManualClock();
  const ln = opts.ln ?? new FakeLightning(true);
  const device = opts.device ?? new FakeMdbPort();
  const sink = opts.sink ?? new MemorySink();
  const sales = new VmcSales({
    device,
    currency: "EUR",
    scaleFactor: 1,
    decimalPlaces: 2,
    approvalTimeoutSec: 60,
    invoiceExpirySec: 50,
    vendResultTimeoutMs: 30_000,
    sellUnmappedSelections: true,
    ...(opts.maxPriceMinor !== undefined ? { maxPriceMinor: opts.maxPriceMinor } : {}),
    clock,
  });
  const options: ControllerOptions = {
    db,
    vendStep: sales,
    payments: ln,
    events: sink,
    catalog,
    clock,
    quote: (p) => (p.price.unit === "fiat" ? { amountMsat: BigInt(p.price.amountMinor) * MSAT_PER_CENT, fiat: { currency: p.price.currency, amountMinor: p.price.amountMinor }, rate: null } : null),
  };
  const ctl = new VendController(options);
  const start = async () => {
    await ctl.start();
    sales.attach(ctl);
    stops.push(async () => {
      sales.detach();
      await ctl.stop();
    });
  };
  return { ctl, sales, device, ln, sink, clock, db, start };
}

/** The one order the machine has (the VMC's vend request made it). */
function onlyOrder(ctl: VendController) {
  const orders = ctl.journal.recentOrders(10);
  expect(orders).toHaveLength(1);
  return orders[0]!;
}

describe("VMC prices", () => {
  it("converts VMC units to minor units with the scale factor and decimal places", () => {
    expect(vmcUnitsToMinor(150, 1, 2, 2)).toBe(150); // 1.50 EUR
    expect(vmcUnitsToMinor(30, 5, 2, 2)).toBe(150); // scale 5: 30 units = 1.50
    expect(vmcUnitsToMinor(15, 1, 1, 2)).toBe(150); // one decimal: 1.5
    expect(vmcUnitsToMinor(150, 1, 0, 0)).toBe(150); // JPY
    expect(vmcUnitsToMinor(1505, 1, 3, 2)).toBeUndefined(); // 1.505 EUR is not a whole cent
  });
});

describe("the VMC-first vend cycle", () => {
  it("vend request → hold invoice → held → approval → VEND SUCCESS journaled → settled", async () => {
    const { ctl, device, ln, sink, start } = setup();
    await start();
    device.request(12, 150);
    await flush();
    const order = onlyOrder(ctl);
    expect(order).toMatchObject({ slot: "S12", productName: "Cola", kind: "mdb", state: "pending", amountMsat: 1_500_000n, fiat: { currency: "EUR", amountMinor: 150 } });
    // The invoice expires before the VMC's approval timeout (50 s < 60 s).
    expect(order.expiresAt - order.createdAt).toBe(50_000);
    expect(device.sent).toEqual([]);

    // The settle happens only with VEND SUCCESS on disk.
    let evidenceAtSettle: unknown = "not settled";
    const settle = ln.settle.bind(ln);
    ln.settle = async (preimage) => {
      evidenceAtSettle = ctl.getOrder(order.orderId)?.evidence;
      return settle(preimage);
    };
    await ln.pay(order.paymentHash);
    expect(device.sent).toEqual(["approve:150"]);
    expect(ctl.getOrder(order.orderId)?.state).toBe("dispensing");
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("accepted");

    device.success(12, 150);
    await flush();
    expect(evidenceAtSettle).toMatchObject({ kind: "mdb", selection: 12, priceUnits: 150, result: "success" });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("settled");
    expect(ctl.getOrder(order.orderId)?.state).toBe("completed");
    expect(sink.types()).toEqual(["sale"]);
    expect(sink.events[0]).toMatchObject({ type: "sale", slot: "S12", selection: 12, evidence: { kind: "mdb", selection: 12, result: "success" } });
    const notes = ctl.journal.transitions(order.orderId).map((t) => t.note ?? `${t.from}->${t.to}`);
    expect(notes.indexOf("vend evidence recorded")).toBeLessThan(notes.indexOf("dispensing->completed"));
  });

  it("VEND FAILURE cancels the hold: the buyer is refunded", async () => {
    const { ctl, device, ln, sink, start } = setup();
    await start();
    device.request(12, 150);
    await flush();
    const order = onlyOrder(ctl);
    await ln.pay(order.paymentHash);
    device.failure(12, 150);
    await flush();
    expect(ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "VMC_VEND_FAILURE" }, evidence: { kind: "mdb", result: "failure" } });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(ln.calls).not.toContain("settle");
    expect(sink.types()).toEqual(["vend-failed", "refund"]);
  });

  it("a keypad cancel before the payment cancels the invoice; nothing is approved", async () => {
    const { ctl, device, ln, start } = setup();
    await start();
    device.request(12, 150);
    await flush();
    const order = onlyOrder(ctl);
    device.cancel("vmc-cancel");
    await flush();
    expect(ctl.getOrder(order.orderId)).toMatchObject({ state: "expired", failure: { code: "VMC_CANCELLED" } });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(device.sent).toEqual([]);
  });

  it("a keypad cancel after the approval refunds the buyer", async () => {
    const { ctl, device, ln, start } = setup();
    await start();
    device.request(12, 150);
    await flush();
    const order = onlyOrder(ctl);
    await ln.pay(order.paymentHash);
    device.cancel("vmc-cancel");
    await flush();
    expect(ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "VMC_CANCELLED" } });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
  });

  it("a payment that arrives after the VMC gave up is refunded, never approved", async () => {
    const { ctl, device, ln, start } = setup();
    await start();
    device.request(12, 150);
    await flush();
    const order = onlyOrder(ctl);
    // The VMC's timeout ends the session while the invoice is still open at the node (a cancel that failed).
    ln.cancelFails = 1;
    device.cancel("session-ended");
    await flush();
    expect(ctl.getOrder(order.orderId)).toMatchObject({ state: "expired", failure: { code: "VMC_TIMEOUT" } });
    await ln.pay(order.paymentHash);
    await flush();
    expect(device.sent).toEqual([]);
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(ctl.getOrder(order.orderId)?.state).toBe("expired");
  });

  it("a VMC that gives up while the invoice is being made gets no payable invoice", async () => {
    const { ctl, device, ln, start } = setup();
    await start();
    device.request(12, 150);
    device.reset(); // before the node answered
    await flush();
    const order = onlyOrder(ctl);
    expect(order).toMatchObject({ state: "expired", failure: { code: "VMC_RESET" } });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(device.sent).toEqual([]);
  });

  it("an invoice that expires before the VMC's timeout denies the vend", async () => {
    const { ctl, device, clock, start } = setup();
    await start();
    device.request(12, 150);
    await flush();
    const order = onlyOrder(ctl);
    await clock.advance(50_001);
    expect(ctl.getOrder(order.orderId)?.state).toBe("expired");
    expect(device.sent).toEqual(["deny"]);
  });

  it("a VMC reset mid-vend and a port that closes mid-vend cancel the hold", async () => {
    for (const fault of ["reset", "unplug"] as const) {
      const { ctl, device, ln, sales, start } = setup();
      await start();
      device.request(12, 150);
      await flush();
      const order = onlyOrder(ctl);
      await ln.pay(order.paymentHash);
      expect(device.sent).toEqual(["approve:150"]);
      device[fault]();
      await flush();
      expect(ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: fault === "reset" ? "VMC_RESET" : "MDB_PORT_CLOSED" } });
      expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
      expect(sales.mdbStatus().selling).toBe(false);
      expect(ctl.sellBlocker()?.code).toBe("hardware_unavailable");
    }
  });

  it("no VEND result within the limit after the approval refunds the buyer", async () => {
    const { ctl, device, ln, clock, start } = setup();
    await start();
    device.request(12, 150);
    await flush();
    const order = onlyOrder(ctl);
    await ln.pay(order.paymentHash);
    await clock.advance(30_001);
    expect(ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "VMC_RESULT_TIMEOUT" } });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
  });

  it("denies a disabled selection and a price above the ceiling (reported to the fleet)", async () => {
    const { ctl, device, sink, start } = setup({ maxPriceMinor: 500 });
    await start();
    device.request(13, 100);
    await flush();
    expect(device.sent).toEqual(["deny"]);
    device.request(14, 501);
    await flush();
    expect(device.sent).toEqual(["deny", "deny"]);
    expect(ctl.journal.recentOrders(10)).toHaveLength(0);
    expect(sink.events).toEqual([expect.objectContaining({ type: "fault", active: true, fault: expect.objectContaining({ code: "MDB_PRICE_ABOVE_CEILING" }) })]);
    expect(ctl.faults().map((f) => f.code)).toContain("MDB_PRICE_ABOVE_CEILING");
    // The next request within the ceiling ends the notice, and the fleet is told.
    device.request(14, 200);
    await flush();
    expect(ctl.faults().map((f) => f.code)).not.toContain("MDB_PRICE_ABOVE_CEILING");
    expect(sink.events.at(-1)).toMatchObject({ type: "fault", active: false, fault: { code: "MDB_PRICE_ABOVE_CEILING" } });
  });

  it("sells an unmapped selection as \"Selection N\" and a disabled reader is not selling", async () => {
    const { ctl, device, sales, start } = setup();
    await start();
    device.request(44, 200);
    await flush();
    expect(onlyOrder(ctl)).toMatchObject({ slot: "S44", productName: "Selection 44", amountMsat: 2_000_000n });
    device.cancel("disabled");
    await flush();
    expect(sales.mdbStatus()).toMatchObject({ state: "disabled", selling: false, approvalTimeoutSec: 60 });
    await expect(ctl.createOrder("S12")).rejects.toMatchObject({ code: "hardware_unavailable" });
  });

  it("after a crash, an approval with no result journaled is refunded and counted as possibly given away", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zv-mdb-")), "journal.db");
    const clock = new ManualClock();
    const ln = new FakeLightning(true);
    const first = setup({ dbPath, clock, ln });
    await first.start();
    first.device.request(12, 150);
    await flush();
    const order = onlyOrder(first.ctl);
    await ln.pay(order.paymentHash);
    expect(first.device.sent).toEqual(["approve:150"]);
    // The daemon dies here: no VEND result was read. (The old controller is dropped, not stopped.)
    stops.splice(0);
    first.sales.detach();
    const sink = new MemorySink();
    const second = setup({ dbPath, clock, ln, sink });
    await second.start();
    await flush();
    expect(second.ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "MDB_RESULT_UNKNOWN" } });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(ln.calls).not.toContain("settle");
    expect(sink.events).toEqual([expect.objectContaining({ type: "refund", possiblyVended: true })]);
    expect(second.sales.mdbStatus().unconfirmedVends).toBe(1);
    expect(second.device.sent).toEqual([]);
  });

  it("after a crash, a paid order whose approval was never written is refunded without approving", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zv-mdb-")), "journal.db");
    const clock = new ManualClock();
    const ln = new FakeLightning(true);
    const first = setup({ dbPath, clock, ln });
    await first.start();
    first.device.request(12, 150);
    await flush();
    const order = onlyOrder(first.ctl);
    stops.splice(0);
    first.sales.detach(); // dies before the payment is seen
    ln.invoices.get(order.paymentHash)!.state = "accepted";
    ln.invoices.get(order.paymentHash)!.paidMsat = order.amountMsat;
    const second = setup({ dbPath, clock, ln });
    await second.start();
    await flush();
    expect(second.ctl.getOrder(order.orderId)?.state).toBe("expired");
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(second.device.sent).toEqual([]);
  });

  it("after a crash, an unpaid vend request's invoice is cancelled at once (the VMC forgot the request)", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zv-mdb-")), "journal.db");
    const clock = new ManualClock();
    const ln = new FakeLightning(true);
    const first = setup({ dbPath, clock, ln });
    await first.start();
    first.device.request(12, 150);
    await flush();
    const order = onlyOrder(first.ctl);
    stops.splice(0);
    first.sales.detach();
    const second = setup({ dbPath, clock, ln });
    await second.start();
    await flush();
    expect(second.ctl.getOrder(order.orderId)).toMatchObject({ state: "expired", failure: { code: "interrupted" } });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
  });

  it("a second vend request supersedes the first (multi-vend is off): its order is cancelled", async () => {
    const { ctl, device, start } = setup();
    await start();
    device.request(12, 150);
    await flush();
    device.request(44, 200);
    await flush();
    const orders = ctl.journal.recentOrders(10);
    expect(orders.map((o) => `${o.slot}:${o.state}`).sort()).toEqual(["S12:expired", "S44:pending"]);
  });
});

describe("a technician's test vend through the VMC (the kiosk's service menu)", () => {
  it("approves the next request of that selection without an order; other selections are denied; VEND SUCCESS is the result", async () => {
    const { ctl, sales, device, ln, sink, start } = setup();
    await start();
    const result = sales.testVend(12, { requestTimeoutMs: 60_000 });
    expect(sales.testVendOpen()).toBe(true);
    // A buyer (or the technician's slip) presses 44: denied, and no order, no invoice.
    device.request(44, 200);
    await flush();
    expect(device.sent).toEqual(["deny"]);
    device.request(12, 150);
    await flush();
    expect(device.sent).toEqual(["deny", "approve:150"]);
    device.success(12, 150);
    expect(await result).toMatchObject({ ok: true, failure: null, evidence: { kind: "mdb", selection: 12, priceUnits: 150, result: "success" } });
    expect(ctl.journal.recentOrders(10)).toEqual([]);
    expect(ln.invoices.size).toBe(0);
    expect(sink.types()).toEqual([]);
    expect(sales.testVendOpen()).toBe(false);
    // Sales go on: the next request is a buyer's order again.
    device.request(12, 150);
    await flush();
    expect(onlyOrder(ctl)).toMatchObject({ slot: "S12", state: "pending" });
  });

  it("VEND FAILURE, nobody pressing in time, a busy reader and a closed port each end with a code", async () => {
    const { sales, device, clock, start } = setup();
    await start();
    const failed = sales.testVend(12, { requestTimeoutMs: 60_000 });
    device.request(12, 150);
    await flush();
    device.failure(12, 150);
    expect(await failed).toMatchObject({ ok: false, failure: { code: "VMC_VEND_FAILURE" }, evidence: { result: "failure" } });

    const nobody = sales.testVend(12, { requestTimeoutMs: 60_000 });
    // Only one at a time.
    expect(await sales.testVend(13, { requestTimeoutMs: 60_000 })).toMatchObject({ ok: false, failure: { code: "MDB_BUSY" } });
    await clock.advance(60_000);
    expect(await nobody).toMatchObject({ ok: false, failure: { code: "MDB_NO_VEND_REQUEST" }, evidence: null });

    // A buyer's vend request is open: the technician waits for it to end.
    device.request(12, 150);
    await flush();
    expect(await sales.testVend(12, { requestTimeoutMs: 60_000 })).toMatchObject({ ok: false, failure: { code: "MDB_BUSY" } });
    device.cancel();
    await flush();

    const unplugged = sales.testVend(12, { requestTimeoutMs: 60_000 });
    device.request(12, 150);
    await flush();
    device.unplug();
    expect(await unplugged).toMatchObject({ ok: false, failure: { code: "MDB_PORT_CLOSED" } });
    expect(device.sent.filter((c) => c.startsWith("approve"))).toEqual(["approve:150", "approve:150"]);
  });

  it("an abort before the keypad press disarms it", async () => {
    const { sales, device, start } = setup();
    await start();
    const abort = new AbortController();
    const r = sales.testVend(12, { requestTimeoutMs: 60_000, signal: abort.signal });
    abort.abort();
    expect(await r).toMatchObject({ ok: false, failure: { code: "VEND_ABORTED" } });
    device.request(12, 150);
    await flush();
    expect(device.sent).toEqual([]);
  });
});
