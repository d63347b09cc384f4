import { bech32 } from "@scure/base";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BECH32_CHARSET, decodeBech32, decodeStrict, withSignedData, wordsToBytes, wordsToHex } from "./bech32.js";
import { InvoiceError } from "./errors.js";
import fixtures from "./__fixtures__/bolt11.json" with { type: "json" };

const SEED = 0xb3c4_2019;
const valid = (fixtures as { vectors: { valid: boolean; invoice: string }[] }).vectors.filter((v) => v.valid).map((v) => v.invoice);

/** The outcome of a decoder as comparable data: the decoded parts, or the error's code, message and context. */
function outcome(decode: () => { hrp: string; words: Uint8Array }): unknown {
  try {
    const { hrp, words } = decode();
    return { hrp, words: Array.from(words) };
  } catch (err) {
    if (!(err instanceof InvoiceError)) throw err;
    return { code: err.code, message: err.message, context: err.context };
  }
}

// Edits that reach every branch of the fast path: case flips, characters outside the alphabet and outside ASCII,
// separators, removals and truncation.
const edit = fc.oneof(
  fc.record({ kind: fc.constant("flipCase" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), ch: fc.constantFrom("1", "b", "B", "o", " ", "\u00e9", "\u{1f600}", "\u007f", "i", "Q") }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), ch: fc.constantFrom(...BECH32_CHARSET, "1", "O", "\t") }),
  fc.record({ kind: fc.constant("remove" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

function apply(s: string, edits: readonly { kind: string; at: number; ch?: string }[]): string {
  let out = s;
  for (const e of edits) {
    const at = out.length === 0 ? 0 : e.at % out.length;
    const c = out[at] ?? "";
    if (e.kind === "flipCase") out = out.slice(0, at) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + out.slice(at + 1);
    else if (e.kind === "insert") out = out.slice(0, at) + e.ch + out.slice(at);
    else if (e.kind === "replace") out = out.slice(0, at) + e.ch + out.slice(at + 1);
    else if (e.kind === "remove") out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at);
  }
  return out;
}

describe("the one-pass bech32 decoder", () => {
  it("decodes every valid vector as the strict decoder does, upper case included", () => {
    for (const inv of valid) {
      for (const s of [inv, inv.toUpperCase()]) {
        expect(outcome(() => decodeBech32(s, 10_000))).toEqual(outcome(() => decodeStrict(s, 10_000)));
      }
      expect(decodeBech32(inv, 10_000).words.length).toBeGreaterThan(104);
    }
  });

  it("gives every edited string the same answer (code, message, context) as the strict decoder", () => {
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.array(edit, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 700 }), (inv, edits, maxLength) => {
        const s = apply(inv, edits);
        const limit = maxLength < 8 ? maxLength : 10_000;
        expect(outcome(() => decodeBech32(s, limit))).toEqual(outcome(() => decodeStrict(s, limit)));
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it("agrees with @scure/base on random data of any length", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,10}$/), fc.array(fc.integer({ min: 0, max: 31 }), { maxLength: 900 }), (prefix, words) => {
        const s = bech32.encode(prefix, words, false);
        const got = decodeBech32(s, 10_000);
        expect(got.hrp).toBe(prefix);
        expect(Array.from(got.words)).toEqual(words);
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});

describe("packing into the scratch buffer", () => {
  it("wordsToHex is the hex of wordsToBytes, for any span, however long", () => {
    fc.assert(
      fc.property(fc.uint8Array({ max: 31, maxLength: 4000 }), fc.nat(), fc.nat(), (words, a, b) => {
        const start = words.length === 0 ? 0 : a % words.length;
        const count = (words.length - start === 0 ? 0 : b % (words.length - start + 1));
        expect(wordsToHex(words, start, count)).toBe(Buffer.from(wordsToBytes(words, start, count, false)).toString("hex"));
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it("withSignedData hands over hrp bytes then the padded words, and the next call does not see stale bytes", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^ln[a-z0-9]{0,20}$/), fc.uint8Array({ max: 31, maxLength: 6000 }), (hrp, words) => {
        const want = Buffer.concat([Buffer.from(hrp, "latin1"), wordsToBytes(words, 0, words.length, true)]);
        const got = withSignedData(hrp, words, words.length, (data) => Buffer.from(data));
        expect(got.equals(want)).toBe(true);
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});
