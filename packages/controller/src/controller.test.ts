import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Product } from "@zapvend/protocol";
import { VendController, type ControllerOptions } from "./index.js";
import { FakeHardware, FakeLightning, ManualClock, MemorySink, flush } from "./__fixtures__/fakes.js";

const catalog: Product[] = [
  { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "msat", amountMsat: "250000" }, stock: 2, capacity: 10, enabled: true },
  { slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 250, price: { unit: "msat", amountMsat: "500000" }, stock: 40, capacity: 40, enabled: true },
];

/** Every sink of a test: after it, none may have refused an event (unless the test says it expects that). */
const sinks: Array<{ sink: MemorySink; refusals: boolean }> = [];
afterEach(() => {
  // Each event the controller caused on every path of this file is one protocol's EventBody accepts.
  for (const { sink, refusals } of sinks.splice(0)) if (!refusals) expect(sink.refused).toEqual([]);
});

function setup(
  opts: { hold?: boolean; dbPath?: string; ln?: FakeLightning; clock?: ManualClock; hw?: FakeHardware; sink?: MemorySink; catalog?: Product[]; refusals?: boolean; pourStation?: (slot: string) => string | undefined } = {},
) {
  const db = new Database(opts.dbPath ?? ":memory:");
  const clock = opts.clock ?? new ManualClock();
  const ln = opts.ln ?? new FakeLightning(opts.hold ?? true);
  const hw = opts.hw ?? new FakeHardware();
  const sink = opts.sink ?? new MemorySink();
  sinks.push({ sink, refusals: opts.refusals ?? false });
  const options: ControllerOptions = {
    db,
    hardware: hw,
    payments: ln,
    events: sink,
    catalog: opts.catalog ?? catalog,
    clock,
    ...(opts.pourStation ? { pourStation: opts.pourStation } : {}),
    ...(process.env.CTL_DEBUG ? { logger: { info() {}, warn: console.warn, error: console.error } } : {}),
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

  it("cancels an underpaid hold at once (no wait for the expiry): refunded, code underpaid, nothing vended", async () => {
    const { ctl, ln, hw, sink } = setup();
    await ctl.start();
    const states: string[] = [];
    ctl.on("order", (o) => states.push(o.state));
    const order = await ctl.createOrder("P1");
    await ln.pay(order.paymentHash, 400_000n);
    await flush();
    expect(hw.vends).toEqual([]);
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    const after = ctl.getOrder(order.orderId)!;
    expect(after).toMatchObject({ state: "refunded", failure: { code: "underpaid" }, cancelPending: false });
    expect(states).toEqual(["pending", "refunded"]);
    expect(sink.events).toMatchObject([{ type: "refund", orderId: order.orderId, amountMsat: "400000", reason: { code: "underpaid" } }]);
    expect(ctl.available("P1")).toBe(40);
  });

  it("keeps retrying the cancel of an underpaid hold, flagged on disk first, also after a restart", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-")), "journal.db");
    const ln = new FakeLightning(true);
    const clock = new ManualClock();
    const first = setup({ dbPath, ln, clock });
    await first.ctl.start();
    const order = await first.ctl.createOrder("A1");
    ln.cancelFails = 2;
    await ln.pay(order.paymentHash, 200_000n);
    await flush();
    // Final at once (nothing can vend it), the cancel still owed and on disk.
    expect(first.ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "underpaid" }, cancelPending: true });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("accepted");
    await first.ctl.stop();
    first.db.close();

    const second = setup({ dbPath, ln, clock });
    await second.ctl.start(); // the second failed attempt; the retry is scheduled
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("accepted");
    await clock.advance(5_000);
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(second.ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", cancelPending: false });
    await second.ctl.stop();
  });

  it("refunds an underpayment found held after a restart", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-")), "journal.db");
    const ln = new FakeLightning(true);
    const first = setup({ dbPath, ln });
    await first.ctl.start();
    const order = await first.ctl.createOrder("A1");
    await first.ctl.stop();
    first.db.close();
    // Paid short while the machine was down.
    const inv = ln.invoices.get(order.paymentHash)!;
    inv.state = "accepted";
    inv.paidMsat = 100_000n;
    const second = setup({ dbPath, ln });
    await second.ctl.start();
    expect(second.ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "underpaid" } });
    expect(inv.state).toBe("canceled");
    expect(second.hw.vends).toEqual([]);
    await second.ctl.stop();
  });

  /** Counts the journal transactions committed on `db` from now on (better-sqlite3: one per outer `transaction()` call). */
  function countCommits(db: Database.Database) {
    const counter = { commits: 0 };
    const original = db.transaction.bind(db);
    db.transaction = ((fn: (...args: unknown[]) => unknown) => {
      const tx = original(fn);
      return Object.assign((...args: unknown[]) => {
        const result = tx(...args);
        if (!db.inTransaction) counter.commits++;
        return result;
      }, tx);
    }) as typeof db.transaction;
    return counter;
  }

  it("writes held and dispensing in one commit when nothing else is vending, both on disk before the motor turns", async () => {
    const hw = new FakeHardware();
    const { ctl, ln, db } = setup({ hw, dbPath: path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-")), "journal.db") });
    await ctl.start();
    const seen: string[] = [];
    ctl.on("order", (o) => seen.push(`order:${o.state}`));
    ctl.on("progress", () => seen.push("progress"));
    const order = await ctl.createOrder("A1");
    seen.length = 0;
    const counter = countCommits(db);
    let atMotor: { commits: number; state: string | undefined; transitions: string[] } | undefined;
    const vendSpiral = hw.vendSpiral.bind(hw);
    hw.vendSpiral = (slot, opts) => {
      // What a crash at the instant the motor starts would leave on disk.
      const onDisk = new Database(db.name, { readonly: true });
      const row = onDisk.prepare("SELECT state FROM orders WHERE order_id = ?").get(order.orderId) as { state: string } | undefined;
      onDisk.close();
      atMotor = { commits: counter.commits, state: row?.state, transitions: ctl.journal.transitions(order.orderId).filter((t) => t.from !== t.to).map((t) => `${t.from}->${t.to}`) };
      seen.push("motor");
      return vendSpiral(slot, opts);
    };
    await ln.pay(order.paymentHash);
    await flush();
    expect(atMotor).toEqual({ commits: 1, state: "dispensing", transitions: ["null->pending", "pending->held", "held->dispensing"] });
    // The screens hear of it once the motor runs; the progress the hardware reported at once comes after `dispensing`.
    expect(seen.slice(0, 4)).toEqual(["motor", "order:held", "order:dispensing", "progress"]);
    expect(ctl.getOrder(order.orderId)?.state).toBe("completed");
  });

  it("writes held on its own while another vend runs, then dispensing when its turn comes", async () => {
    const hw = new FakeHardware();
    const { ctl, ln } = setup({ hw });
    await ctl.start();
    let release!: () => void;
    hw.gate = new Promise((r) => (release = r));
    const first = await ctl.createOrder("A1");
    const second = await ctl.createOrder("P1");
    await ln.pay(first.paymentHash);
    await flush();
    await ln.pay(second.paymentHash);
    await flush();
    expect(ctl.getOrder(first.orderId)?.state).toBe("dispensing");
    expect(ctl.getOrder(second.orderId)?.state).toBe("held"); // paid, waiting for the delivery port
    expect(hw.vends).toEqual(["spiral:A1"]);
    hw.gate = undefined;
    release();
    await flush();
    expect(hw.vends).toEqual(["spiral:A1", "pour:250"]);
    expect(ctl.getOrder(second.orderId)?.state).toBe("completed");
    expect(ctl.journal.transitions(second.orderId).filter((t) => t.from !== t.to).map((t) => `${t.from}->${t.to}`).slice(0, 3)).toEqual(["null->pending", "pending->held", "held->dispensing"]);
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
    await clock.advance(5_000); // first retry after 5 s fails, the next one waits 10 s
    expect(ln.calls.filter((c) => c === "settle")).toHaveLength(2);
    await clock.advance(9_000);
    expect(ctl.getOrder(order.orderId)?.state).toBe("dispensing");
    await clock.advance(1_000);
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

describe("plain invoices settled short", () => {
  it("credits what a broken node settled for less than the invoice, and vends nothing", async () => {
    const { ctl, ln, hw, sink } = setup({ hold: false });
    await ctl.start();
    const order = await ctl.createOrder("P1");
    await ln.pay(order.paymentHash, 300_000n);
    await flush();
    expect(hw.vends).toEqual([]);
    const after = ctl.getOrder(order.orderId)!;
    expect(after).toMatchObject({ state: "credited", failure: { code: "underpaid" }, credit: { amountMsat: 300_000n } });
    expect(sink.events).toMatchObject([{ type: "credit", amountMsat: "300000", reason: { code: "underpaid" } }]);
  });
});

describe("faults of a part every slot shares", () => {
  const snacks: Product[] = [
    { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "msat", amountMsat: "250000" }, stock: 5, capacity: 10, enabled: true },
    { slot: "A2", name: "Nuts", kind: "spiral", price: { unit: "msat", amountMsat: "300000" }, stock: 5, capacity: 10, enabled: true },
  ];

  it("a stuck drop beam stops every slot (503 hardware_unavailable) until the technician clears it", async () => {
    const { ctl, ln, hw, sink } = setup({ catalog: snacks });
    await ctl.start();
    const faults: string[] = [];
    ctl.on("fault", (f) => faults.push(f.code));
    hw.nextFailure = { code: "DROP_SENSOR_STUCK", message: "the drop beam reads broken before the spiral turned" };
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "DROP_SENSOR_STUCK" } });
    expect(faults).toEqual(["DROP_SENSOR_STUCK"]);
    expect(ctl.faults()).toMatchObject([{ code: "DROP_SENSOR_STUCK" }]);
    expect(sink.events.filter((e) => e.type === "fault")).toMatchObject([{ fault: { code: "DROP_SENSOR_STUCK" }, active: true, severity: "critical" }]);

    // The next buyer, of the other slot: no invoice, nothing reserved, nothing at the node.
    const invoicesBefore = ln.invoices.size;
    expect(ctl.sellBlocker()).toMatchObject({ code: "hardware_unavailable" });
    await expect(ctl.createOrder("A2")).rejects.toMatchObject({ code: "hardware_unavailable", httpStatus: 503 });
    await expect(ctl.createOrder("A1")).rejects.toMatchObject({ code: "hardware_unavailable" });
    expect(ln.invoices.size).toBe(invoicesBefore);
    expect(ctl.available("A2")).toBe(5);

    ctl.clearFaults();
    expect(ctl.faults()).toEqual([]);
    expect(sink.events.at(-1)).toMatchObject({ type: "fault", fault: { code: "DROP_SENSOR_STUCK" }, active: false });
    expect(ctl.sellBlocker()).toBeNull();
    await expect(ctl.createOrder("A2")).resolves.toMatchObject({ state: "pending" });
  });

  it("a technician's test vend that works clears the drop beam fault; a jam stays slot-local", async () => {
    const { ctl, ln, hw } = setup({ catalog: snacks });
    await ctl.start();
    hw.nextFailure = { code: "DROP_SENSOR_STUCK", message: "stuck" };
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(ctl.sellBlocker()).toMatchObject({ code: "hardware_unavailable" });
    await expect(ctl.testVend("A2")).resolves.toMatchObject({ ok: true });
    expect(ctl.sellBlocker()).toBeNull();

    hw.nextFailure = { code: "SPIRAL_JAM", message: "jammed" };
    const jammed = await ctl.createOrder("A1");
    await ln.pay(jammed.paymentHash);
    await flush();
    expect(ctl.sellBlocker()).toBeNull();
    expect(ctl.faults()).toEqual([]);
    await expect(ctl.createOrder("A1")).rejects.toMatchObject({ code: "slot_disabled" });
    await expect(ctl.createOrder("A2")).resolves.toMatchObject({ state: "pending" });
  });

  it("a dead flow meter stops every pour slot when they share the station, and only its slot when there is one", async () => {
    const two: Product[] = [
      { slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 250, price: { unit: "msat", amountMsat: "500000" }, stock: 40, capacity: 40, enabled: true },
      { slot: "P2", name: "Water", kind: "pour", volumeMl: 250, price: { unit: "msat", amountMsat: "300000" }, stock: 40, capacity: 40, enabled: true },
    ];
    const shared = setup({ catalog: two });
    await shared.ctl.start();
    shared.hw.nextFailure = { code: "FLOW_SENSOR_DEAD", message: "no pulse" };
    const o = await shared.ctl.createOrder("P1");
    await shared.ln.pay(o.paymentHash);
    await flush();
    await expect(shared.ctl.createOrder("P2")).rejects.toMatchObject({ code: "hardware_unavailable" });

    const single = setup();
    await single.ctl.start();
    single.hw.nextFailure = { code: "FLOW_SENSOR_DEAD", message: "no pulse" };
    const p = await single.ctl.createOrder("P1");
    await single.ln.pay(p.paymentHash);
    await flush();
    expect(single.ctl.sellBlocker()).toBeNull();
    await expect(single.ctl.createOrder("P1")).rejects.toMatchObject({ code: "slot_disabled" });
  });
});

