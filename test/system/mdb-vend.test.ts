// System tests of the MDB machine (issue #16): the daemon is the cashless reader of the sim VMC, which speaks the
// Qibixx ASCII API from the far end of a real socat pty through the real `serialport` path. The buyer presses a
// selection on the VMC's keypad (`POST /api/demo/vmc`), the VMC's VEND REQUEST makes the order, the wallet pays, and
// each case checks the order's state (API and journal), the node's invoice (SETTLED / CANCELED) and the lines the
// VMC exchanged (its log), plus the fleet's events where they matter.
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

/** The lines of the VMC's log, as `>` (zapvend wrote) or `<` (the interface wrote). */
async function vmcLog(sys: VendSystem): Promise<string[]> {
  return (await sys.vmcState()).lines.map((l) => `${l.dir === "from-host" ? ">" : "<"} ${l.line}`);
}
const approvals = (log: string[]) => log.filter((l) => /^> C,VEND,\d/.test(l));

async function waitVmc(sys: VendSystem, what: string, fn: (log: string[], s: Awaited<ReturnType<VendSystem["vmcState"]>>) => boolean): Promise<string[]> {
  return until(
    what,
    async () => {
      const s = await sys.vmcState();
      const log = s.lines.map((l) => `${l.dir === "from-host" ? ">" : "<"} ${l.line}`);
      return fn(log, s) ? log : undefined;
    },
    15_000,
    () => sys.recentLogs(),
  );
}

