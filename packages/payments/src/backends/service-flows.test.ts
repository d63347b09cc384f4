// The adapters behind the payment core's PaymentService, each against its product's fake: every invoice a backend
// returns passes the machine's own BOLT 11 check, and a payment counts only once an authenticated lookup shows it.
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../__fixtures__/manual-clock.js";
import type { LightningBackend } from "../backend.js";
import type { VerifiedUpdate } from "../monitor.js";
import { PaymentService } from "../service.js";
import { FAKE_NODE_PUBKEY } from "./__fixtures__/bolt11.js";
import { FakeBtcpay } from "./__fixtures__/fake-btcpay.js";
import { FakeCln } from "./__fixtures__/fake-cln.js";
import { FakeLnbits } from "./__fixtures__/fake-lnbits.js";
import { FakePhoenixd } from "./__fixtures__/fake-phoenixd.js";
import { BtcpayBackend } from "./btcpay.js";
import { ClnBackend } from "./cln.js";
import { LnbitsBackend } from "./lnbits.js";
import { PhoenixdBackend } from "./phoenixd.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function service(backend: LightningBackend, clock: ManualClock) {
  const svc = new PaymentService({ backend, network: "regtest", payeeNodeKey: FAKE_NODE_PUBKEY, clock, pollIntervalMs: 5_000 });
  await svc.start();
  cleanups.push(() => svc.stop());
  const updates: VerifiedUpdate[] = [];
  svc.onUpdate((_h, u) => updates.push(u));
  return { svc, updates };
}

/** Advances the clock until the monitor's poll (real HTTP in between) produced the wanted update. */
async function pollUntil(clock: ManualClock, updates: VerifiedUpdate[], state: string) {
  await vi.waitFor(async () => {
    await clock.advance(5_000);
    expect(updates.map((u) => u.state)).toContain(state);
  });
}

