import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Product } from "@zapvend/protocol";
import { VendController, type ControllerOptions } from "./index.js";
import { FakeHardware, FakeLightning, ManualClock, MemorySink, flush } from "./__fixtures__/fakes.js";

const catalog: Product[] = [
  { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "msat", amountMsat: "250000" }, stock: 2, capacity: 10, enabled: true },
  { slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 250, price: { unit: "msat", amountMsat: "500000" }, stock: 40, capacity: 40, enabled: true },
];

function setup(opts: { hold?: boolean; dbPath?: string; ln?: FakeLightning; clock?: ManualClock; hw?: FakeHardware; sink?: MemorySink } = {}) {
  const db = new Database(opts.dbPath ?? ":memory:");
  const clock = opts.clock ?? new ManualClock();
  const ln = opts.ln ?? new FakeLightning(opts.hold ?? true);
  const hw = opts.hw ?? new FakeHardware();
  const sink = opts.sink ?? new MemorySink();
  const options: ControllerOptions = {
    db,
    hardware: hw,
    payments: ln,
    events: sink,
    catalog,
    clock,
    quote: (p) => (p.price.unit === "msat" ? { amountMsat: BigInt(p.price.amountMsat), fiat: null, rate: null } : null),
  };
  const ctl = new VendController(options);
  return { ctl, db, clock, ln, hw, sink };
}

describe("the vend cycle with hold invoices", () => {
  it("takes the money only after the product came out", async () => {
    const { ctl, ln, hw, sink } = setup();
    await ctl.start();
    const states: string[] = [];
    ctl.on("order", (o) => states.push(o.state));
    const order = await ctl.createOrder("A1");
    expect(order.state).toBe("pending");
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("open");
    await ln.pay(order.paymentHash);
    await flush();
    expect(hw.vends).toEqual(["spiral:A1"]);
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("settled");
    expect(ctl.getOrder(order.orderId)?.state).toBe("completed");
    expect(states).toEqual(["pending", "held", "dispensing", "completed"]);
    expect(sink.types()).toEqual(["sale"]);
    expect(sink.events[0]).toMatchObject({ type: "sale", amountMsat: "250000", paymentHash: order.paymentHash, evidence: { dropSeen: true } });
    expect(ctl.journal.stock("A1")).toBe(1);
  });

  it("refunds the buyer when the vend fails, and stops selling the jammed slot", async () => {
    const { ctl, ln, hw, sink } = setup();
    await ctl.start();
    hw.nextFailure = { code: "SPIRAL_JAM", message: "the spiral did not return home" };
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(ln.calls).not.toContain("settle");
    const after = ctl.getOrder(order.orderId)!;
    expect(after.state).toBe("refunded");
    expect(after.failure?.code).toBe("SPIRAL_JAM");
    expect(sink.types()).toEqual(["vend-failed", "fault", "refund"]);
    expect(ctl.journal.stock("A1")).toBe(2);
    await expect(ctl.createOrder("A1")).rejects.toMatchObject({ code: "slot_disabled" });
    ctl.restock("A1", 5);
    await expect(ctl.createOrder("A1")).resolves.toMatchObject({ state: "pending" });
  });

  it("does not vend for an underpaid invoice and expires it", async () => {
    const { ctl, ln, hw, clock } = setup();
    await ctl.start();
    const order = await ctl.createOrder("P1");
    await ln.pay(order.paymentHash, 400_000n);
    await flush();
    expect(hw.vends).toEqual([]);
    await clock.advance(181_000);
    expect(ctl.getOrder(order.orderId)?.state).toBe("expired");
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
  });

  it("ignores repeated notifications: one payment, one vend", async () => {
    const { ctl, ln, hw } = setup();
    await ctl.start();
    const order = await ctl.createOrder("P1");
    await ln.pay(order.paymentHash);
    await ln.notify(order.paymentHash);
    await ln.notify(order.paymentHash);
    await flush();
    expect(hw.vends).toEqual(["pour:250"]);
    expect(ctl.getOrder(order.orderId)?.state).toBe("completed");
  });

  it("reserves stock for open invoices so two buyers cannot buy the last unit", async () => {
    const { ctl } = setup();
    await ctl.start();
    await ctl.createOrder("A1");
    await ctl.createOrder("A1");
    await expect(ctl.createOrder("A1")).rejects.toMatchObject({ code: "sold_out", httpStatus: 409 });
    expect(ctl.catalog().find((e) => e.slot === "A1")).toMatchObject({ soldOut: true, stock: 0 });
  });

  it("issues no invoice while the door is open or payments are down", async () => {
    const { ctl, ln, hw } = setup();
    await ctl.start();
    hw.door = "open";
    await expect(ctl.createOrder("A1")).rejects.toMatchObject({ code: "out_of_service", httpStatus: 503 });
    hw.door = "closed";
    ln.up = "down";
    await expect(ctl.createOrder("A1")).rejects.toMatchObject({ code: "payments_unavailable" });
    expect(ln.invoices.size).toBe(0);
  });

  it("refunds a payment held after the buyer cancelled", async () => {
    const { ctl, ln, hw } = setup();
    await ctl.start();
    const order = await ctl.createOrder("A1");
    const inv = ln.invoices.get(order.paymentHash)!;
    await ctl.cancelOrder(order.orderId);
    expect(ctl.getOrder(order.orderId)?.state).toBe("expired");
    // A node that accepted the HTLC anyway (a race with the cancel): the machine must not vend, and must refund.
    inv.state = "accepted";
    inv.paidMsat = inv.amountMsat;
    await ln.notify(order.paymentHash);
    expect(hw.vends).toEqual([]);
    expect(inv.state).toBe("canceled");
  });

  it("retries a failed settle without vending again", async () => {
    const { ctl, ln, hw, clock } = setup();
    await ctl.start();
    ln.settleFails = 2;
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(ctl.getOrder(order.orderId)?.state).toBe("dispensing");
    await clock.advance(5_000);
    await clock.advance(5_000);
    expect(ctl.getOrder(order.orderId)?.state).toBe("completed");
    expect(hw.vends).toHaveLength(1);
  });
});