describe("mdb machine: the VMC-first vend cycle over a real pty", () => {
  it("success: vend request → hold invoice → approved → VEND SUCCESS journaled → settled", async () => {
    const sys = await system(MachineKind.MDB);
    expect((await sys.vmc({ select: 12 })).status).toBe(200);
    const order = await sys.waitForVendRequestOrder();
    expect(order).toMatchObject({ slot: "S12", productName: "Cola", kind: "mdb", state: "pending", amountMsat: "1500000", fiat: { currency: "EUR", amountMinor: 150 } });
    expect(sys.invoice(order.paymentHash!)).toMatchObject({ state: "OPEN", hold: true, valueMsat: 1_500_000n });

    const paid = await sys.pay(order.bolt11!);
    expect(paid.status).toBe(200);
    const done = await sys.waitForState(order.orderId, "completed");
    expect(done.evidence).toMatchObject({ kind: "mdb", selection: 12, priceUnits: 150, result: "success" });
    expect(sys.statePath(order.orderId)).toEqual(["pending", "held", "dispensing", "completed"]);
    const notes = sys.transitions(order.orderId).map((t) => t.note);
    expect(notes).toContain("vend evidence recorded");
    expect(sys.invoice(order.paymentHash!).state).toBe("SETTLED");

    const log = await vmcLog(sys);
    expect(approvals(log)).toEqual(["> C,VEND,1.50"]);
    expect(log.some((l) => l.startsWith("< c,VEND,SUCCESS"))).toBe(true);
    await until("the sale event", () => (sys.eventsOf("sale", order.orderId).length > 0 ? true : undefined), 10_000);
    expect(sys.eventsOf("sale", order.orderId)[0]).toMatchObject({ slot: "S12", selection: 12, evidence: { kind: "mdb", result: "success" } });
  });

  it("VEND FAILURE: the hold is cancelled, the buyer refunded", async () => {
    const sys = await system(MachineKind.MDB);
    const balance = sys.balanceMsat;
    await sys.vmc({ failNext: true });
    await sys.vmc({ select: 12 });
    const order = await sys.waitForVendRequestOrder();
    await sys.pay(order.bolt11!);
    const done = await sys.waitForState(order.orderId, "refunded");
    expect(done.failure?.code).toBe("VMC_VEND_FAILURE");
    expect(sys.journalOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "VMC_VEND_FAILURE" } });
    expect(sys.invoice(order.paymentHash!).state).toBe("CANCELED");
    expect(sys.balanceMsat).toBe(balance);
    const log = await vmcLog(sys);
    expect(approvals(log)).toHaveLength(1);
    expect(log.some((l) => l.startsWith("< c,ERR,VEND 3"))).toBe(true);
  });

  it("keypad cancel before the payment: the invoice is cancelled, nothing approved", async () => {
    const sys = await system(MachineKind.MDB);
    await sys.vmc({ select: 12 });
    const order = await sys.waitForVendRequestOrder();
    await sys.vmc({ cancel: true });
    const done = await sys.waitForState(order.orderId, "expired");
    expect(done.failure?.code).toBe("VMC_CANCELLED");
    await until("the invoice cancelled", () => (sys.invoice(order.paymentHash!).state === "CANCELED" ? true : undefined), 10_000);
    const log = await vmcLog(sys);
    expect(approvals(log)).toEqual([]);
    expect(log.some((l) => l.startsWith("< c,ERR,VEND 1"))).toBe(true);
  });

  it("timeout: the invoice expires before the VMC's approval timeout and the vend is denied; a late payment is refused", async () => {
    const sys = await system(MachineKind.MDB, { mdb: { approvalTimeoutSec: 12, invoiceExpirySec: 5 } });
    await sys.vmc({ select: 12 });
    const order = await sys.waitForVendRequestOrder();
    expect(order.expiresAt - order.createdAt).toBe(5_000);
    const done = await sys.waitForState(order.orderId, "expired", 20_000);
    expect(done.failure?.code).toBe("invoice_expired");
    const log = await waitVmc(sys, "the deny on the wire", (l) => l.includes("> C,VEND,-1"));
    expect(approvals(log)).toEqual([]);
    // The late payment: the node no longer takes it, and nothing is approved or vended.
    const balance = sys.balanceMsat;
    const late = await sys.pay(order.bolt11!);
    expect(late.status).not.toBe(200);
    expect(sys.invoice(order.paymentHash!).state).toBe("CANCELED");
    expect(sys.balanceMsat).toBe(balance);
    expect(approvals(await vmcLog(sys))).toEqual([]);
  });

  it("a payment after the VMC gave up (its own timeout) is refunded, never approved", async () => {
    // The VMC's session ends (its timeout, observed as the session ending) while the invoice is still payable.
    const sys = await system(MachineKind.MDB, { mdb: { approvalTimeoutSec: 30 } });
    await sys.vmc({ select: 12 });
    const order = await sys.waitForVendRequestOrder();
    await sys.vmc({ reset: true }); // the VMC gives up on the request
    await sys.waitForState(order.orderId, "expired");
    const balance = sys.balanceMsat;
    await sys.pay(order.bolt11!);
    await until("the invoice cancelled", () => (sys.invoice(order.paymentHash!).state === "CANCELED" ? true : undefined), 10_000);
    expect(sys.balanceMsat).toBe(balance);
    expect((await sys.order(order.orderId)).state).toBe("expired");
    expect(approvals(await vmcLog(sys))).toEqual([]);
  });

  it("VMC reset mid-vend: the hold is cancelled", async () => {
    const sys = await system(MachineKind.MDB, { mdb: { vendDurationMs: 8_000 } });
    await sys.vmc({ select: 12 });
    const order = await sys.waitForVendRequestOrder();
    void sys.pay(order.bolt11!);
    await waitVmc(sys, "the approval", (_l, s) => s.pending?.approved === true);
    await sys.vmc({ reset: true });
    const done = await sys.waitForState(order.orderId, "refunded");
    expect(done.failure?.code).toBe("VMC_RESET");
    await until("the invoice cancelled", () => (sys.invoice(order.paymentHash!).state === "CANCELED" ? true : undefined), 10_000);
    expect(approvals(await vmcLog(sys))).toHaveLength(1);
  });

  it("port closed mid-vend (HAT unplugged): the hold is cancelled and the machine stops selling", async () => {
    const sys = await system(MachineKind.MDB, { mdb: { vendDurationMs: 8_000 } });
    await sys.vmc({ select: 12 });
    const order = await sys.waitForVendRequestOrder();
    void sys.pay(order.bolt11!);
    const log = await waitVmc(sys, "the approval", (_l, s) => s.pending?.approved === true);
    expect(approvals(log)).toHaveLength(1);
    await sys.vmc({ unplug: true });
    const done = await sys.waitForState(order.orderId, "refunded");
    expect(["MDB_PORT_CLOSED", "VMC_TIMEOUT"]).toContain(done.failure?.code);
    await until("the invoice cancelled", () => (sys.invoice(order.paymentHash!).state === "CANCELED" ? true : undefined), 10_000);
    const health = (await (await fetch(`${sys.url}/api/health`)).json()) as { selling: boolean; mdb: { selling: boolean } };
    expect(health.selling).toBe(false);
    expect(health.mdb.selling).toBe(false);
  });

  it("garbage on the line is counted, never acted on; the sale still completes", async () => {
    const sys = await system(MachineKind.MDB);
    await sys.vmc({ garbage: true });
    await sys.vmc({ select: 12 });
    const order = await sys.waitForVendRequestOrder();
    await sys.vmc({ garbage: true });
    await sys.pay(order.bolt11!);
    await sys.waitForState(order.orderId, "completed");
    expect(sys.invoice(order.paymentHash!).state).toBe("SETTLED");
    const health = (await (await fetch(`${sys.url}/api/health`)).json()) as { mdb: { badLines: number } };
    expect(health.mdb.badLines).toBeGreaterThan(0);
    expect(approvals(await vmcLog(sys))).toEqual(["> C,VEND,1.50"]);
  });

  it("a selection the operator disabled is denied; no order, no invoice", async () => {
    const sys = await system(MachineKind.MDB);
    await sys.vmc({ select: 13 });
    const log = await waitVmc(sys, "the deny", (l) => l.includes("> C,VEND,-1"));
    expect(approvals(log)).toEqual([]);
    expect(sys.journalOrderCount()).toBe(0);
    // The demo route answers with codes: a key the VMC does not have, and a body that is not one of the requests.
    const refused = await sys.vmc({ select: 99 });
    expect(refused).toMatchObject({ status: 409, body: { error: { code: "vmc_refused" } } });
    expect((await sys.vmc({ select: 12, cancel: true })).status).toBe(400);
  });
});
