import { describe, expect, it } from "vitest";
import { decodeInvoice, encodeAmount, encodeInvoice, invoiceToJson, isInvoiceError, parseInvoice, publicKeyOf } from "./index.js";

// The BOLT 11 spec's example key: the invoices below are real, signed ones.
const PRIV = Uint8Array.from(Buffer.from("e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734", "hex"));
const PUB = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad";
const HASH = "0001020304050607080900010203040506070809000102030405060708090102";
const SECRET = "11".repeat(32);
const base = {
  network: "regtest" as const,
  amountMsat: 21_000n,
  timestampSec: 1_700_000_000,
  paymentHash: HASH,
  paymentSecret: SECRET,
  description: "Club-Mate 0.5 l",
  expirySec: 180,
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

describe("encodeInvoice", () => {
  it("writes the shortest amount the spec examples use", () => {
    expect(encodeAmount(250_000_000n)).toBe("2500u");
    expect(encodeAmount(2_000_000_000n)).toBe("20m");
    expect(encodeAmount(967_878_534n)).toBe("9678785340p");
    expect(encodeAmount(100_000_000_000n)).toBe("1");
    expect(encodeAmount(1n)).toBe("10p");
    expect(encodeAmount(21_000n)).toBe("210n");
  });

  it("signs an invoice that decodes to the same fields, signed by the key's node", () => {
    const bolt11 = encodeInvoice(base, PRIV);
    expect(bolt11.startsWith("lnbcrt210n1")).toBe(true);
    const inv = decodeInvoice(bolt11);
    expect(inv.payeeNodeKey).toBe(PUB);
    expect(inv.amountMsat).toBe(21_000n);
    expect(inv.paymentHash).toBe(HASH);
    expect(inv.paymentSecret).toBe(SECRET);
    expect(inv.description).toBe("Club-Mate 0.5 l");
    expect(inv.expirySec).toBe(180);
    expect(inv.expiresAtSec).toBe(1_700_000_180);
    expect(inv.features.bits).toEqual([8, 14]);
    expect(decodeInvoice(bolt11, { payeeNodeKey: PUB }).payeeNodeKeySource).toBe("expected");
  });

  it("is deterministic (RFC 6979): the same fields give the same invoice", () => {
    expect(encodeInvoice(base, PRIV)).toBe(encodeInvoice(base, PRIV));
  });

  it("writes every optional field so that a reader gets it back", () => {
    const bolt11 = encodeInvoice(
      {
        ...base,
        network: "bitcoin",
        amountMsat: null,
        description: undefined,
        descriptionHash: "3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1",
        minFinalCltvExpiryBlocks: 144,
        features: [9, 14, 17, 99],
        includePayeeNodeKey: true,
        paymentMetadata: "01fafaf0",
        fallbacks: [{ version: 0, program: "751e76e8199196d454941c45d1b3a323f1433bd6" }],
        routeHints: [
          [
            {
              pubkey: "029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
              shortChannelId: "66051x263430x1800",
              feeBaseMsat: 1,
              feeProportionalMillionths: 20,
              cltvExpiryDelta: 3,
            },
          ],
        ],
      },
      PRIV,
    );
    const inv = decodeInvoice(bolt11);
    expect(inv.payeeNodeKeySource).toBe("n_field");
    expect(inv.payeeNodeKey).toBe(PUB);
    const json = invoiceToJson(inv);
    expect(json.amountMsat).toBeNull();
    expect(json.descriptionHash).toBe("3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1");
    expect(json.minFinalCltvExpiry).toBe(144);
    expect(json.features.bits).toEqual([9, 14, 17, 99]);
    expect(json.paymentMetadata).toBe("01fafaf0");
    expect(json.fallbackAddresses[0]?.address).toBe("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
    expect(json.routeHints[0]?.[0]?.shortChannelIdHex).toBe("0102030405060708");
    expect(json.routeHints[0]?.[0]?.feeProportionalMillionths).toBe(20);
  });

  it("refuses malformed fields with bad_argument instead of signing them", () => {
    expect(codeOf(() => encodeInvoice({ ...base, paymentHash: "00" }, PRIV))).toBe("bad_argument");
    expect(codeOf(() => encodeInvoice({ ...base, amountMsat: 0n }, PRIV))).toBe("bad_argument");
    expect(codeOf(() => encodeInvoice({ ...base, descriptionHash: HASH }, PRIV))).toBe("bad_argument");
    expect(codeOf(() => encodeInvoice(base, new Uint8Array(32)))).toBe("bad_argument");
    expect(codeOf(() => encodeInvoice({ ...base, description: "x".repeat(700) }, PRIV))).toBe("bad_argument");
  });

  it("publicKeyOf gives the node key readers recover", () => {
    expect(publicKeyOf(PRIV)).toBe(PUB);
  });
});

describe("strict reader rules on freshly signed invoices", () => {
  const signed = (extra: { tag: string; data: string }[], fields: Partial<typeof base> & Record<string, unknown> = {}) =>
    encodeInvoice({ ...base, ...fields, extraFields: extra }, PRIV);
  const P = "qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypq"; // 52 words: HASH

  it("a second p, s, d, h (beside d), x or 9 field is refused as duplicate_field, even when validly signed", () => {
    expect(codeOf(() => decodeInvoice(signed([{ tag: "p", data: P }])))).toBe("duplicate_field");
    expect(codeOf(() => decodeInvoice(signed([{ tag: "s", data: P }])))).toBe("duplicate_field");
    expect(codeOf(() => decodeInvoice(signed([{ tag: "d", data: "vdhkven9v5sxyetpdees" }])))).toBe("duplicate_field");
    expect(codeOf(() => decodeInvoice(signed([{ tag: "h", data: P }])))).toBe("duplicate_field");
    expect(codeOf(() => decodeInvoice(signed([{ tag: "x", data: "qq" }])))).toBe("duplicate_field");
    expect(codeOf(() => decodeInvoice(signed([{ tag: "9", data: "sgq" }])))).toBe("duplicate_field");
    const n = encodeInvoice({ ...base, includePayeeNodeKey: true }, PRIV);
    expect(decodeInvoice(n).payeeNodeKeySource).toBe("n_field");
  });

  it("a p or n of the wrong length is bad_fixed_length", () => {
    expect(codeOf(() => decodeInvoice(signed([{ tag: "p", data: P.slice(1) }])))).toBe("bad_fixed_length");
    expect(codeOf(() => decodeInvoice(signed([{ tag: "n", data: P }])))).toBe("bad_fixed_length");
  });

  it("an unknown odd feature is fine, an unknown even one is unknown_required_feature", () => {
    expect(decodeInvoice(signed([], { features: [8, 14, 101] } as never)).features.bits).toEqual([8, 14, 101]);
    expect(codeOf(() => decodeInvoice(signed([], { features: [8, 14, 100] } as never)))).toBe("unknown_required_feature");
  });

  it("unknown fields are kept, not dropped", () => {
    const inv = decodeInvoice(signed([{ tag: "2", data: "qqq" }]));
    expect(inv.unknownFields).toEqual([{ tag: "2", data: "qqq" }]);
  });

  it("an n field naming another node than the one that signed fails bad_signature", () => {
    const otherKey = "029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255";
    const nWords = Buffer.from(otherKey, "hex");
    const words: string[] = [];
    let acc = 0;
    let bits = 0;
    for (const b of nWords) {
      acc = (acc << 8) | b;
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        words.push("qpzry9x8gf2tvdw0s3jn54khce6mua7l"[(acc >> bits) & 31]!);
      }
    }
    words.push("qpzry9x8gf2tvdw0s3jn54khce6mua7l"[(acc << (5 - bits)) & 31]!);
    const bolt11 = signed([{ tag: "n", data: words.join("") }]);
    expect(parseInvoice(bolt11).payeeNodeKey).toBe(otherKey);
    expect(codeOf(() => decodeInvoice(bolt11))).toBe("bad_signature");
    expect(codeOf(() => decodeInvoice(bolt11, { payeeNodeKey: PUB }))).toBe("wrong_payee");
  });
});
