import { createHash, randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../__fixtures__/manual-clock.js";
import { PaymentErrorCode } from "../errors.js";
import { FAKE_NODE_PUBKEY } from "./__fixtures__/bolt11.js";
import { FakeCln } from "./__fixtures__/fake-cln.js";
import { ClnBackend } from "./cln.js";

const RUNE = "rune-full";
const INVOICE_RUNE = "rune-invoice-only";

function preimagePair() {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, paymentHash: createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex") };
}

describe("ClnBackend against a clnrest fake", () => {
  let node: FakeCln;
  let clock: ManualClock;
  let backend: ClnBackend;

  beforeEach(async () => {
    node = await new FakeCln().start();
    node.runes.set(RUNE, undefined);
    node.runes.set(INVOICE_RUNE, new Set(["getinfo", "invoice", "listinvoices"]));
    clock = new ManualClock();
    backend = new ClnBackend({ url: node.url, rune: RUNE, clock, random: () => 0.5 });
  });
  afterEach(async () => {
    await backend.stop();
    await node.close();
  });

  it("reports the node key and network, and finds the holdinvoice plugin", async () => {
    await backend.start();
    expect(await backend.nodeInfo()).toMatchObject({ pubkey: FAKE_NODE_PUBKEY, network: "regtest", blockHeight: 150 });
    expect(backend.capabilities.holdInvoices).toBe(true);
    expect(node.http.requests[0]?.headers["rune"]).toBe(RUNE);
  });

  it("without the plugin (404 unknown command) it offers plain invoices only", async () => {
    node.holdPlugin = false;
    await backend.start();
    expect(backend.capabilities.holdInvoices).toBe(false);
    const { paymentHash, preimage } = preimagePair();
    await expect(backend.createHoldInvoice({ paymentHash, preimage, amountMsat: 1000n, description: "x", expirySec: 60 })).rejects.toMatchObject({
      code: PaymentErrorCode.HOLD_UNSUPPORTED,
    });
  });

  it("hold invoice: open -> accepted -> settled, with the machine's hash and the amount in msat", async () => {
    await backend.start();
    const { paymentHash, preimage } = preimagePair();
    const created = await backend.createHoldInvoice({ paymentHash, preimage, amountMsat: 2_500_123n, description: "cola", expirySec: 180 });
    expect(created.paymentHash).toBe(paymentHash);
    // The order's 180 s + the 600 s settle window + the plugin's 1800 s floor (read from the node).
    expect(node.calls("holdinvoice")[0]).toMatchObject({ amount_msat: 2_500_123, description: "cola", expiry: 2580, cltv: 80, preimage });

    expect(await backend.lookupInvoice(paymentHash)).toMatchObject({ state: "open", amountMsat: 2_500_123n, amountPaidMsat: 0n });
    await expect(backend.settleInvoice(preimage)).rejects.toMatchObject({ code: PaymentErrorCode.NOT_HELD });

    node.pay(paymentHash);
    expect(await backend.lookupInvoice(paymentHash)).toMatchObject({ state: "accepted", amountPaidMsat: 2_500_123n, htlcExpiryHeight: 290 });

    await backend.settleInvoice(preimage);
    await backend.settleInvoice(preimage); // a retry after a lost answer is harmless
    const settled = await backend.lookupInvoice(paymentHash);
    expect(settled).toMatchObject({ state: "settled", amountPaidMsat: 2_500_123n, preimage });
    await expect(backend.cancelInvoice(paymentHash)).rejects.toMatchObject({ code: PaymentErrorCode.ALREADY_SETTLED });
  });

  it("cancel refunds a held payment, twice is fine, and settle after cancel is refused", async () => {
    await backend.start();
    const { paymentHash, preimage } = preimagePair();
    await backend.createHoldInvoice({ paymentHash, preimage, amountMsat: 5000n, description: "x", expirySec: 60 });
    node.pay(paymentHash);
    await backend.cancelInvoice(paymentHash);
    await backend.cancelInvoice(paymentHash);
    expect((await backend.lookupInvoice(paymentHash)).state).toBe("canceled");
    await expect(backend.settleInvoice(preimage)).rejects.toMatchObject({ code: PaymentErrorCode.ALREADY_CANCELED });
  });

  it("refuses a hold request without the matching preimage before calling the node", async () => {
    await backend.start();
    const { paymentHash } = preimagePair();
    await expect(
      backend.createHoldInvoice({ paymentHash, preimage: "00".repeat(32), amountMsat: 1000n, description: "x", expirySec: 60 }),
    ).rejects.toMatchObject({ code: PaymentErrorCode.BAD_REQUEST });
    expect(node.calls("holdinvoice")).toHaveLength(0);
  });

  it("a reused payment hash comes back as duplicate_payment_hash (CLN's 900/901 wrapped by cln-plugin as -32700)", async () => {
    await backend.start();
    const pair = preimagePair();
    await backend.createHoldInvoice({ ...pair, amountMsat: 1000n, description: "x", expirySec: 60 });
    await expect(backend.createHoldInvoice({ ...pair, amountMsat: 1000n, description: "x", expirySec: 60 })).rejects.toMatchObject({
      code: PaymentErrorCode.DUPLICATE_PAYMENT_HASH,
    });
  });

  it("plain invoice: settled with the preimage and the amount received", async () => {
    await backend.start();
    const created = await backend.createInvoice({ amountMsat: 21_000n, description: "chips", expirySec: 120 });
    node.pay(created.paymentHash, 21_000n);
    const st = await backend.lookupInvoice(created.paymentHash);
    expect(st).toMatchObject({ state: "settled", amountMsat: 21_000n, amountPaidMsat: 21_000n, settledAt: 1_763_700_100_000 });
    expect(createHash("sha256").update(Buffer.from(st.preimage ?? "", "hex")).digest("hex")).toBe(created.paymentHash);
  });

  it("an unknown hash is invoice_not_found", async () => {
    await backend.start();
    await expect(backend.lookupInvoice("ab".repeat(32))).rejects.toMatchObject({ code: PaymentErrorCode.INVOICE_NOT_FOUND });
  });

  it("a wrong rune is unauthorized; an invoice-only rune is refused holdinvoice and gets plain invoices", async () => {
    const bad = new ClnBackend({ url: node.url, rune: "forged", clock });
    await expect(bad.start()).rejects.toMatchObject({ code: PaymentErrorCode.UNAUTHORIZED });
    await bad.stop();
    const limited = new ClnBackend({ url: node.url, rune: INVOICE_RUNE, clock });
    await limited.start();
    expect(limited.capabilities.holdInvoices).toBe(false);
    await expect(limited.createInvoice({ amountMsat: 1000n, description: "x", expirySec: 60 })).resolves.toMatchObject({ paymentHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await limited.stop();
  });

  it("a rune without `wait` falls back to polling alone (push off), not to an error loop", async () => {
    node.runes.set("no-wait", new Set(["getinfo", "invoice", "listinvoices", "holdinvoicelookup"]));
    const limited = new ClnBackend({ url: node.url, rune: "no-wait", clock });
    await limited.start();
    await clock.advance(0);
    await vi.waitFor(() => expect(limited.capabilities.push).toBe(false));
    await clock.advance(60_000);
    // One refused try per long-poll loop (invoices, htlcs), then no more.
    expect(node.calls("wait")).toMatchObject([{ subsystem: "invoices" }, { subsystem: "htlcs" }]);
    await limited.stop();
  });

  it("a node that does not answer times out with backend_timeout", async () => {
    await backend.start();
    node.http.faults.push("stall");
    const p = backend.lookupInvoice("ab".repeat(32));
    const assertion = expect(p).rejects.toMatchObject({ code: PaymentErrorCode.BACKEND_TIMEOUT });
    await vi.waitFor(() => expect(node.http.requests.at(-1)?.path).toBe("/v1/holdinvoicelookup"));
    await clock.advance(30_000);
    await assertion;
  });

  it("a 500 with an HTML body (a proxy in front) is a backend_error, not a crash", async () => {
    await backend.start();
    node.http.faults.push({ status: 502, text: "<html>Bad Gateway</html>" });
    await expect(backend.createInvoice({ amountMsat: 1000n, description: "x", expirySec: 60 })).rejects.toMatchObject({
      code: PaymentErrorCode.BACKEND_UNREACHABLE,
    });
  });

  describe("hold invoice expiry above the holdinvoice plugin's floor", () => {
    const order = () => ({ ...preimagePair(), amountMsat: 1_000n, description: "x", expirySec: 180 });

    it("reads the node's floor with listconfigs and asks for the order's window + settle window + floor", async () => {
      node.holdExpiryFloorSec = 3600;
      await backend.start();
      expect(node.calls("listconfigs")).toEqual([{ config: "holdinvoice-cancel-before-invoice-expiry" }]);
      await backend.createHoldInvoice(order());
      expect(node.calls("holdinvoice")).toMatchObject([{ expiry: 180 + 600 + 3600 }]);
    });

    it("with a rune that may not read configs, learns the floor from the plugin's refusal, once", async () => {
      node.holdExpiryFloorSec = 7200;
      node.runes.set("no-configs", new Set(["getinfo", "invoice", "listinvoices", "wait", "holdinvoice", "holdinvoicelookup", "holdinvoicesettle", "holdinvoicecancel"]));
      const limited = new ClnBackend({ url: node.url, rune: "no-configs", clock, holdSettleWindowSec: 300 });
      await limited.start();
      await limited.createHoldInvoice(order());
      // Refused at the default floor (1800), then accepted above the node's.
      expect(node.calls("holdinvoice")).toMatchObject([{ expiry: 180 + 300 + 1800 }, { expiry: 180 + 300 + 7200 }]);
      await limited.createHoldInvoice(order());
      expect(node.calls("holdinvoice")).toHaveLength(3);
      expect(node.calls("holdinvoice")[2]).toMatchObject({ expiry: 180 + 300 + 7200 });
      await limited.stop();
    });

    it("a configured floor is used as is; a refusal that is not about the floor is not retried", async () => {
      const fixed = new ClnBackend({ url: node.url, rune: RUNE, clock, holdExpiryFloorSec: 1800, defaultCltvExpiry: 6 });
      await fixed.start();
      expect(node.calls("listconfigs")).toHaveLength(0);
      // cltv 6 is not above the plugin's 6-block margin: refused, in-band.
      await expect(fixed.createHoldInvoice(order())).rejects.toMatchObject({ code: PaymentErrorCode.BACKEND_ERROR, message: expect.stringContaining("cltv: needs to be greater than '6'") });
      expect(node.calls("holdinvoice")).toHaveLength(1);
      await fixed.stop();
    });

    it("the invoice outlives the order: the BOLT 11 carries the long expiry, the plugin keeps holding until then", async () => {
      await backend.start();
      const req = order();
      const created = await backend.createHoldInvoice(req);
      const inv = node.invoices.get(req.paymentHash);
      expect(inv?.expiresAt).toBe(1_763_700_000 + 2580);
      expect(created.bolt11).toBe(inv?.bolt11);
      // After the order's 180 s the machine cancels (the controller's expiry does this); the plugin allows it.
      await backend.cancelInvoice(req.paymentHash);
      expect(inv?.hold).toBe("CANCELED");
    });
  });
});
