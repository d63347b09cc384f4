import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../__fixtures__/manual-clock.js";
import type { BackendHint } from "../backend.js";
import { PaymentErrorCode } from "../errors.js";
import { FakeBtcpay } from "./__fixtures__/fake-btcpay.js";
import { BtcpayBackend } from "./btcpay.js";

const SECRET = "whsec-1234567890";

describe("BtcpayBackend against a Greenfield fake", () => {
  let server: FakeBtcpay;
  let clock: ManualClock;
  let backend: BtcpayBackend;

  const make = (over: Partial<ConstructorParameters<typeof BtcpayBackend>[0]> = {}) =>
    new BtcpayBackend({ url: server.url, apiKey: "key-invoices", storeId: server.storeId, webhookSecret: SECRET, network: "regtest", clock, ...over });

  beforeEach(async () => {
    server = await new FakeBtcpay().start();
    clock = new ManualClock();
    backend = make();
  });
  afterEach(async () => {
    await backend.stop();
    await server.close();
  });

  it("creates a Lightning-only invoice in BTC and returns its BOLT 11 with the payment hash inside it", async () => {
    await backend.start();
    const created = await backend.createInvoice({ amountMsat: 1_234_000n, description: "coffee", expirySec: 150 });
    const sent = server.http.requests.find((r) => r.method === "POST");
    expect(sent?.headers["authorization"]).toBe("token key-invoices");
    expect(sent?.json).toMatchObject({ amount: "0.00001234", currency: "BTC", checkout: { paymentMethods: ["BTC-LN"], expirationMinutes: 3 }, metadata: { itemDesc: "coffee" } });
    const inv = [...server.invoices.values()][0];
    expect(created).toEqual({ bolt11: inv?.bolt11, paymentHash: inv?.paymentHash });
  });

  it("looks up by payment hash: open, then settled with what the Lightning method received", async () => {
    const created = await backend.createInvoice({ amountMsat: 50_000n, description: "x", expirySec: 60 });
    expect(await backend.lookupInvoice(created.paymentHash)).toMatchObject({ state: "open", amountMsat: 50_000n, amountPaidMsat: 0n });
    server.pay([...server.invoices.keys()][0] ?? "");
    expect(await backend.lookupInvoice(created.paymentHash)).toMatchObject({ state: "settled", amountMsat: 50_000n, amountPaidMsat: 50_000n, settledAt: 1_763_700_050_000 });
  });

  it("an invoice marked settled by hand (nothing received over Lightning) shows nothing paid", async () => {
    const created = await backend.createInvoice({ amountMsat: 50_000n, description: "x", expirySec: 60 });
    const inv = [...server.invoices.values()][0];
    if (inv) {
      inv.status = "Settled";
      inv.additionalStatus = "Marked";
    }
    expect(await backend.lookupInvoice(created.paymentHash)).toMatchObject({ state: "settled", amountPaidMsat: 0n });
  });

  it("after a restart it finds the invoice of a hash by search and proves it by the BOLT 11", async () => {
    const created = await backend.createInvoice({ amountMsat: 7_000n, description: "x", expirySec: 60 });
    const fresh = make();
    expect((await fresh.lookupInvoice(created.paymentHash)).state).toBe("open");
    await expect(fresh.lookupInvoice("ab".repeat(32))).rejects.toMatchObject({ code: PaymentErrorCode.INVOICE_NOT_FOUND });
    await fresh.stop();
  });

  it("activates lazy payment methods and speaks BTCPay 1.x method names", async () => {
    server.lazyPaymentMethods = true;
    server.version = 1;
    const created = await backend.createInvoice({ amountMsat: 2_000n, description: "x", expirySec: 60 });
    expect(created.bolt11).toMatch(/^lnbcrt/);
    expect(server.http.requests.some((r) => r.path.endsWith("/activate"))).toBe(true);
  });

  it("refuses sub-sat amounts; maps 401, 403 and 422", async () => {
    await expect(backend.createInvoice({ amountMsat: 1_500n, description: "x", expirySec: 60 })).rejects.toMatchObject({ code: PaymentErrorCode.BAD_REQUEST });
    const anon = make({ apiKey: "wrong" });
    await expect(anon.start()).rejects.toMatchObject({ code: PaymentErrorCode.UNAUTHORIZED });
    await anon.stop();
    server.keys.set("view-only", ["btcpay.store.canviewinvoices"]);
    const viewer = make({ apiKey: "view-only" });
    await expect(viewer.createInvoice({ amountMsat: 1_000n, description: "x", expirySec: 60 })).rejects.toMatchObject({ code: PaymentErrorCode.PERMISSION_DENIED });
    await viewer.stop();
    server.http.faults.push({ status: 422, body: [{ path: "amount", message: "too small" }] });
    await expect(backend.createInvoice({ amountMsat: 1_000n, description: "x", expirySec: 60 })).rejects.toMatchObject({ code: PaymentErrorCode.BAD_REQUEST, message: expect.stringContaining("amount: too small") });
  });

  it("a hung BTCPay times out", async () => {
    server.http.faults.push("stall");
    const assertion = expect(backend.start()).rejects.toMatchObject({ code: PaymentErrorCode.BACKEND_TIMEOUT });
    await vi.waitFor(() => expect(server.http.requests).toHaveLength(1));
    await clock.advance(10_000);
    await assertion;
  });

  it("webhooks: a signed event becomes a hint for the payment hash; a forged or foreign one is refused", async () => {
    const hints: BackendHint[] = [];
    backend.watch((h) => hints.push(h));
    const created = await backend.createInvoice({ amountMsat: 9_000n, description: "x", expirySec: 60 });
    const id = [...server.invoices.keys()][0] ?? "";

    const good = server.webhook(SECRET, "InvoiceSettled", id);
    expect(await backend.handleWebhook(good.body, good.signature)).toEqual({ accepted: true, status: 200 });
    expect(hints).toEqual([{ type: "invoice", paymentHash: created.paymentHash }]);

    const forged = server.webhook("not-the-secret", "InvoiceSettled", id);
    expect(await backend.handleWebhook(forged.body, forged.signature)).toMatchObject({ accepted: false, status: 401 });
    // The right signature over another body (a tampered invoice id) fails too.
    expect(await backend.handleWebhook(good.body.replace(id, "Other"), good.signature)).toMatchObject({ accepted: false, status: 401 });
    expect(await backend.handleWebhook(good.body, undefined)).toMatchObject({ accepted: false, status: 401 });
    const foreign = server.webhook(SECRET, "InvoiceSettled", id, "OtherStore");
    expect(await backend.handleWebhook(foreign.body, foreign.signature)).toMatchObject({ accepted: false, status: 400 });
    expect(hints).toHaveLength(1);
  });

  it("a webhook about an invoice created before a restart is mapped through its payment methods", async () => {
    const created = await backend.createInvoice({ amountMsat: 9_000n, description: "x", expirySec: 60 });
    const fresh = make();
    const hints: BackendHint[] = [];
    fresh.watch((h) => hints.push(h));
    const ev = server.webhook(SECRET, "InvoiceSettled", [...server.invoices.keys()][0] ?? "");
    await fresh.handleWebhook(Buffer.from(ev.body), ev.signature);
    expect(hints).toEqual([{ type: "invoice", paymentHash: created.paymentHash }]);
    await fresh.stop();
  });

  it("has no hold invoices; push only with a webhook secret", () => {
    expect(backend.capabilities).toEqual({ holdInvoices: false, push: true });
    expect(make({ webhookSecret: undefined }).capabilities.push).toBe(false);
  });
});
