// Fuzz target of the BOLT 11 decoder (`@zapvend/payments`), the one decoder of outside input that is not a JSON
// schema. Mutations work on the 5-bit words and the prefix and then re-checksum (and often re-sign with the spec's
// test key), so they reach the field parser and the signature check instead of stopping at the bech32 checksum;
// some mutants keep a broken checksum or case. Every call must return, or throw an `InvoiceError` with a known code.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bech32 } from "@scure/base";
import fc from "fast-check";
import { decodeInvoice, invoiceToJson, InvoiceError, InvoiceErrorCode, parseInvoice, verifyInvoice } from "@zapvend/payments";
import { describe, expect, it } from "vitest";
import { bounded, runTarget, TARGET_TIMEOUT_MS } from "./fuzz-kit.js";

const fixtures = JSON.parse(readFileSync(new URL("../../packages/payments/src/bolt11/__fixtures__/bolt11.json", import.meta.url), "utf8")) as {
  conventions: { signer_priv_key: string; signer_pubkey: string };
  vectors: Array<{ valid: boolean; invoice: string }>;
};
const SIGNER = fixtures.conventions.signer_pubkey;
const PRIV = Buffer.from(fixtures.conventions.signer_priv_key, "hex");
const CODES: ReadonlySet<string> = new Set(Object.values(InvoiceErrorCode));
const LIMIT = 100_000;
/** The refusal codes the run reached: the mutants must get past the checksum into the fields and the signature. */
const reached = new Set<string>();

/** Seeds: every spec vector (valid and invalid) as prefix + words, when it is bech32 at all. */
const seeds = fixtures.vectors.flatMap((v) => {
  try {
    const d = bech32.decode(v.invoice as `${string}1${string}`, LIMIT);
    return [{ prefix: d.prefix, words: Array.from(d.words) }];
  } catch {
    return [];
  }
});

type WordEdit =
  | { op: "set"; at: number; word: number }
  | { op: "insertField"; at: number; tag: number; len: number; fill: number[] }
  | { op: "delete"; at: number; len: number }
  | { op: "duplicate"; at: number; len: number }
  | { op: "truncate"; at: number }
  | { op: "setLength"; at: number; hi: number; lo: number };

const word = fc.integer({ min: 0, max: 31 });
const wordEdit: fc.Arbitrary<WordEdit> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), word }),
  fc.record({
    op: fc.constant("insertField" as const),
    at: fc.nat(),
    // p, r, 9, x, f, d, s, n, h, c, m and unknown tags; lengths around the fixed ones and up to the 10-bit maximum.
    tag: fc.oneof(fc.constantFrom(1, 3, 5, 6, 9, 13, 16, 19, 23, 24, 27), word),
    len: fc.oneof(fc.constantFrom(0, 1, 51, 52, 53, 82, 1023), fc.integer({ min: 0, max: 120 })),
    fill: fc.array(word, { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 120 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("setLength" as const), at: fc.nat(), hi: word, lo: word }),
);

function applyWordEdits(words: number[], edits: readonly WordEdit[]): number[] {
  let w = [...words];
  for (const e of edits) {
    const at = w.length === 0 ? 0 : e.at % (w.length + 1);
    switch (e.op) {
      case "set":
        if (w.length > 0) w[at % w.length] = e.word;
        break;
      case "insertField": {
        const data = Array.from({ length: e.len }, (_, i) => e.fill[i % e.fill.length]!);
        w.splice(at, 0, e.tag, e.len >> 5, e.len & 31, ...data);
        break;
      }
      case "delete":
        w.splice(at, e.len);
        break;
      case "duplicate":
        w.splice(at, 0, ...w.slice(at, at + e.len));
        break;
      case "truncate":
        w = w.slice(0, at);
        break;
      case "setLength":
        // Rewrites two words as a data_length, wherever they are: fields that claim more or less than they hold.
        if (w.length > 1) {
          w[at % (w.length - 1)] = e.hi;
          w[(at % (w.length - 1)) + 1] = e.lo;
        }
        break;
    }
  }
  return w;
}

const prefixEdit = fc.oneof(
  fc.constant(null),
  fc.constantFrom("lnbc", "lntb", "lntbs", "lnbcrt", "lnsb", "ln", "lnxx", "bc", "lnbc0", "lnbc1p", "lnbc10p", "lnbc2500x"),
  fc
    .tuple(fc.constantFrom("lnbc", "lntb", "lnbcrt"), fc.stringMatching(/^[0-9]{0,30}$/), fc.constantFrom("", "m", "u", "n", "p", "x"))
    .map(([p, d, m]) => p + d + m),
);

/** Packs words to bytes, zero-padded (BOLT 11's signing data). */
function pack(words: readonly number[]): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const w of words) {
    acc = ((acc << 5) | w) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
  }
  if (bits > 0) out.push((acc << (8 - bits)) & 0xff);
  return out;
}

