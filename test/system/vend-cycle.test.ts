// System tests of the vend cycle on both machine kinds (issue #6): a buyer orders through the HTTP API, pays from
// the sim node's wallet, and the test checks what every party would see afterwards: the order's final state, the
// stock (API and journal), the journal's transitions, the node's invoice and the buyer's balance, and the events the
// fleet received over MQTT. Hardware faults are the sim board's, set in the machine's config as a technician's
// harness sets them (`board.simFaults`).
import { afterEach, describe, expect, it } from "vitest";
import { MachineKind, postJson, until, VendSystem } from "./support/system.js";

const systems: VendSystem[] = [];
async function system(...args: Parameters<typeof VendSystem.start>): Promise<VendSystem> {
  const s = await VendSystem.start(...args);
  systems.push(s);
  return s;
}
afterEach(async () => {
  for (const s of systems.splice(0)) await s.stop();
});

const kinds = [MachineKind.DRINKS, MachineKind.SNACKS];

describe.each(kinds)("%s machine: a sale", (kind) => {
  it("vends, settles the hold invoice, takes one unit of stock and reports the sale", async () => {
    const sys = await system(kind);
    const stockBefore = sys.journalStock();
    expect((await sys.catalogEntry()).stock).toBe(stockBefore);
    const balanceBefore = sys.balanceMsat;

    const created = await sys.createOrder();
    expect(created.status).toBe(201);
    const orderId = created.body.orderId as string;
    const paymentHash = created.body.paymentHash as string;
    expect(created.body).toMatchObject({ state: "pending", amountMsat: sys.priceMsat.toString() });
    // The unit is reserved while the invoice is open.
    expect((await sys.catalogEntry()).stock).toBe(stockBefore - 1);
    expect(sys.invoice(paymentHash)).toMatchObject({ state: "OPEN", hold: true, valueMsat: sys.priceMsat });

    const paid = await sys.pay(created.body.bolt11 as string);
    expect(paid.status).toBe(200); // the wallet's call ends when the machine settled, after the product came out

    const order = await sys.waitForState(orderId, "completed");
    expect(order.failure).toBeNull();
    if (kind === "drinks") {
      expect(order.evidence).toMatchObject({ kind: "pour", targetMl: 40 });
      expect((order.evidence as { pouredMl: number }).pouredMl).toBeGreaterThanOrEqual(39);
    } else {
      expect(order.evidence).toMatchObject({ kind: "spiral", dropSeen: true, homed: true });
    }

    expect(sys.statePath(orderId)).toEqual(["pending", "held", "dispensing", "completed"]);
    expect(sys.transitions(orderId).some((t) => t.to === "dispensing" && t.note === "vend evidence recorded")).toBe(true);
    expect(sys.journalOrder(orderId)).toMatchObject({ state: "completed", evidence: order.evidence });
    expect(sys.journalStock()).toBe(stockBefore - 1);
    expect((await sys.catalogEntry()).stock).toBe(stockBefore - 1);

    const inv = sys.invoice(paymentHash);
    expect(inv.state).toBe("SETTLED");
    expect(inv.amtPaidMsat).toBe(sys.priceMsat);
    expect(sys.balanceMsat).toBe(balanceBefore - sys.priceMsat);

    await until("the sale event", () => (sys.eventsOf("sale", orderId).length > 0 ? true : undefined), 10_000);
    expect(sys.eventsOf("sale", orderId)).toHaveLength(1);
    expect(sys.eventsOf("sale", orderId)[0]).toMatchObject({ amountMsat: sys.priceMsat.toString(), paymentHash, slot: sys.slot, hold: true });
    expect(sys.eventsOf("refund")).toHaveLength(0);
    // Every event the machine sent is unique and in order (the fleet detects gaps by seq).
    const seqs = sys.events.map((e) => e.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(sys.events.map((e) => e.id)).size).toBe(sys.events.length);
    expect(sys.fleetStatus).toBe("online");
  });
});

/** Each fault of the sim board that stops a vend of this kind, and the code the hal reports for it. */
const vendFaults = [
  { kind: MachineKind.DRINKS, fault: "pump-dry", code: "PUMP_DRY_RUN" },
  { kind: MachineKind.DRINKS, fault: "flow-sensor-dead", code: "FLOW_SENSOR_DEAD" },
  { kind: MachineKind.SNACKS, fault: "spiral-jam", code: "SPIRAL_JAM" },
] as const;

