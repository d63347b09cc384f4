import { bech32 } from "@scure/base";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { BECH32_CHARSET } from "./bech32.js";
import { decodeInvoice, encodeInvoice, InvoiceError, parseInvoice, publicKeyOf, type InvoiceFields } from "./index.js";

// Fixed seeds: a failure reproduces on every machine, and CI time stays bounded.
const SEED = 0x5eed_b011;
// Real signing and recovery in every run: on a busy CI machine a property can take seconds, which is no failure.
vi.setConfig({ testTimeout: 60_000 });

const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString("hex"));
const privateKey = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((b) => b.some((x) => x !== 0) && b[0]! < 0xff); // below the curve order, never zero
const network = fc.constantFrom("bitcoin", "testnet", "signet", "regtest", "simnet" as const);
const amount = fc.option(fc.bigInt({ min: 1n, max: 2_100_000_000_000_000_000n }), { nil: null });
// Descriptions of any Unicode, bounded to what one field holds (639 bytes of UTF-8).
const description = fc.string({ unit: "grapheme", maxLength: 120 }).filter((s) => Buffer.byteLength(s) <= 639);
const hop = fc.record({
  pubkey: fc.tuple(fc.constantFrom("02", "03"), hex(32)).map(([p, k]) => p + k),
  shortChannelId: hex(8),
  feeBaseMsat: fc.integer({ min: 0, max: 0xffffffff }),
  feeProportionalMillionths: fc.integer({ min: 0, max: 0xffffffff }),
  cltvExpiryDelta: fc.integer({ min: 0, max: 0xffff }),
});
const fallback = fc.oneof(
  fc.record({ version: fc.constantFrom(17, 18), program: hex(20) }),
  fc.record({ version: fc.constant(0), program: fc.oneof(hex(20), hex(32)) }),
  fc.record({ version: fc.integer({ min: 1, max: 16 }), program: fc.integer({ min: 2, max: 40 }).chain((n) => hex(n)) }),
);
// Known bits (either parity) and unknown odd bits: everything a reader must accept.
const features = fc.uniqueArray(fc.oneof(fc.constantFrom(8, 9, 14, 15, 16, 17, 24, 25, 48, 49), fc.integer({ min: 0, max: 300 }).map((n) => n * 2 + 1)), {
  maxLength: 6,
});

