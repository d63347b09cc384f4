import { describe, expect, it } from "vitest";
import { decodeInvoice, encodeInvoice, isInvoiceError, verifyInvoice, verifyPreimage, type InvoicePolicy } from "./index.js";
import { createHash } from "node:crypto";

const NODE_PRIV = Uint8Array.from(Buffer.from("e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734", "hex"));
const NODE_KEY = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad";
const ROGUE_PRIV = Uint8Array.from(Buffer.from("11".repeat(32), "hex"));
const PREIMAGE = "a1".repeat(32);
const HASH = createHash("sha256").update(Buffer.from(PREIMAGE, "hex")).digest("hex");
const NOW_MS = 1_750_000_000_000;

const fields = {
  network: "regtest" as const,
  amountMsat: 150_000n,
  timestampSec: NOW_MS / 1000,
  paymentHash: HASH,
  paymentSecret: "22".repeat(32),
  description: "A1 Club-Mate",
  expirySec: 180,
};
const policy: InvoicePolicy = {
  payeeNodeKey: NODE_KEY,
  network: "regtest",
  amountMsat: 150_000n,
  paymentHash: HASH,
  description: "A1 Club-Mate",
  nowMs: NOW_MS,
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isInvoiceError(err)) return err.code;
    throw err;
  }
  return "accepted";
}

describe("verifyInvoice: the machine trusts only the invoice it asked for", () => {
  const good = encodeInvoice(fields, NODE_PRIV);

  it("accepts the invoice the configured node made for this order", () => {
    const inv = verifyInvoice(good, policy);
    expect(inv.amountMsat).toBe(150_000n);
    expect(inv.payeeNodeKey).toBe(NODE_KEY);
    expect(verifyInvoice(decodeInvoice(good), policy).paymentHash).toBe(HASH);
  });

  it("refuses an invoice signed by another node", () => {
    expect(codeOf(() => verifyInvoice(encodeInvoice(fields, ROGUE_PRIV), policy))).toBe("wrong_payee");
    expect(codeOf(() => verifyInvoice(decodeInvoice(encodeInvoice(fields, ROGUE_PRIV)), policy))).toBe("wrong_payee");
  });

  it("refuses another amount, or no amount at all", () => {
    expect(codeOf(() => verifyInvoice(encodeInvoice({ ...fields, amountMsat: 150_001n }, NODE_PRIV), policy))).toBe("wrong_amount");
    expect(codeOf(() => verifyInvoice(encodeInvoice({ ...fields, amountMsat: null }, NODE_PRIV), policy))).toBe("wrong_amount");
  });

  it("refuses another payment hash (the machine keeps the preimage of its own)", () => {
    expect(codeOf(() => verifyInvoice(encodeInvoice({ ...fields, paymentHash: "00".repeat(32) }, NODE_PRIV), policy))).toBe(
      "wrong_payment_hash",
    );
  });

  it("refuses another network and another description; accepts the description's hash", () => {
    expect(codeOf(() => verifyInvoice(encodeInvoice({ ...fields, network: "bitcoin" }, NODE_PRIV), policy))).toBe("wrong_network");
    expect(codeOf(() => verifyInvoice(encodeInvoice({ ...fields, description: "A2" }, NODE_PRIV), policy))).toBe("wrong_description");
    const hashed = encodeInvoice(
      { ...fields, description: undefined, descriptionHash: createHash("sha256").update("A1 Club-Mate").digest("hex") },
      NODE_PRIV,
    );
    expect(verifyInvoice(hashed, policy).descriptionHash).not.toBeNull();
  });

  it("refuses an expired invoice and one too short-lived to pay and vend", () => {
    expect(codeOf(() => verifyInvoice(good, { ...policy, nowMs: NOW_MS + 181_000 }))).toBe("expired");
    expect(codeOf(() => verifyInvoice(good, { ...policy, nowMs: NOW_MS + 150_000 }))).toBe("expiry_too_short");
    expect(codeOf(() => verifyInvoice(good, { ...policy, minRemainingSec: 200 }))).toBe("expiry_too_short");
    expect(codeOf(() => verifyInvoice(good, { ...policy, nowMs: NOW_MS - 3_600_000 }))).toBe("timestamp_in_future");
  });
});

describe("verifyPreimage", () => {
  it("is true only for the preimage of the payment hash", () => {
    expect(verifyPreimage(HASH, PREIMAGE)).toBe(true);
    expect(verifyPreimage(HASH.toUpperCase(), Buffer.from(PREIMAGE, "hex"))).toBe(true);
    expect(verifyPreimage(HASH, "a2".repeat(32))).toBe(false);
    expect(verifyPreimage(HASH, "a1")).toBe(false);
    expect(verifyPreimage("zz", PREIMAGE)).toBe(false);
    expect(verifyPreimage(HASH, new Uint8Array(31))).toBe(false);
  });
});