describe("faults that survive a restart", () => {
  const snacks: Product[] = [
    { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "msat", amountMsat: "250000" }, stock: 5, capacity: 10, enabled: true },
    { slot: "A2", name: "Nuts", kind: "spiral", price: { unit: "msat", amountMsat: "300000" }, stock: 5, capacity: 10, enabled: true },
  ];
  const journalPath = () => path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-faults-")), "journal.db");

  async function failOnce(sys: ReturnType<typeof setup>, slot: string, code: string) {
    sys.hw.nextFailure = { code, message: `${code} in a test` };
    const order = await sys.ctl.createOrder(slot);
    await sys.ln.pay(order.paymentHash);
    await flush();
    expect(sys.ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code } });
  }

  /** A started snack machine on a journal file of its own, to restart from. */
  async function firstRun() {
    const dbPath = journalPath();
    const first = setup({ dbPath, catalog: snacks });
    await first.ctl.start();
    return { dbPath, first };
  }

  async function restart(sys: ReturnType<typeof setup>, dbPath: string, catalog = snacks) {
    await sys.ctl.stop();
    sys.db.close();
    const next = setup({ dbPath, catalog });
    await next.ctl.start();
    return next;
  }

  it("a jammed slot stays out of sale after a power cut until it is restocked, and tells the fleet nothing new", async () => {
    const { dbPath, first } = await firstRun();
    await failOnce(first, "A1", "SPIRAL_JAM");
    const second = await restart(first, dbPath);
    expect(second.ctl.catalog().find((c) => c.slot === "A1")).toMatchObject({ enabled: false });
    expect(second.ctl.slotFault("A1")).toMatchObject({ code: "SPIRAL_JAM" });
    const invoicesBefore = second.ln.invoices.size;
    await expect(second.ctl.createOrder("A1")).rejects.toMatchObject({ code: "slot_disabled" });
    expect(second.ln.invoices.size).toBe(invoicesBefore);
    await expect(second.ctl.createOrder("A2")).resolves.toMatchObject({ state: "pending" });
    expect(second.sink.types()).toEqual([]); // the fault is still the one the fleet was told about before

    second.ctl.restock("A1", 8);
    expect(second.sink.events.at(-1)).toMatchObject({ type: "fault", fault: { code: "SPIRAL_JAM" }, active: false });
    const third = await restart(second, dbPath);
    expect(third.ctl.slotFault("A1")).toBeUndefined();
    await expect(third.ctl.createOrder("A1")).resolves.toMatchObject({ state: "pending" });
  });

  it("a stuck drop beam keeps the whole machine out of sale after a restart, until the technician clears it", async () => {
    const { dbPath, first } = await firstRun();
    await failOnce(first, "A1", "DROP_SENSOR_STUCK");
    const second = await restart(first, dbPath);
    expect(second.ctl.faults()).toMatchObject([{ code: "DROP_SENSOR_STUCK" }]);
    expect(second.ctl.sellBlocker()).toMatchObject({ code: "hardware_unavailable" });
    await expect(second.ctl.createOrder("A2")).rejects.toMatchObject({ code: "hardware_unavailable" });
    second.ctl.clearFaults();
    expect(second.sink.events.at(-1)).toMatchObject({ type: "fault", fault: { code: "DROP_SENSOR_STUCK" }, active: false });
    const third = await restart(second, dbPath);
    expect(third.ctl.faults()).toEqual([]);
    expect(third.ctl.sellBlocker()).toBeNull();
  });

  it("a test vend that works clears the latched faults on disk too", async () => {
    const { dbPath, first } = await firstRun();
    await failOnce(first, "A1", "DROP_SENSOR_STUCK");
    await expect(first.ctl.testVend("A1")).resolves.toMatchObject({ ok: true });
    expect(first.ctl.sellBlocker()).toBeNull();
    const second = await restart(first, dbPath);
    expect(second.ctl.faults()).toEqual([]);
    expect(second.ctl.slotFault("A1")).toBeUndefined();
    await expect(second.ctl.createOrder("A1")).resolves.toMatchObject({ state: "pending" });
  });

  it("tells the fleet once about a fault the hardware found while idle, and about its end, also across a restart", async () => {
    const { dbPath, first } = await firstRun();
    const stuck = { code: "DROP_SENSOR_STUCK", message: "the drop beam reads broken with nothing vending" };
    first.hw.faults = [stuck];
    first.ctl.hardwareFault(stuck, true);
    first.ctl.hardwareFault(stuck, true); // raised again (e.g. after clearFaults with the beam still broken): told once
    expect(first.sink.events).toMatchObject([{ type: "fault", fault: { code: "DROP_SENSOR_STUCK" }, active: true, severity: "critical" }]);
    await expect(first.ctl.createOrder("A1")).rejects.toMatchObject({ code: "hardware_unavailable" });

    // Restart with the beam still broken: the hal raises it again within its debounce; nothing new for the fleet.
    const clock = new ManualClock();
    await first.ctl.stop();
    first.db.close();
    const hw = new FakeHardware();
    hw.faults = [stuck];
    const second = setup({ dbPath, catalog: snacks, clock, hw });
    await second.ctl.start();
    second.ctl.hardwareFault(stuck, true);
    await clock.advance(15_000);
    expect(second.sink.events).toEqual([]);

    // The beam reads clear: the end is told once.
    hw.faults = [];
    second.ctl.hardwareFault(stuck, false);
    second.ctl.hardwareFault(stuck, false);
    expect(second.sink.events).toMatchObject([{ type: "fault", fault: { code: "DROP_SENSOR_STUCK" }, active: false }]);
  });

  it("tells the fleet a hardware fault ended while the machine was down, once the hardware did not raise it again", async () => {
    const { dbPath, first } = await firstRun();
    const gone = { code: "BOARD_DISCONNECTED", message: "the board went away" };
    first.ctl.hardwareFault(gone, true);
    await first.ctl.stop();
    first.db.close();
    const clock = new ManualClock();
    const second = setup({ dbPath, catalog: snacks, clock });
    await second.ctl.start();
    await clock.advance(5_000);
    expect(second.sink.events).toEqual([]);
    await clock.advance(6_000);
    expect(second.sink.events).toMatchObject([{ type: "fault", fault: { code: "BOARD_DISCONNECTED" }, active: false }]);
  });

  it("leaves a fault a vend runs into to the failed vend's own report (not told twice)", async () => {
    const { ctl, ln, hw, sink } = setup({ catalog: snacks });
    await ctl.start();
    let release!: () => void;
    hw.gate = new Promise<void>((r) => (release = r));
    hw.nextFailure = { code: "DROP_SENSOR_STUCK", message: "the drop beam reads broken before the spiral turned" };
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    ctl.hardwareFault({ code: "DROP_SENSOR_STUCK", message: "the drop beam reads broken before the spiral turned" }, true); // the hal, mid-vend
    release();
    await flush();
    expect(sink.events.filter((e) => e.type === "fault")).toHaveLength(1);
    expect(sink.types()).toEqual(["vend-failed", "fault", "refund"]);
  });

  it("a vend failure that stops nothing (no cup) is told as the failed vend only, though the hal reported it as a fault too", async () => {
    const { ctl, ln, hw, sink } = setup({ catalog: snacks });
    await ctl.start();
    let release!: () => void;
    hw.gate = new Promise<void>((r) => (release = r));
    const noCup = { code: "CUP_MISSING", message: "no cup under the spout" };
    hw.nextFailure = noCup;
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    ctl.hardwareFault(noCup, true); // the hal raises the vend's own failure before the vend rejects
    release();
    await flush();
    expect(sink.types()).toEqual(["vend-failed", "refund"]);
  });

  it("tells the fleet a fault the hardware raised during a vend that the vend did not report (the board gone), once the vend is over", async () => {
    const { ctl, ln, hw, sink } = setup({ catalog: snacks });
    await ctl.start();
    let release!: () => void;
    hw.gate = new Promise<void>((r) => (release = r));
    const gone = { code: "BOARD_DISCONNECTED", message: "the board went away" };
    // As the hal does: the board's loss aborts the running actuation, so the vend fails with another code.
    hw.nextFailure = { code: "ABORTED", message: "the vend was aborted" };
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    hw.faults = [gone];
    ctl.hardwareFault(gone, true); // the hal, mid-vend
    expect(sink.events.filter((e) => e.type === "fault")).toHaveLength(0);
    release();
    await flush();
    expect(sink.types()).toEqual(["vend-failed", "refund", "fault"]);
    expect(sink.events.at(-1)).toMatchObject({ type: "fault", fault: { code: "BOARD_DISCONNECTED" }, active: true });
    // The board comes back: its end is told too.
    hw.faults = [];
    ctl.hardwareFault(gone, false);
    expect(sink.events.at(-1)).toMatchObject({ type: "fault", fault: { code: "BOARD_DISCONNECTED" }, active: false });
  });

  it("drops a latched fault that no longer applies: its slot left the catalog", async () => {
    const { dbPath, first } = await firstRun();
    await failOnce(first, "A2", "SPIRAL_JAM");
    const onlyA1 = await restart(first, dbPath, [snacks[0]!]);
    expect(onlyA1.ctl.catalog()).toMatchObject([{ slot: "A1", enabled: true }]);
    const back = await restart(onlyA1, dbPath);
    expect(back.ctl.slotFault("A2")).toBeUndefined();
  });
});