describe("plain invoices (no hold support)", () => {
  it("vends after a verified settle, and credits the buyer when the vend fails", async () => {
    const { ctl, ln, hw, sink } = setup({ hold: false });
    await ctl.start();
    const ok = await ctl.createOrder("P1");
    await ln.pay(ok.paymentHash);
    await flush();
    expect(ctl.getOrder(ok.orderId)?.state).toBe("completed");
    hw.nextFailure = { code: "PUMP_DRY_RUN", message: "no flow", evidence: { kind: "pour", targetMl: 250, pouredMl: 3, pulses: 1, runMs: 3000 } };
    const bad = await ctl.createOrder("P1");
    await ln.pay(bad.paymentHash);
    await flush();
    const after = ctl.getOrder(bad.orderId)!;
    expect(after.state).toBe("credited");
    expect(after.credit?.amountMsat).toBe(500_000n);
    expect(ctl.journal.getCredit(after.credit!.creditId)).toMatchObject({ orderId: bad.orderId, amountMsat: 500_000n, spentBy: null });
    expect(sink.types()).toEqual(["sale", "vend-failed", "fault", "credit"]);
  });
});

describe("recovery after a crash", () => {
  const file = () => path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-")), "journal.db");

  async function crashMidVend(hold: boolean) {
    const dbPath = file();
    const ln = new FakeLightning(hold);
    const clock = new ManualClock();
    const first = setup({ dbPath, ln, clock });
    await first.ctl.start();
    first.hw.gate = new Promise(() => undefined); // the vend never finishes: the power goes mid-vend
    const order = await first.ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(first.ctl.getOrder(order.orderId)?.state).toBe("dispensing");
    first.db.close(); // power cut: no stop(), no cleanup
    const second = setup({ dbPath, ln, clock: new ManualClock() });
    await second.ctl.start();
    await flush();
    return { order, second, ln };
  }

  it("never vends again and cancels a hold without evidence", async () => {
    const { order, second, ln } = await crashMidVend(true);
    expect(second.hw.vends).toEqual([]);
    expect(second.ctl.getOrder(order.orderId)?.state).toBe("refunded");
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(second.sink.types()).toEqual(["refund"]);
  });

  it("credits a plain payment without evidence", async () => {
    const { order, second } = await crashMidVend(false);
    expect(second.hw.vends).toEqual([]);
    expect(second.ctl.getOrder(order.orderId)?.state).toBe("credited");
  });

  it("settles a hold whose evidence was recorded before the crash", async () => {
    const dbPath = file();
    const ln = new FakeLightning(true);
    const first = setup({ dbPath, ln });
    await first.ctl.start();
    ln.settleFails = 1_000; // the backend is unreachable at the moment of settling, then the power goes
    const order = await first.ctl.createOrder("P1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(first.ctl.getOrder(order.orderId)?.evidence).toMatchObject({ pouredMl: 250 });
    first.db.close();
    ln.settleFails = 0;
    const second = setup({ dbPath, ln });
    await second.ctl.start();
    await flush();
    expect(second.hw.vends).toEqual([]);
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("settled");
    expect(second.ctl.getOrder(order.orderId)?.state).toBe("completed");
    expect(second.sink.types()).toEqual(["sale"]);
  });

  it("vends a payment that arrived while the machine was down, if the buyer can still be there", async () => {
    const dbPath = file();
    const ln = new FakeLightning(true);
    const clock = new ManualClock();
    const first = setup({ dbPath, ln, clock });
    await first.ctl.start();
    const order = await first.ctl.createOrder("A1");
    first.db.close();
    const inv = ln.invoices.get(order.paymentHash)!;
    inv.state = "accepted"; // paid while down; the notification was lost
    inv.paidMsat = inv.amountMsat;
    clock.t += 30_000;
    const second = setup({ dbPath, ln, clock });
    await second.ctl.start();
    await flush();
    expect(second.hw.vends).toEqual(["spiral:A1"]);
    expect(second.ctl.getOrder(order.orderId)?.state).toBe("completed");
  });

  it("refunds a payment found long after the invoice expired", async () => {
    const dbPath = file();
    const ln = new FakeLightning(true);
    const clock = new ManualClock();
    const first = setup({ dbPath, ln, clock });
    await first.ctl.start();
    const order = await first.ctl.createOrder("A1");
    first.db.close();
    const inv = ln.invoices.get(order.paymentHash)!;
    inv.state = "accepted";
    inv.paidMsat = inv.amountMsat;
    clock.t += 3_600_000;
    const second = setup({ dbPath, ln, clock });
    await second.ctl.start();
    await flush();
    expect(second.hw.vends).toEqual([]);
    expect(inv.state).toBe("canceled");
    expect(second.ctl.getOrder(order.orderId)?.state).toBe("expired");
  });
});