/** The words with a fresh signature by the spec's key over (prefix, data words): the mutant passes the signature check. */
function resign(prefix: string, words: number[]): number[] {
  const data = words.slice(0, Math.max(0, words.length - 104));
  const hash = createHash("sha256").update(Buffer.from([...Buffer.from(prefix, "latin1"), ...pack(data)])).digest();
  const sig = secp256k1.sign(hash, PRIV, { prehash: false, format: "recovered", lowS: true });
  return [...data, ...bech32.toWords(Uint8Array.from([...sig.subarray(1), sig[0]!]))];
}

const invoiceArb = fc
  .record({
    seed: fc.constantFrom(...seeds),
    prefix: prefixEdit,
    edits: fc.array(wordEdit, { minLength: 0, maxLength: 4 }),
    finish: fc.constantFrom("resign", "resign", "checksum", "raw-char", "upper", "mixed"),
    at: fc.nat(),
    ch: fc.constantFrom("q", "p", "1", "b", "i", "O", " ", "é", "\u0000"),
  })
  .map(({ seed, prefix, edits, finish, at, ch }) => {
    const pre = prefix ?? seed.prefix;
    let words = applyWordEdits(seed.words, edits);
    if (finish === "resign" && words.length >= 104) words = resign(pre, words);
    let s: string;
    try {
      s = bech32.encode(pre, words, false);
    } catch {
      s = `${pre}1${words.map((x) => "qpzry9x8gf2tvdw0s3jn54khce6mua7l"[x]).join("")}qqqqqq`;
    }
    const i = s.length === 0 ? 0 : at % s.length;
    if (finish === "raw-char") s = s.slice(0, i) + ch + s.slice(i + 1);
    if (finish === "upper") s = s.toUpperCase();
    if (finish === "mixed") s = s.slice(0, i) + s.slice(i).toUpperCase();
    return s;
  });

/** Calls `fn`: returns its value, or undefined when it threw an InvoiceError with a known code; anything else fails. */
function codedCall<T>(what: string, fn: () => T): T | undefined {
  try {
    return bounded(what, fn);
  } catch (err) {
    if (!(err instanceof InvoiceError)) throw new Error(`${what} threw ${String((err as Error)?.stack ?? err)}`);
    if (!CODES.has(err.code)) throw new Error(`${what} threw an InvoiceError with an unknown code ${String(err.code)}`);
    reached.add(err.code);
    if (err.message.length === 0) throw new Error(`${what} refused (${err.code}) without a message`);
    return undefined;
  }
}

describe("fuzz: BOLT 11 decoder", () => {
  it("mutated spec vectors: decode, decode against the known key, parse, policy", { timeout: TARGET_TIMEOUT_MS }, () => {
    expect(seeds.length).toBeGreaterThan(20);
    let decoded = 0;
    const stats = runTarget("bolt11", invoiceArb, (invoice) => {
      const withKey = codedCall("decodeInvoice(payeeNodeKey)", () => decodeInvoice(invoice, { payeeNodeKey: SIGNER }));
      const recovered = codedCall("decodeInvoice", () => decodeInvoice(invoice));
      const parsed = codedCall("parseInvoice", () => parseInvoice(invoice));
      codedCall("verifyInvoice", () =>
        verifyInvoice(invoice, { payeeNodeKey: SIGNER, network: "bitcoin", amountMsat: 1000n, nowMs: 1_500_000_000_000 }),
      );
      // A decoded invoice is well-formed, and the two signature paths agree on who signed it.
      for (const inv of [withKey, recovered]) {
        if (inv === undefined) continue;
        decoded++;
        expect(inv.paymentHash).toMatch(/^[0-9a-f]{64}$/);
        expect(inv.payeeNodeKey).toMatch(/^0[23][0-9a-f]{64}$/);
        expect(inv.amountMsat === null || (typeof inv.amountMsat === "bigint" && inv.amountMsat > 0n)).toBe(true);
        expect(() => JSON.stringify(invoiceToJson(inv))).not.toThrow();
      }
      if (withKey !== undefined) expect(withKey.payeeNodeKey).toBe(SIGNER);
      if (recovered !== undefined && recovered.payeeNodeKey === SIGNER) expect(withKey).toBeDefined();
      if (withKey !== undefined || recovered !== undefined) expect(parsed).toBeDefined();
    }, () => ({ decoded, codes: [...reached].sort() }));
    expect(decoded).toBeGreaterThan(0); // the mutator reaches accepted invoices, not only refusals
    // With a few hundred runs (a second) the mutants reach ~20 codes; these show they get past checksum and fields.
    if (stats.runs >= 500) {
      for (const code of ["bad_checksum", "bad_signature", "bad_fixed_length", "duplicate_field", "bad_field", "bad_amount", "missing_field", "wrong_payee"]) {
        expect([...reached], `codes reached: ${[...reached].join(" ")}`).toContain(code);
      }
    }
  });
});
