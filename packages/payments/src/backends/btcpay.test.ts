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

  it("after a restart it finds an invoice by the BOLT 11 from the journal (prefix search) and proves it by its hash", async () => {
    const other = await backend.createInvoice({ amountMsat: 8_000n, description: "y", expirySec: 60 });
    const created = await backend.createInvoice({ amountMsat: 7_000n, description: "x", expirySec: 60 });
    // BTCPay does not index the payment hash: searching for it finds nothing (the old adapter's way).
    const byHash = await fetch(`${server.url}/api/v1/stores/${server.storeId}/invoices?textSearch=${created.paymentHash}`, { headers: { authorization: "token key-invoices" } });
    expect(await byHash.json()).toEqual([]);

    const seen = server.http.requests.length;
    const searches = () => server.http.requests.slice(seen).filter((r) => r.query.has("textSearch")).map((r) => r.query.get("textSearch"));
    const fresh = make();
    fresh.restoreInvoice(created.paymentHash, created.bolt11);
    fresh.restoreInvoice(other.paymentHash, `lightning:${other.bolt11}`);
    expect(await fresh.lookupInvoice(created.paymentHash)).toMatchObject({ state: "open", amountMsat: 7_000n });
    expect(await fresh.lookupInvoice(other.paymentHash)).toMatchObject({ state: "open", amountMsat: 8_000n });
    expect(searches()).toEqual([created.bolt11.slice(0, 512), other.bolt11.slice(0, 512)]);
    // Found once, known from then on: no second search.
    await fresh.lookupInvoice(created.paymentHash);
    expect(searches()).toHaveLength(2);
    await fresh.stop();
  });

  it("after a restart, a hash whose BOLT 11 was not restored, or that BTCPay does not have, is invoice_not_found", async () => {
    const created = await backend.createInvoice({ amountMsat: 7_000n, description: "x", expirySec: 60 });
    const fresh = make();
    await expect(fresh.lookupInvoice(created.paymentHash)).rejects.toMatchObject({ code: PaymentErrorCode.INVOICE_NOT_FOUND });
    // A BOLT 11 that carries another hash than the one asked for is not taken for it.
    fresh.restoreInvoice("ab".repeat(32), created.bolt11);
    await expect(fresh.lookupInvoice("ab".repeat(32))).rejects.toMatchObject({ code: PaymentErrorCode.INVOICE_NOT_FOUND });
    await fresh.stop();
  });

  it("a lazy payment method's BOLT 11 is searchable once activated", async () => {
    server.lazyPaymentMethods = true;
    const created = await backend.createInvoice({ amountMsat: 3_000n, description: "x", expirySec: 60 });
    const fresh = make();
    fresh.restoreInvoice(created.paymentHash, created.bolt11);
    expect((await fresh.lookupInvoice(created.paymentHash)).state).toBe("open");
    await fresh.stop();
  });

  describe("the Lightning payment method id on BTCPay 1.x and 2.x", () => {
    const methodsAsked = () => server.http.requests.filter((r) => r.method === "POST" && r.path.endsWith("/invoices")).map((r) => (r.json as { checkout: { paymentMethods: string[] } }).checkout.paymentMethods[0]);

    it("2.x: BTC-LN by default, one request", async () => {
      await backend.createInvoice({ amountMsat: 2_000n, description: "x", expirySec: 60 });
      expect(methodsAsked()).toEqual(["BTC-LN"]);
    });

    it("1.x refuses BTC-LN (422): the adapter switches to BTC-LightningNetwork once and keeps it", async () => {
      server.version = 1;
      const a = await backend.createInvoice({ amountMsat: 2_000n, description: "x", expirySec: 60 });
      await backend.createInvoice({ amountMsat: 3_000n, description: "y", expirySec: 60 });
      expect(methodsAsked()).toEqual(["BTC-LN", "BTC-LightningNetwork", "BTC-LightningNetwork"]);
      expect((await backend.lookupInvoice(a.paymentHash)).state).toBe("open");
    });

    it("a configured id is used as is: BTC-LightningNetwork works on 2.x too; BTC-LN on 1.x is refused, not second-guessed", async () => {
      const legacy = make({ paymentMethodId: "BTC-LightningNetwork" });
      await legacy.createInvoice({ amountMsat: 2_000n, description: "x", expirySec: 60 });
      expect(methodsAsked()).toEqual(["BTC-LightningNetwork"]);
      await legacy.stop();
      server.version = 1;
      const pinned = make({ paymentMethodId: "BTC-LN" });
      await expect(pinned.createInvoice({ amountMsat: 2_000n, description: "x", expirySec: 60 })).rejects.toMatchObject({
        code: PaymentErrorCode.BAD_REQUEST,
        message: expect.stringContaining("Invalid payment method"),
      });
      expect(methodsAsked()).toEqual(["BTC-LightningNetwork", "BTC-LN"]);
      await pinned.stop();
    });
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