describe.each(vendFaults)("$kind machine with $fault", ({ kind, fault, code }) => {
  it(`refunds the buyer (${code}): invoice cancelled, balance restored, stock kept, slot out of sale`, async () => {
    const sys = await system(kind, { simFaults: [fault] });
    const stockBefore = sys.journalStock();
    const balanceBefore = sys.balanceMsat;

    const created = await sys.createOrder();
    expect(created.status).toBe(201);
    const orderId = created.body.orderId as string;
    const paymentHash = created.body.paymentHash as string;

    // The node cancels the held payment when the machine refunds: the wallet's payment fails, nothing was paid.
    const paid = await sys.pay(created.body.bolt11 as string);
    expect(paid).toMatchObject({ status: 409, body: { error: { code: "payment_failed" } } });

    const order = await sys.waitForState(orderId, "refunded");
    expect(order.failure?.code).toBe(code);
    expect(sys.statePath(orderId)).toEqual(["pending", "held", "dispensing", "refunded"]);
    expect(sys.transitions(orderId).some((t) => t.note === `vend failed: ${code}`)).toBe(true);
    expect(sys.journalOrder(orderId)).toMatchObject({ state: "refunded", failure: { code } });

    const inv = sys.invoice(paymentHash);
    expect(inv.state).toBe("CANCELED");
    expect(inv.htlcs.map((h) => h.state)).toEqual(["CANCELED"]);
    expect(sys.balanceMsat).toBe(balanceBefore);

    // Nothing came out, so nothing left the stock; the slot is out of sale until a technician clears it.
    expect(sys.journalStock()).toBe(stockBefore);
    const entry = await sys.catalogEntry();
    expect(entry).toMatchObject({ stock: stockBefore, enabled: false });
    expect(await sys.createOrder()).toMatchObject({ status: 409, body: { error: { code: "slot_disabled" } } });
    // A fault of one spiral stops that spiral only.
    if (sys.otherSlot) expect(await sys.catalogEntry(sys.otherSlot)).toMatchObject({ enabled: true, stock: 3 });
    expect(sys.creditCount()).toBe(0);

    await until("the refund event", () => (sys.eventsOf("refund", orderId).length > 0 ? true : undefined), 10_000);
    expect(sys.eventsOf("refund", orderId)[0]).toMatchObject({ paymentHash, amountMsat: sys.priceMsat.toString(), reason: { code } });
    expect(sys.eventsOf("vend-failed", orderId)).toHaveLength(1);
    expect(sys.eventsOf("vend-failed", orderId)[0]).toMatchObject({ slot: sys.slot, reason: { code } });
    expect(sys.eventsOf("fault").some((e) => (e.fault as { code: string }).code === code && e.active === true)).toBe(true);
    expect(sys.eventsOf("sale")).toHaveLength(0);
  });
});

async function health(sys: VendSystem): Promise<{ selling: boolean }> {
  return (await (await fetch(`${sys.url}/api/health`)).json()) as { selling: boolean };
}

describe("snacks machine with a stuck drop beam (one sensor under every spiral)", () => {
  it("refunds the buyer, then stops selling altogether: the next buyer of another slot gets 503, nothing charged", async () => {
    const sys = await system(MachineKind.SNACKS);
    const other = sys.otherSlot!;
    const balanceBefore = sys.balanceMsat;
    const created = await sys.createOrder();
    expect(created.status).toBe(201);
    const orderId = created.body.orderId as string;
    // The beam breaks while the buyer pays (a product stuck in the chute): the vend finds it before the motor turns.
    expect((await postJson(`${sys.url}/api/demo/sim`, { faults: ["drop-sensor-stuck"] })).status).toBe(200);
    expect(await sys.pay(created.body.bolt11 as string)).toMatchObject({ status: 409 });
    const order = await sys.waitForState(orderId, "refunded");
    expect(order.failure?.code).toBe("DROP_SENSOR_STUCK");
    expect(sys.balanceMsat).toBe(balanceBefore);

    // Out of sale, with the fault in the status.
    const health = (await (await fetch(`${sys.url}/api/health`)).json()) as { selling: boolean; hardware: string; faults: Array<{ code: string }> };
    expect(health).toMatchObject({ selling: false, hardware: "degraded" });
    expect(health.faults.map((f) => f.code)).toContain("DROP_SENSOR_STUCK");

    // The second buyer, of the other slot: no invoice, nothing reserved, nothing at the node, nothing paid.
    const invoicesBefore = sys.node.node.listInvoices().length;
    const ordersBefore = sys.journalOrderCount();
    const otherStock = sys.journalStock(other);
    expect(await sys.createOrder(other)).toMatchObject({ status: 503, body: { error: { code: "hardware_unavailable" } } });
    expect(sys.node.node.listInvoices()).toHaveLength(invoicesBefore);
    expect(sys.journalOrderCount()).toBe(ordersBefore);
    expect(sys.journalStock(other)).toBe(otherStock);
    expect((await sys.catalogEntry(other)).stock).toBe(otherStock);
    expect(sys.balanceMsat).toBe(balanceBefore);

    // The beam reading clear again is not enough: a technician clears the fault (service menu, harness, restart).
    expect((await postJson(`${sys.url}/api/demo/sim`, { faults: [] })).status).toBe(200);
    expect(await sys.createOrder(other)).toMatchObject({ status: 503, body: { error: { code: "hardware_unavailable" } } });
    await until("the fault event", () => (sys.eventsOf("fault").some((e) => (e.fault as { code: string }).code === "DROP_SENSOR_STUCK" && e.active === true) ? true : undefined), 10_000);
    expect(sys.eventsOf("sale")).toHaveLength(0);
  });

  it("found while idle: stops selling before anyone pays, tells the fleet, and sells again once the beam reads clear", async () => {
    const sys = await system(MachineKind.SNACKS, { simFaults: ["drop-sensor-stuck"] });
    const dropFaults = (active: boolean) => sys.eventsOf("fault").filter((e) => (e.fault as { code: string }).code === "DROP_SENSOR_STUCK" && e.active === active);
    // The hal's idle watch: the beam broken for 3 s with nothing vending.
    await until("the machine out of sale", async () => ((await health(sys)).selling === false ? true : undefined), 15_000);
    const invoicesBefore = sys.node.node.listInvoices().length;
    expect(await sys.createOrder()).toMatchObject({ status: 503, body: { error: { code: "hardware_unavailable" } } });
    expect(sys.node.node.listInvoices()).toHaveLength(invoicesBefore);
    expect(sys.journalOrderCount()).toBe(0);
    await until("the fault event", () => (dropFaults(true).length > 0 ? true : undefined), 10_000);
    expect(dropFaults(true)).toHaveLength(1);

    // Chute cleared: the beam reads clear, the machine sells again by itself and tells the fleet.
    expect((await postJson(`${sys.url}/api/demo/sim`, { faults: [] })).status).toBe(200);
    await until("the machine selling again", async () => ((await health(sys)).selling === true ? true : undefined), 15_000);
    await until("the fault's end", () => (dropFaults(false).length > 0 ? true : undefined), 10_000);
    expect(await sys.createOrder()).toMatchObject({ status: 201 });
  });
});