describe("adapters behind PaymentService", () => {
  it("LNbits: a verified plain invoice; settled with the preimage only after the poll looked it up", async () => {
    const server = await new FakeLnbits().start();
    cleanups.push(() => server.close());
    const clock = new ManualClock();
    const { svc, updates } = await service(new LnbitsBackend({ url: server.url, apiKey: server.invoiceKey, network: "regtest", nodePubkey: FAKE_NODE_PUBKEY, clock }), clock);
    const inv = await svc.createInvoice({ amountMsat: 25_000n, description: "sparkling water", expirySec: 180 });
    svc.track(inv.paymentHash, 25_000n);
    await clock.advance(10_000);
    expect(updates).toEqual([]);
    server.pay(inv.paymentHash);
    await pollUntil(clock, updates, "settled");
    const u = updates[0];
    expect(u).toMatchObject({ state: "settled", amountPaidMsat: 25_000n });
    expect(createHash("sha256").update(Buffer.from(u?.preimage ?? "", "hex")).digest("hex")).toBe(inv.paymentHash);
  });

  it("phoenixd: a verified invoice, settled through the poll", async () => {
    const server = await new FakePhoenixd().start();
    cleanups.push(() => server.close());
    const clock = new ManualClock();
    const { svc, updates } = await service(new PhoenixdBackend({ url: server.url, password: server.limitedPassword, network: "regtest", clock }), clock);
    const inv = await svc.createInvoice({ amountMsat: 40_000n, description: "crisps", expirySec: 180 });
    svc.track(inv.paymentHash, 40_000n);
    server.pay(inv.paymentHash, 40, 2_000);
    await pollUntil(clock, updates, "settled");
    expect(updates[0]).toMatchObject({ amountPaidMsat: 40_000n });
  });

  it("CLN with the holdinvoice plugin: held, then settled by the machine's preimage", async () => {
    const node = await new FakeCln().start();
    node.runes.set("r", undefined);
    cleanups.push(() => node.close());
    const clock = new ManualClock();
    const backend = new ClnBackend({ url: node.url, rune: "r", clock, random: () => 0.5 });
    const { svc, updates } = await service(backend, clock);
    const preimage = randomBytes(32).toString("hex");
    const paymentHash = createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex");
    // PaymentService passes the request through; CLN's plugin needs the preimage with it.
    const inv = await svc.createHoldInvoice({ paymentHash, preimage, amountMsat: 33_000n, description: "cola", expirySec: 180 } as Parameters<typeof svc.createHoldInvoice>[0]);
    svc.track(inv.paymentHash, 33_000n);
    node.pay(paymentHash);
    await pollUntil(clock, updates, "accepted");
    await svc.settle(preimage);
    await pollUntil(clock, updates, "settled");
  });

  it("CLN: the held payment reaches the machine by push (htlcs index), well before the poll; the BOLT 11 outlives the order", async () => {
    const node = await new FakeCln().start();
    node.runes.set("r", undefined);
    cleanups.push(() => node.close());
    const clock = new ManualClock();
    const backend = new ClnBackend({ url: node.url, rune: "r", clock, random: () => 0.5 });
    const { svc, updates } = await service(backend, clock);
    const preimage = randomBytes(32).toString("hex");
    const paymentHash = createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex");
    const inv = await svc.createHoldInvoice({ paymentHash, preimage, amountMsat: 33_000n, description: "cola", expirySec: 180 } as Parameters<typeof svc.createHoldInvoice>[0]);
    // Verified by the machine although it lives 180 + 600 + 1800 s: the order's own 180 s is the controller's.
    expect(inv.expiresAtMs).toBe((1_763_700_000 + 2_580) * 1000);
    svc.track(inv.paymentHash, 33_000n);
    await vi.waitFor(async () => {
      await clock.advance(0);
      expect(node.waitingHtlcs).toBe(1);
    });
    node.acceptAfterLookups = 1;
    node.pay(paymentHash);
    let advancedMs = 0;
    await vi.waitFor(async () => {
      await clock.advance(250);
      advancedMs += 250;
      expect(updates.map((u) => u.state)).toContain("accepted");
    });
    expect(advancedMs).toBeLessThan(5_000); // the monitor's poll interval here
  });

  it("BTCPay after a restart: the journal's BOLT 11 handed to PaymentService finds the invoice, paid while the machine was off", async () => {
    const server = await new FakeBtcpay().start();
    server.lightningDescriptionTemplate = "{ItemDescription}";
    cleanups.push(() => server.close());
    const clock = new ManualClock();
    const make = () => new BtcpayBackend({ url: server.url, apiKey: "key-invoices", storeId: server.storeId, network: "regtest", nodePubkey: FAKE_NODE_PUBKEY, clock });
    const before = await service(make(), clock);
    const inv = await before.svc.createInvoice({ amountMsat: 12_000n, description: "gum", expirySec: 120 });
    await before.svc.stop();
    server.pay([...server.invoices.keys()][0] ?? "");
    const after = await service(make(), clock);
    after.svc.restoreInvoice(inv.paymentHash, inv.bolt11);
    after.svc.track(inv.paymentHash, 12_000n);
    await pollUntil(clock, after.updates, "settled");
    expect(after.updates[0]).toMatchObject({ paymentHash: inv.paymentHash, amountPaidMsat: 12_000n });
  });

  it("BTCPay: a forged or premature webhook dispenses nothing; the real payment is seen through the lookup", async () => {
    const server = await new FakeBtcpay().start();
    server.lightningDescriptionTemplate = "{ItemDescription}";
    cleanups.push(() => server.close());
    const clock = new ManualClock();
    const backend = new BtcpayBackend({ url: server.url, apiKey: "key-invoices", storeId: server.storeId, webhookSecret: "s3cret", network: "regtest", nodePubkey: FAKE_NODE_PUBKEY, clock });
    const { svc, updates } = await service(backend, clock);
    const inv = await svc.createInvoice({ amountMsat: 12_000n, description: "gum", expirySec: 120 });
    svc.track(inv.paymentHash, 12_000n);
    const invoiceId = [...server.invoices.keys()][0] ?? "";

    // An attacker on the network posts "settled" without the secret; then BTCPay itself sends a premature event.
    const forged = server.webhook("guessed", "InvoiceSettled", invoiceId);
    expect((await backend.handleWebhook(forged.body, forged.signature)).status).toBe(401);
    const early = server.webhook("s3cret", "InvoiceSettled", invoiceId);
    expect((await backend.handleWebhook(early.body, early.signature)).status).toBe(200);
    await clock.advance(20_000);
    expect(updates).toEqual([]);

    server.pay(invoiceId);
    await pollUntil(clock, updates, "settled");
    expect(updates[0]).toMatchObject({ amountPaidMsat: 12_000n });
  });

  it("BTCPay with its default Lightning description template: the machine refuses the invoice", async () => {
    const server = await new FakeBtcpay().start();
    cleanups.push(() => server.close());
    const clock = new ManualClock();
    const backend = new BtcpayBackend({ url: server.url, apiKey: "key-invoices", storeId: server.storeId, network: "regtest", nodePubkey: FAKE_NODE_PUBKEY, clock });
    const { svc } = await service(backend, clock);
    await expect(svc.createInvoice({ amountMsat: 12_000n, description: "gum", expirySec: 120 })).rejects.toMatchObject({ code: "wrong_description" });
  });
});