describe("pour stations", () => {
  const drinks: Product[] = [
    { slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 250, price: { unit: "msat", amountMsat: "500000" }, stock: 40, capacity: 40, enabled: true },
    { slot: "P2", name: "Water", kind: "pour", volumeMl: 330, price: { unit: "msat", amountMsat: "300000" }, stock: 40, capacity: 40, enabled: true },
  ];

  it("pours each slot from its own station, paid vends and test vends alike", async () => {
    const { ctl, ln, hw } = setup({ catalog: drinks, pourStation: (slot) => slot });
    await ctl.start();
    const order = await ctl.createOrder("P2");
    await ln.pay(order.paymentHash);
    await flush();
    await expect(ctl.testVend("P1")).resolves.toMatchObject({ ok: true });
    expect(hw.vends).toEqual(["pour:330@P2", "pour:250@P1"]);
  });

  it("a dry pump or a dead meter of a station of its own stops only its slot", async () => {
    for (const code of ["PUMP_DRY_RUN", "FLOW_SENSOR_DEAD"]) {
      const { ctl, ln, hw } = setup({ catalog: drinks, pourStation: (slot) => slot });
      await ctl.start();
      hw.nextFailure = { code, message: code };
      const order = await ctl.createOrder("P1");
      await ln.pay(order.paymentHash);
      await flush();
      expect(ctl.sellBlocker()).toBeNull();
      await expect(ctl.createOrder("P1")).rejects.toMatchObject({ code: "slot_disabled" });
      await expect(ctl.createOrder("P2")).resolves.toMatchObject({ state: "pending" });
    }
  });

  it("a dry pump of a station two slots share stops both (the machine) until a pour test vend works", async () => {
    const { ctl, ln, hw } = setup({ catalog: drinks, pourStation: () => "P1" });
    await ctl.start();
    hw.nextFailure = { code: "PUMP_DRY_RUN", message: "no flow: the tank is empty" };
    const order = await ctl.createOrder("P1");
    await ln.pay(order.paymentHash);
    await flush();
    await expect(ctl.createOrder("P2")).rejects.toMatchObject({ code: "hardware_unavailable" });
    await expect(ctl.testVend("P2")).resolves.toMatchObject({ ok: true });
    expect(ctl.sellBlocker()).toBeNull();
    await expect(ctl.createOrder("P2")).resolves.toMatchObject({ state: "pending" });
  });

  it("a pour on a station of its own does not prove a shared station's pump works again", async () => {
    const three: Product[] = [
      ...drinks,
      { slot: "P3", name: "Juice", kind: "pour", volumeMl: 200, price: { unit: "msat", amountMsat: "400000" }, stock: 40, capacity: 40, enabled: true },
    ];
    const { ctl, ln, hw } = setup({ catalog: three, pourStation: (slot) => (slot === "P3" ? "P3" : "P1") });
    await ctl.start();
    hw.nextFailure = { code: "PUMP_DRY_RUN", message: "no flow: the tank is empty" };
    const order = await ctl.createOrder("P1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(ctl.sellBlocker()).toMatchObject({ code: "hardware_unavailable" });
    await expect(ctl.testVend("P3")).resolves.toMatchObject({ ok: true });
    expect(ctl.sellBlocker()).toMatchObject({ code: "hardware_unavailable" });
    await expect(ctl.testVend("P2")).resolves.toMatchObject({ ok: true });
    expect(ctl.sellBlocker()).toBeNull();
  });
});

describe("fleet events the outbox could refuse", () => {
  it("cleans what comes from outside (codes and messages of the hardware) so every event is accepted", async () => {
    const { ctl, ln, hw, sink } = setup();
    await ctl.start();
    hw.nextFailure = {
      code: "hal:weird code!".repeat(10),
      message: `line one\nline two\u0007 ${"x".repeat(600)}`,
      evidence: { kind: "pour", targetMl: 250, pouredMl: -3, pulses: 1.5, runMs: 3000 },
    };
    const order = await ctl.createOrder("P1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(ctl.getOrder(order.orderId)?.state).toBe("refunded");
    expect(sink.refused).toEqual([]);
    expect(sink.types()).toEqual(["vend-failed", "refund"]);
    const failed = sink.events[0] as { reason: { code: string; message: string }; evidence: { pouredMl: number; pulses: number } };
    expect(failed.reason.code).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
    // eslint-disable-next-line no-control-regex -- no control character may reach the fleet
    expect(failed.reason.message).not.toMatch(/[\u0000-\u001f]/);
    expect(failed.reason.message.length).toBeLessThanOrEqual(500);
    expect(failed.evidence).toMatchObject({ pouredMl: 0, pulses: 2 });
  });

  it("keeps the transition when the outbox refuses an event anyway: the order completes, a coded fault is raised", async () => {
    const { ctl, ln, sink } = setup({ refusals: true });
    await ctl.start();
    const faults: string[] = [];
    ctl.on("fault", (f) => faults.push(f.code));
    sink.refuse = (body) => body.type === "sale";
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    // Without the fix the refused sale rolled the transition back: the product was out, the money settled, and the
    // order stayed `dispensing` until a restart.
    expect(ctl.getOrder(order.orderId)?.state).toBe("completed");
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("settled");
    expect(ctl.journal.stock("A1")).toBe(1);
    expect(sink.refused.map((r) => (r.body as { type: string }).type)).toEqual(["sale"]);
    expect(sink.events).toMatchObject([{ type: "fault", fault: { code: "EVENT_REFUSED" }, active: true }]);
    expect(faults).toEqual(["EVENT_REFUSED"]);
    expect(ctl.faults()).toMatchObject([{ code: "EVENT_REFUSED" }]);
    // A notice, not a stop: the machine still sells.
    expect(ctl.sellBlocker()).toBeNull();
    await expect(ctl.createOrder("A1")).resolves.toMatchObject({ state: "pending" });
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

describe("mode and the current order", () => {
  it("keeps maintenance across a restart and issues no invoice in it", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-")), "journal.db");
    const first = setup({ dbPath });
    await first.ctl.start();
    first.ctl.setMode("maintenance", { desiredVersion: 3 });
    await expect(first.ctl.createOrder("A1")).rejects.toMatchObject({ code: "out_of_service" });
    await first.ctl.stop();
    first.db.close();
    const second = setup({ dbPath });
    await second.ctl.start();
    expect(second.ctl.getMode()).toBe("maintenance");
    expect(second.ctl.modeDesiredVersion()).toBe(3);
    second.ctl.setMode("normal");
    expect(second.ctl.modeDesiredVersion()).toBe(3);
    await expect(second.ctl.createOrder("A1")).resolves.toMatchObject({ state: "pending" });
  });

  it("shows the order being vended, then the finished one for 15 s", async () => {
    const { ctl, ln, hw, clock } = setup();
    await ctl.start();
    expect(ctl.currentOrder()).toBeUndefined();
    const pending = await ctl.createOrder("A1");
    expect(ctl.currentOrder()).toBeUndefined(); // an invoice on screen is not a vend
    let release!: () => void;
    hw.gate = new Promise<void>((r) => (release = r));
    await ln.pay(pending.paymentHash);
    await flush();
    expect(ctl.currentOrder()).toMatchObject({ orderId: pending.orderId, state: "dispensing" });
    hw.gate = undefined;
    release();
    await flush();
    expect(ctl.currentOrder()).toMatchObject({ orderId: pending.orderId, state: "completed" });
    await clock.advance(14_000);
    expect(ctl.currentOrder()?.orderId).toBe(pending.orderId);
    await clock.advance(2_000);
    expect(ctl.currentOrder()).toBeUndefined();
  });
});

/** A plain-invoice machine where a failed vend of P1 (500 000 msat) or A1 (250 000 msat) granted a credit. */
async function withCredit(slot: "A1" | "P1", opts: { hold?: boolean; dbPath?: string } = {}) {
  const env = setup({ hold: false, ...(opts.dbPath ? { dbPath: opts.dbPath } : {}) });
  await env.ctl.start();
  env.hw.nextFailure = { code: "DROP_NOT_SEEN", message: "no drop" };
  const failed = await env.ctl.createOrder(slot);
  await env.ln.pay(failed.paymentHash);
  await flush();
  const creditId = env.ctl.getOrder(failed.orderId)!.credit!.creditId;
  env.ctl.restock("A1", 5); // clears the fault the failed vend raised
  env.ctl.restock("P1", 40);
  env.sink.events.length = 0;
  return { ...env, creditId, fundingHash: failed.paymentHash };
}

describe("spending a credit", () => {
  it("pays a product from the credit alone: no invoice, the rest stays on the same credit", async () => {
    const { ctl, ln, hw, sink, creditId, fundingHash } = await withCredit("P1");
    const invoices = ln.invoices.size;
    const order = await ctl.createOrder("A1", { creditId });
    expect(order).toMatchObject({ state: "held", amountMsat: 0n, creditUsed: { creditId, appliedMsat: 250_000n } });
    expect(ctl.toView(order)).toMatchObject({ bolt11: null, paymentHash: null, amountMsat: "0", creditAppliedMsat: "250000" });
    await flush();
    expect(ln.invoices.size).toBe(invoices);
    expect(hw.vends.at(-1)).toBe("spiral:A1");
    const done = ctl.getOrder(order.orderId)!;
    expect(done.state).toBe("completed");
    expect(ctl.toView(done).credit).toEqual({ creditId, amountMsat: "250000" });
    expect(ctl.journal.getCredit(creditId)).toMatchObject({ balanceMsat: 250_000n, reservedBy: null, spentBy: null });
    expect(sink.events.filter((e) => e.type === "sale")).toEqual([
      expect.objectContaining({ orderId: order.orderId, amountMsat: "0", paidByCreditMsat: "250000", creditId, paymentHash: fundingHash }),
    ]);

    const second = await ctl.createOrder("A1", { creditId });
    await flush();
    expect(ctl.getOrder(second.orderId)?.state).toBe("completed");
    expect(ctl.journal.getCredit(creditId)).toMatchObject({ balanceMsat: 0n, spentBy: second.orderId });
    await expect(ctl.createOrder("A1", { creditId })).rejects.toMatchObject({ code: "credit_spent", httpStatus: 409 });
    await expect(ctl.createOrder("A1", { creditId: "cr_nosuchcredit0000" })).rejects.toMatchObject({ code: "credit_not_found", httpStatus: 404 });
  });

  it("invoices the difference, reserves the credit while the invoice is open, and releases it on expiry", async () => {
    const { ctl, ln, clock, sink, creditId } = await withCredit("A1");
    const order = await ctl.createOrder("P1", { creditId });
    expect(order).toMatchObject({ state: "pending", amountMsat: 250_000n, creditUsed: { appliedMsat: 250_000n } });
    expect(ln.invoices.get(order.paymentHash)?.amountMsat).toBe(250_000n);
    expect(ctl.toView(order)).toMatchObject({ amountMsat: "250000", creditAppliedMsat: "250000" });
    await expect(ctl.createOrder("A1", { creditId })).rejects.toMatchObject({ code: "credit_in_use", httpStatus: 409 });
    await clock.advance(181_000);
    expect(ctl.getOrder(order.orderId)?.state).toBe("expired");
    expect(ctl.journal.getCredit(creditId)).toMatchObject({ balanceMsat: 250_000n, reservedBy: null });

    const again = await ctl.createOrder("P1", { creditId });
    await ln.pay(again.paymentHash);
    await flush();
    expect(ctl.getOrder(again.orderId)?.state).toBe("completed");
    expect(ctl.journal.getCredit(creditId)).toMatchObject({ balanceMsat: 0n, spentBy: again.orderId });
    expect(sink.events.filter((e) => e.type === "sale")).toEqual([
      expect.objectContaining({ amountMsat: "250000", paidByCreditMsat: "250000", paymentHash: again.paymentHash }),
    ]);
  });

  it("gives the credit back, topped up with the Lightning part, when the vend fails", async () => {
    const { ctl, ln, hw, sink, creditId } = await withCredit("A1");
    hw.nextFailure = { code: "PUMP_DRY_RUN", message: "no flow" };
    const order = await ctl.createOrder("P1", { creditId });
    await ln.pay(order.paymentHash);
    await flush();
    const after = ctl.getOrder(order.orderId)!;
    expect(after.state).toBe("credited");
    expect(ctl.toView(after).credit).toEqual({ creditId, amountMsat: "500000" });
    expect(ctl.journal.getCredit(creditId)).toMatchObject({ balanceMsat: 500_000n, reservedBy: null, spentBy: null });
    expect(sink.events.filter((e) => e.type === "credit")).toEqual([expect.objectContaining({ creditId, amountMsat: "250000" })]);
    // The whole credit buys the product now.
    ctl.restock("P1", 40);
    const retry = await ctl.createOrder("P1", { creditId });
    expect(retry.amountMsat).toBe(0n);
    await flush();
    expect(ctl.getOrder(retry.orderId)?.state).toBe("completed");
  });

  it("restores a credit-only order's credit when its vend fails, without a new credit event", async () => {
    const { ctl, hw, sink, creditId } = await withCredit("P1");
    hw.nextFailure = { code: "SPIRAL_JAM", message: "stuck" };
    const order = await ctl.createOrder("A1", { creditId });
    await flush();
    expect(ctl.toView(ctl.getOrder(order.orderId)!)).toMatchObject({ state: "credited", credit: { creditId, amountMsat: "500000" } });
    expect(ctl.journal.getCredit(creditId)).toMatchObject({ balanceMsat: 500_000n, reservedBy: null });
    expect(sink.types()).toEqual(["vend-failed", "fault"]);
  });

  it("refunds the held difference and keeps the credit on a hold backend", async () => {
    const { ctl, ln, hw, sink } = setup({ hold: true });
    await ctl.start();
    // A credit granted while this machine ran a plain-invoice backend.
    ctl.journal.insertCredit("cr_fromplainbackend0", "ord_old", 100_000n, 1);
    hw.nextFailure = { code: "SPIRAL_JAM", message: "stuck" };
    const order = await ctl.createOrder("A1", { creditId: "cr_fromplainbackend0" });
    expect(order).toMatchObject({ hold: true, amountMsat: 150_000n });
    await ln.pay(order.paymentHash);
    await flush();
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(ctl.toView(ctl.getOrder(order.orderId)!)).toMatchObject({ state: "refunded", credit: { creditId: "cr_fromplainbackend0", amountMsat: "100000" } });
    expect(ctl.journal.getCredit("cr_fromplainbackend0")).toMatchObject({ balanceMsat: 100_000n, reservedBy: null });
    expect(sink.events.find((e) => e.type === "refund")).toMatchObject({ amountMsat: "150000" });
  });

  it("recovers a credit-only vend cut by a power loss: the credit is given back, never spent twice", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-")), "journal.db");
    const first = await withCredit("P1", { dbPath });
    first.hw.gate = new Promise(() => undefined);
    const order = await first.ctl.createOrder("A1", { creditId: first.creditId });
    await flush();
    expect(first.ctl.getOrder(order.orderId)?.state).toBe("dispensing");
    first.db.close();
    const second = setup({ hold: false, dbPath });
    await second.ctl.start();
    await flush();
    expect(second.hw.vends).toEqual([]);
    expect(second.ctl.getOrder(order.orderId)?.state).toBe("credited");
    expect(second.ctl.journal.getCredit(first.creditId)).toMatchObject({ balanceMsat: 500_000n, reservedBy: null, spentBy: null });
  });

  it("recovers a credit-only vend whose evidence was on disk: debits the credit once", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-")), "journal.db");
    const first = await withCredit("P1", { dbPath });
    const order = await first.ctl.createOrder("A1", { creditId: first.creditId });
    // The crash hits after the evidence was recorded but before the completion: rewrite the journal to that point.
    await flush();
    first.db
      .prepare("UPDATE orders SET state = 'dispensing' WHERE order_id = ?")
      .run(order.orderId);
    first.db.prepare("UPDATE credits SET balance_msat = '500000', reserved_by = ?, spent_by = NULL WHERE credit_id = ?").run(order.orderId, first.creditId);
    first.db.close();
    const second = setup({ hold: false, dbPath });
    await second.ctl.start();
    await flush();
    expect(second.hw.vends).toEqual([]);
    expect(second.ctl.getOrder(order.orderId)?.state).toBe("completed");
    expect(second.ctl.journal.getCredit(first.creditId)).toMatchObject({ balanceMsat: 250_000n, reservedBy: null });
    expect(second.sink.types()).toEqual(["sale"]);
  });
});

describe("settlement and cancellation that fail", () => {
  it("records a lost settlement once the node canceled the hold, with a fault for the operator", async () => {
    const { ctl, ln, sink, clock } = setup();
    await ctl.start();
    ln.settleFails = 1;
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(ctl.getOrder(order.orderId)?.state).toBe("dispensing");
    ln.invoices.get(order.paymentHash)!.state = "canceled"; // the HTLC timed out during the outage
    await clock.advance(5_000);
    const after = ctl.getOrder(order.orderId)!;
    expect(after).toMatchObject({ state: "completed", settlement: "lost" });
    expect(ctl.toView(after)).toMatchObject({ settlement: "lost", evidence: { dropSeen: true } });
    expect(sink.types()).toEqual(["fault"]);
    expect(sink.events[0]).toMatchObject({ fault: { code: "SETTLE_FAILED_HTLC_EXPIRED" }, active: true, severity: "critical" });
    const settles = ln.calls.filter((c) => c === "settle").length;
    await clock.advance(600_000);
    expect(ln.calls.filter((c) => c === "settle")).toHaveLength(settles); // never retried again
  });

  it("takes a settle whose answer was lost as settled", async () => {
    const { ctl, ln, sink } = setup();
    await ctl.start();
    const order = await ctl.createOrder("A1");
    const realSettle = ln.settle.bind(ln);
    ln.settle = async (preimage: string) => {
      await realSettle(preimage);
      throw new Error("connection reset after the node settled");
    };
    await ln.pay(order.paymentHash);
    await flush();
    expect(ctl.getOrder(order.orderId)?.state).toBe("completed");
    expect(sink.types()).toEqual(["sale"]);
  });

  it("backs off settle retries up to 5 minutes", async () => {
    const { retryDelayMs } = await import("./controller.js");
    expect([0, 1, 2, 3, 6, 7, 50].map(retryDelayMs)).toEqual([5_000, 10_000, 20_000, 40_000, 300_000, 300_000, 300_000]);
  });

  it("retries the cancel of an expired hold until the node confirms it, also after a restart", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-ctl-")), "journal.db");
    const ln = new FakeLightning(true);
    const clock = new ManualClock();
    const first = setup({ dbPath, ln, clock });
    await first.ctl.start();
    const order = await first.ctl.createOrder("A1");
    ln.cancelFails = 1_000; // the node is down
    await clock.advance(181_000);
    expect(first.ctl.getOrder(order.orderId)).toMatchObject({ state: "expired", cancelPending: true });
    const tries = ln.calls.filter((c) => c === "cancel").length;
    await clock.advance(5_000);
    expect(ln.calls.filter((c) => c === "cancel").length).toBe(tries + 1);
    first.db.close(); // power cut while the node is still down
    ln.cancelFails = 0;
    const second = setup({ dbPath, ln, clock });
    await second.ctl.start();
    await flush();
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(second.ctl.getOrder(order.orderId)).toMatchObject({ state: "expired", cancelPending: false });
  });

  it("keeps a failed vend's order open until the hold cancel is confirmed", async () => {
    const { ctl, ln, hw, clock, sink } = setup();
    await ctl.start();
    hw.nextFailure = { code: "SPIRAL_JAM", message: "stuck" };
    ln.cancelFails = 2;
    const order = await ctl.createOrder("A1");
    await ln.pay(order.paymentHash);
    await flush();
    expect(ctl.getOrder(order.orderId)?.state).toBe("dispensing");
    await clock.advance(5_000);
    expect(ctl.getOrder(order.orderId)?.state).toBe("dispensing");
    await clock.advance(10_000);
    expect(ctl.getOrder(order.orderId)?.state).toBe("refunded");
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(sink.types()).toEqual(["vend-failed", "fault", "refund"]);
    expect(hw.vends).toHaveLength(1);
  });
});
