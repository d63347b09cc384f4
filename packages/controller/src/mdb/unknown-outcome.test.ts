// An MDB vend whose approval went out and that ended with no result from the VMC (the port closed, the VMC reset the
// reader, no VEND SUCCESS/FAILURE in time) may have given the product: it is refunded and counted as possibly given
// away, exactly once, as an approval a crash left without result. A VEND FAILURE (the VMC's own word) is not counted.
import Database from "better-sqlite3";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Product } from "@zapvend/protocol";
import { VendController, VmcSales } from "../index.js";
import { FakeLightning, ManualClock, MemorySink, flush } from "../__fixtures__/fakes.js";
import { FakeMdbPort } from "../__fixtures__/fake-mdb.js";

const catalog: Product[] = [{ slot: "S12", name: "Cola", kind: "mdb", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 10, capacity: 10, enabled: true }];
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

function setup(opts: { dbPath?: string; clock?: ManualClock; ln?: FakeLightning } = {}) {
  const clock = opts.clock ?? new ManualClock();
  const ln = opts.ln ?? new FakeLightning(true);
  const device = new FakeMdbPort();
  const sink = new MemorySink();
  const sales = new VmcSales({ device, currency: "EUR", scaleFactor: 1, decimalPlaces: 2, approvalTimeoutSec: 60, invoiceExpirySec: 50, vendResultTimeoutMs: 30_000, sellUnmappedSelections: true, clock });
  const ctl = new VendController({
    db: new Database(opts.dbPath ?? ":memory:"),
    vendStep: sales,
    payments: ln,
    events: sink,
    catalog,
    clock,
    quote: (p) => (p.price.unit === "fiat" ? { amountMsat: BigInt(p.price.amountMinor) * 10_000n, fiat: { currency: p.price.currency, amountMinor: p.price.amountMinor }, rate: null } : null),
  });
  const start = async () => {
    await ctl.start();
    sales.attach(ctl);
    stops.push(async () => {
      sales.detach();
      await ctl.stop();
    });
  };
  return { ctl, sales, device, ln, sink, clock, start };
}

/** A vend request for selection 12, paid: the approval is written. */
async function approved(m: ReturnType<typeof setup>) {
  m.device.request(12, 150);
  await flush();
  const order = m.ctl.journal.recentOrders(1)[0]!;
  await m.ln.pay(order.paymentHash);
  await flush();
  expect(m.device.sent).toEqual(["approve:150"]);
  return order;
}

describe("an approved MDB vend with no result from the VMC", () => {
  const endings: Array<[string, (m: ReturnType<typeof setup>) => void | Promise<void>, string]> = [
    ["the port closes (HAT unplugged)", (m) => m.device.unplug(), "MDB_PORT_CLOSED"],
    ["the VMC resets the reader", (m) => m.device.reset(), "VMC_RESET"],
    ["no result within vendResultTimeoutMs", (m) => m.clock.advance(30_001), "VMC_RESULT_TIMEOUT"],
  ];
  for (const [what, end, code] of endings) {
    it(`${what}: refunded, counted once as possibly given away`, async () => {
      const m = setup();
      await m.start();
      const order = await approved(m);
      await end(m);
      await flush();
      expect(m.ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code } });
      expect(m.ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
      expect(m.sales.mdbStatus().unconfirmedVends).toBe(1);
      expect(m.sink.events).toContainEqual(expect.objectContaining({ type: "refund", orderId: order.orderId, possiblyVended: true }));
    });
  }

  it("a VEND FAILURE is the VMC's word that nothing came out: refunded, not counted", async () => {
    const m = setup();
    await m.start();
    const order = await approved(m);
    m.device.failure(12, 150);
    await flush();
    expect(m.ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "VMC_VEND_FAILURE" } });
    expect(m.sales.mdbStatus().unconfirmedVends).toBe(0);
    expect(m.sink.events.find((e) => e.type === "refund")).not.toHaveProperty("possiblyVended");
  });

  it("its cancel fails and the machine restarts: refunded by recovery, still counted once", async () => {
    const dbPath = path.join(mkdtempSync(path.join(tmpdir(), "zv-mdb-unknown-")), "journal.db");
    const clock = new ManualClock();
    const ln = new FakeLightning(true);
    const first = setup({ dbPath, clock, ln });
    await first.start();
    const order = await approved(first);
    ln.cancelFails = 1_000; // the node refuses every cancel for now
    first.device.unplug();
    await flush();
    expect(first.ctl.getOrder(order.orderId)).toMatchObject({ state: "dispensing", failure: { code: "MDB_PORT_CLOSED" } });
    expect(first.sales.mdbStatus().unconfirmedVends).toBe(1);
    stops.splice(0);
    first.sales.detach(); // the daemon dies with the cancel not done
    ln.cancelFails = 0;
    const second = setup({ dbPath, clock, ln });
    await second.start();
    await flush();
    expect(second.ctl.getOrder(order.orderId)).toMatchObject({ state: "refunded", failure: { code: "MDB_PORT_CLOSED" } });
    expect(ln.invoices.get(order.paymentHash)?.state).toBe("canceled");
    expect(second.sales.mdbStatus().unconfirmedVends).toBe(1);
    expect(second.sink.events).toContainEqual(expect.objectContaining({ type: "refund", orderId: order.orderId, possiblyVended: true }));
  });
});