describe.each(kinds)("%s machine with its door open", (kind) => {
  it("issues no invoice: 503 out_of_service, nothing reserved, nothing at the node", async () => {
    const sys = await system(kind, { simFaults: ["door-open"], waitSelling: false });
    const health = (await (await fetch(`${sys.url}/api/health`)).json()) as { selling: boolean; door: string };
    expect(health).toMatchObject({ selling: false, door: "open" });
    const stockBefore = sys.journalStock();

    const created = await sys.createOrder();
    expect(created).toMatchObject({ status: 503, body: { error: { code: "out_of_service" } } });
    expect(sys.node.node.listInvoices()).toHaveLength(0);
    expect(sys.journalOrderCount()).toBe(0);
    expect(sys.journalStock()).toBe(stockBefore);
    expect((await sys.catalogEntry()).stock).toBe(stockBefore);
    // The fleet sees the machine in service, not selling.
    await until("the service status at the fleet", () => (sys.fleetStatus === "service" ? true : undefined), 10_000, () => `status: ${sys.fleetStatus}`);
  });
});

describe.each(kinds)("%s machine: the last item", (kind) => {
  it("is reserved for the first buyer while the invoice is open, and released when that buyer cancels", async () => {
    const sys = await system(kind, { stock: 1 });
    const balanceBefore = sys.balanceMsat;

    const first = await sys.createOrder();
    expect(first.status).toBe(201);
    expect(await sys.catalogEntry()).toMatchObject({ stock: 0, soldOut: true });
    // A second buyer at the same moment: sold out, and no invoice is made for them.
    const second = await sys.createOrder();
    expect(second).toMatchObject({ status: 409, body: { error: { code: "sold_out" } } });
    expect(sys.node.node.listInvoices()).toHaveLength(1);
    expect(sys.invoice(first.body.paymentHash as string).state).toBe("OPEN");
    expect(sys.journalStock()).toBe(1);

    // The first buyer backs out: the invoice is cancelled at the node and the unit is for sale again.
    const cancelled = await sys.cancel(first.body.orderId as string);
    expect(cancelled).toMatchObject({ status: 200, body: { state: "expired", failure: { code: "cancelled_by_buyer" } } });
    expect(sys.invoice(first.body.paymentHash as string).state).toBe("CANCELED");
    expect(sys.statePath(first.body.orderId as string)).toEqual(["pending", "expired"]);
    expect(await sys.catalogEntry()).toMatchObject({ stock: 1, soldOut: false });
    // Paying the cancelled invoice later (a phone that scanned it) takes nothing.
    expect((await sys.pay(first.body.bolt11 as string)).status).toBe(409);
    expect(sys.balanceMsat).toBe(balanceBefore);

    const retry = await sys.createOrder();
    expect(retry.status).toBe(201);
    expect((await sys.pay(retry.body.bolt11 as string)).status).toBe(200);
    await sys.waitForState(retry.body.orderId as string, "completed");
    expect(sys.journalStock()).toBe(0);
    expect(await sys.catalogEntry()).toMatchObject({ stock: 0, soldOut: true });
    expect(await sys.createOrder()).toMatchObject({ status: 409, body: { error: { code: "sold_out" } } });
    expect(sys.balanceMsat).toBe(balanceBefore - sys.priceMsat);
  });
});
