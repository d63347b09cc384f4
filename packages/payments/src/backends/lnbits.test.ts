import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../__fixtures__/manual-clock.js";
import { PaymentErrorCode } from "../errors.js";
import { FakeLnbits } from "./__fixtures__/fake-lnbits.js";
import { LnbitsBackend } from "./lnbits.js";

describe("LnbitsBackend against an LNbits fake", () => {
  let server: FakeLnbits;
  let clock: ManualClock;
  let backend: LnbitsBackend;

  beforeEach(async () => {
    server = await new FakeLnbits().start();
    clock = new ManualClock();
    backend = new LnbitsBackend({ url: server.url, apiKey: server.invoiceKey, network: "regtest", nodePubkey: `03${"44".repeat(32)}`, clock });
  });
  afterEach(async () => {
    await backend.stop();
    await server.close();
  });

  it("declares plain invoices only and refuses hold calls", async () => {
    await backend.start();
    expect(backend.capabilities).toEqual({ holdInvoices: false, push: false });
    await expect(backend.createHoldInvoice()).rejects.toMatchObject({ code: PaymentErrorCode.HOLD_UNSUPPORTED });
    await expect(backend.settleInvoice()).rejects.toMatchObject({ code: PaymentErrorCode.HOLD_UNSUPPORTED });
  });

  it("creates an invoice in whole sats with the invoice key, and reads it back settled with its preimage", async () => {
    await backend.start();
    const created = await backend.createInvoice({ amountMsat: 150_000n, description: "water", expirySec: 180 });
    const sent = server.http.requests.find((r) => r.method === "POST");
    expect(sent?.json).toEqual({ out: false, amount: 150, memo: "water", expiry: 180 });
    expect(sent?.headers["x-api-key"]).toBe(server.invoiceKey);
    expect(await backend.lookupInvoice(created.paymentHash)).toMatchObject({ state: "open", amountMsat: 150_000n, amountPaidMsat: 0n });
    server.pay(created.paymentHash);
    const st = await backend.lookupInvoice(created.paymentHash);
    expect(st).toMatchObject({ state: "settled", amountMsat: 150_000n, amountPaidMsat: 150_000n });
    expect(createHash("sha256").update(Buffer.from(st.preimage ?? "", "hex")).digest("hex")).toBe(created.paymentHash);
  });

  it("reads the pre-1.0 answer shape (payment_request) too", async () => {
    server.legacyCreateShape = true;
    const created = await backend.createInvoice({ amountMsat: 1000n, description: "x", expirySec: 60 });
    expect(created.bolt11).toMatch(/^lnbcrt/);
  });

  it("refuses an amount that is not a whole sat instead of rounding the buyer's price", async () => {
    await expect(backend.createInvoice({ amountMsat: 150_001n, description: "x", expirySec: 60 })).rejects.toMatchObject({ code: PaymentErrorCode.BAD_REQUEST });
    expect(server.http.requests).toHaveLength(0);
  });

  it("maps LNbits errors: wrong key 401, unknown hash 404", async () => {
    const bad = new LnbitsBackend({ url: server.url, apiKey: "nope", network: "regtest", clock });
    await expect(bad.start()).rejects.toMatchObject({ code: PaymentErrorCode.UNAUTHORIZED });
    await bad.stop();
    await expect(backend.lookupInvoice("cd".repeat(32))).rejects.toMatchObject({ code: PaymentErrorCode.INVOICE_NOT_FOUND });
  });

  it("nodeInfo needs the configured node key (LNbits does not tell it)", async () => {
    expect(await backend.nodeInfo()).toEqual({ pubkey: `03${"44".repeat(32)}`, network: "regtest" });
    const anon = new LnbitsBackend({ url: server.url, apiKey: server.invoiceKey, network: "regtest" });
    await expect(anon.nodeInfo()).rejects.toMatchObject({ code: PaymentErrorCode.BAD_REQUEST });
  });

  it("a hung LNbits times out; a 503 is unreachable", async () => {
    server.http.faults.push("stall");
    const p = backend.lookupInvoice("cd".repeat(32));
    const assertion = expect(p).rejects.toMatchObject({ code: PaymentErrorCode.BACKEND_TIMEOUT });
    await vi.waitFor(() => expect(server.http.requests).toHaveLength(1));
    await clock.advance(10_000);
    await assertion;
    server.http.faults.push({ status: 503, text: "Service Unavailable" });
    await expect(backend.lookupInvoice("cd".repeat(32))).rejects.toMatchObject({ code: PaymentErrorCode.BACKEND_UNREACHABLE });
  });

  it("a response whose hash is not the invoice's is refused", async () => {
    server.http.faults.push({ status: 201, body: { payment_hash: "ee".repeat(32), bolt11: "lnbcrt1" } });
    await expect(backend.createInvoice({ amountMsat: 1000n, description: "x", expirySec: 60 })).rejects.toMatchObject({ code: PaymentErrorCode.BAD_RESPONSE });
  });
});