const invoiceFields = fc
  .record({
    network,
    amountMsat: amount,
    timestampSec: fc.integer({ min: 0, max: 2 ** 35 - 1 }),
    paymentHash: hex(32),
    paymentSecret: hex(32),
    desc: fc.oneof(description.map((d) => ({ description: d })), hex(32).map((h) => ({ descriptionHash: h }))),
    expirySec: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
    minFinalCltvExpiryBlocks: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
    features,
    routeHints: fc.array(fc.array(hop, { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
    fallbacks: fc.array(fallback, { maxLength: 2 }),
    paymentMetadata: fc.option(fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString("hex")), { nil: undefined }),
    includePayeeNodeKey: fc.boolean(),
  })
  .map(({ desc, ...rest }): InvoiceFields => ({ ...rest, ...desc }));

describe("encode -> decode round-trips random invoices", () => {
  it("every field comes back, and the payee is the signing node (recovered, verified or from n)", () => {
    fc.assert(
      fc.property(invoiceFields, privateKey, (fields, priv) => {
        const bolt11 = encodeInvoice(fields, priv);
        const key = publicKeyOf(priv);
        const inv = decodeInvoice(bolt11);
        expect(inv.payeeNodeKey).toBe(key);
        expect(inv.payeeNodeKeySource).toBe(fields.includePayeeNodeKey ? "n_field" : "recovered");
        expect(inv.network).toBe(fields.network);
        expect(inv.amountMsat).toBe(fields.amountMsat);
        expect(inv.timestampSec).toBe(fields.timestampSec);
        expect(inv.paymentHash).toBe(fields.paymentHash);
        expect(inv.paymentSecret).toBe(fields.paymentSecret);
        expect(inv.description).toBe(fields.description ?? null);
        expect(inv.descriptionHash).toBe(fields.descriptionHash ?? null);
        expect(inv.expirySec).toBe(fields.expirySec ?? 3600);
        expect(inv.minFinalCltvExpiryBlocks).toBe(fields.minFinalCltvExpiryBlocks ?? 18);
        expect(inv.features.bits).toEqual([...(fields.features ?? [])].sort((a, b) => a - b));
        expect(inv.routeHints).toEqual(
          (fields.routeHints ?? []).map((h) => h.map((x) => expect.objectContaining({ ...x, shortChannelIdHex: x.shortChannelId, shortChannelId: expect.any(String) }))),
        );
        expect(inv.fallbackAddresses.map((f) => ({ version: f.version, program: f.program }))).toEqual(fields.fallbacks);
        expect(inv.paymentMetadata).toBe(fields.paymentMetadata ?? null);
        expect(inv.unknownFields).toEqual([]);
        // The fast path (verify against the known key) agrees with recovery on every field.
        expect({ ...decodeInvoice(bolt11, { payeeNodeKey: key }), payeeNodeKeySource: inv.payeeNodeKeySource }).toEqual(inv);
        expect(decodeInvoice(bolt11.toUpperCase())).toEqual(inv);
      }),
      { numRuns: 60, seed: SEED },
    );
  });
});

/** Valid invoices to mutate: random ones, signed by random nodes. */
const signedInvoice = fc.tuple(invoiceFields, privateKey).map(([f, k]) => ({ bolt11: encodeInvoice(f, k), key: publicKeyOf(k) }));

function refusedWithCode(bolt11: string, key?: string): void {
  let err: unknown;
  try {
    decodeInvoice(bolt11, key === undefined ? {} : { payeeNodeKey: key });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvoiceError);
}

describe("a changed invoice is refused, never read with other fields", () => {
  it("any single-character substitution fails (checksum, or signature)", () => {
    fc.assert(
      fc.property(signedInvoice, fc.nat(), fc.integer({ min: 1, max: 31 }), ({ bolt11, key }, at, shift) => {
        const i = at % bolt11.length;
        const c = bolt11[i]!;
        // Substitute within the same class of character the position holds, so the change is a plausible typo.
        const alphabet = /[0-9]/.test(c) && i < bolt11.lastIndexOf("1") ? "0123456789" : BECH32_CHARSET;
        const j = alphabet.indexOf(c);
        const replacement = j === -1 ? "q" : alphabet[(j + (shift % (alphabet.length - 1)) + 1) % alphabet.length]!;
        const mutated = bolt11.slice(0, i) + replacement + bolt11.slice(i + 1);
        fc.pre(mutated !== bolt11);
        refusedWithCode(mutated);
        refusedWithCode(mutated, key);
      }),
      { numRuns: 150, seed: SEED },
    );
  });

  it("any single-character deletion or insertion fails", () => {
    fc.assert(
      fc.property(signedInvoice, fc.nat(), fc.constantFrom(...BECH32_CHARSET), fc.boolean(), ({ bolt11, key }, at, ch, insert) => {
        const i = at % bolt11.length;
        const mutated = insert ? bolt11.slice(0, i) + ch + bolt11.slice(i) : bolt11.slice(0, i) + bolt11.slice(i + 1);
        refusedWithCode(mutated);
        refusedWithCode(mutated, key);
      }),
      { numRuns: 100, seed: SEED },
    );
  });

  it("bech32's blind spot (q inserted or deleted before a final p keeps the checksum) is caught by the signature", () => {
    const priv = Uint8Array.from(Buffer.from("e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734", "hex"));
    let bolt11 = "";
    for (let t = 1_700_000_000; !bolt11.endsWith("qp"); t++) {
      bolt11 = encodeInvoice({ network: "bitcoin", amountMsat: 1000n, timestampSec: t, paymentHash: "01".repeat(32), paymentSecret: "02".repeat(32), description: "x" }, priv);
    }
    const inserted = bolt11.slice(0, -1) + "qp";
    const deleted = bolt11.slice(0, -2) + "p";
    // The checksum alone would not notice: this is what makes the test meaningful.
    expect(bech32.decodeUnsafe(inserted, false)).toBeDefined();
    expect(bech32.decodeUnsafe(deleted, false)).toBeDefined();
    refusedWithCode(inserted);
    refusedWithCode(deleted);
    refusedWithCode(inserted, publicKeyOf(priv));
  });
});

describe("bad input of any kind yields a coded error, never a crash or a hang", () => {
  /** Decodes; an error must be an InvoiceError. Returns its code, or "accepted". */
  const mustBeCoded = (input: string, payeeNodeKey?: string): string => {
    try {
      decodeInvoice(input, payeeNodeKey === undefined ? {} : { payeeNodeKey });
      return "accepted";
    } catch (e) {
      if (!(e instanceof InvoiceError)) throw e;
      expect(e.code).toMatch(/^[a-z_]+$/);
      return e.code;
    }
  };

  it("arbitrary strings: empty, non-ASCII, mixed case, control characters", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ maxLength: 300 }).map((s) => "ln" + s), fc.string({ unit: fc.constantFrom(..."lnbc1qpzry9x8gf2tvdw0s3jn54khce6mua7LNBCQP"), maxLength: 400 })), (s) => {
        mustBeCoded(s);
      }),
      { numRuns: 600, seed: SEED },
    );
    for (const s of ["", "1", "ln1", "lnbc1", "LNBC1", "lnbc", "\u0000", "lnbc\u00e91qqqqqq", "ln" + "1".repeat(500)]) mustBeCoded(s);
  });

  it("a 10 MB string is refused at once as too_long", () => {
    const huge = "lnbc1" + "q".repeat(10 * 1024 * 1024);
    expect(() => decodeInvoice(huge)).toThrowError(expect.objectContaining({ code: "too_long" }));
  });

  it("random data with a valid checksum exercises every field parser without a crash", () => {
    const hrp = fc.constantFrom("lnbc", "lntb", "lntbs", "lnbcrt", "lnsb", "lnbc2500u", "lnbc10p", "lnbc1m", "lnxy", "lnbc01m");
    // Random tagged fields of the known types with random lengths, then a random signature: the shape of an invoice.
    const field = fc.tuple(fc.constantFrom(1, 3, 5, 6, 9, 13, 16, 19, 23, 24, 27, 0, 2, 31), fc.integer({ min: 0, max: 120 })).chain(([tag, len]) =>
      fc.array(fc.integer({ min: 0, max: 31 }), { minLength: len, maxLength: len }).map((data) => [tag, len >> 5, len & 31, ...data]),
    );
    const words = fc.tuple(fc.array(fc.integer({ min: 0, max: 31 }), { minLength: 7, maxLength: 7 }), fc.array(field, { maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 31 }), { minLength: 104, maxLength: 104 }))
      .map(([ts, fields, sig]) => [...ts, ...fields.flat(), ...sig]);
    const seen = new Set<string>();
    fc.assert(
      fc.property(hrp, words, fc.boolean(), (h, w, withKey) => {
        const s = bech32.encode(h, w, false);
        try {
          parseInvoice(s);
        } catch (e) {
          if (!(e instanceof InvoiceError)) throw e;
        }
        seen.add(mustBeCoded(s, withKey ? "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad" : undefined));
      }),
      { numRuns: 800, seed: SEED },
    );
    // The generator is only worth its runs if it reaches deep into the reader: field lengths, duplicates, missing
    // fields, features and the signature itself.
    for (const code of ["bad_fixed_length", "duplicate_field", "missing_field", "bad_amount", "unknown_network", "bad_field"]) {
      expect(seen).toContain(code);
    }
  });

  it("valid invoices with several random mutations are refused with a code", () => {
    fc.assert(
      fc.property(signedInvoice, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...BECH32_CHARSET, "1", "Q", "é")), { minLength: 2, maxLength: 6 }), ({ bolt11 }, edits) => {
        let s = bolt11;
        for (const [at, ch] of edits) {
          const i = at % s.length;
          s = s.slice(0, i) + ch + s.slice(i + 1);
        }
        fc.pre(s !== bolt11);
        mustBeCoded(s);
      }),
      { numRuns: 150, seed: SEED },
    );
  });
});
