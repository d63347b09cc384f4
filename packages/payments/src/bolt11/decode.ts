import { MAX_MSAT, type Network } from "@zapvend/protocol";
import { BECH32_CHARSET, decodeBech32, withSignedData, wordsToBytes, wordsToHex } from "./bech32.js";
import { isHighS, isValidPublicKey, isWellFormedSignature, sha256, signatureEngine, toHex } from "./crypto.js";
import { InvoiceError, InvoiceErrorCode } from "./errors.js";
import { fallbackAddress, fallbackLengthValid, NETWORK_OF_PREFIX, type FallbackAddress } from "./networks.js";

/** Largest invoice accepted by default, in characters: the most a QR code holds, as `Bolt11String` allows. */
export const DEFAULT_MAX_INVOICE_LENGTH = 7089;
/** Expiry when the invoice has no `x` field, in seconds (BOLT 11). */
export const DEFAULT_EXPIRY_SEC = 3600;
/** min_final_cltv_expiry_delta when the invoice has no `c` field, in blocks (BOLT 11). */
export const DEFAULT_MIN_FINAL_CLTV_EXPIRY_BLOCKS = 18;

/**
 * Feature bits this decoder knows in an invoice (BOLT 9, context `9`): var_onion_optin 8/9, payment_secret 14/15,
 * basic_mpp 16/17, option_route_blinding 24/25, option_payment_metadata 48/49. An even (required) bit outside this
 * list makes the invoice unpayable by the spec's reader rule.
 */
export const KNOWN_FEATURE_BITS: ReadonlySet<number> = new Set([8, 9, 14, 15, 16, 17, 24, 25, 48, 49]);

/** Tagged field types, as their 5-bit value (the bech32 character in the comment). */
const TAG = {
  PAYMENT_HASH: 1, // p
  ROUTE_HINT: 3, // r
  FEATURES: 5, // 9
  EXPIRY: 6, // x
  FALLBACK: 9, // f
  DESCRIPTION: 13, // d
  PAYMENT_SECRET: 16, // s
  PAYEE: 19, // n
  DESCRIPTION_HASH: 23, // h
  MIN_FINAL_CLTV: 24, // c
  METADATA: 27, // m
} as const;

/** Bytes in one route hint hop: pubkey 33, short_channel_id 8, fee_base_msat 4, fee_proportional_millionths 4, cltv_expiry_delta 2. */
const HOP_BYTES = 51;
const TIMESTAMP_WORDS = 7;
/** 65 bytes (r, s, recovery id) = 520 bits = 104 words. */
const SIGNATURE_WORDS = 104;

/** One hop of a private route to the payee (`r` field). */
export interface RouteHop {
  readonly pubkey: string;
  /** As `block x tx x output`, e.g. "66051x263430x1800". */
  readonly shortChannelId: string;
  readonly shortChannelIdHex: string;
  readonly feeBaseMsat: number;
  readonly feeProportionalMillionths: number;
  readonly cltvExpiryDelta: number;
}

export interface InvoiceFeatures {
  /** Set bit numbers, ascending (bit 0 is the least significant). */
  readonly bits: readonly number[];
  /** The raw `9` field as bech32 characters ("" when absent). */
  readonly words: string;
}

/** A field this decoder does not interpret, kept as it was (its tag character and data as bech32 characters). */
export interface UnknownField {
  readonly tag: string;
  readonly data: string;
}

/** Where the payee's key came from. */
export const PayeeKeySource = {
  /** The `n` field, checked against the signature. */
  N_FIELD: "n_field",
  /** Recovered from the signature. */
  RECOVERED: "recovered",
  /** The key the caller expected, which the signature verified against. */
  EXPECTED: "expected",
  /** Not checked: `parseInvoice` only. */
  UNCHECKED: "unchecked",
} as const;
export type PayeeKeySource = (typeof PayeeKeySource)[keyof typeof PayeeKeySource];

/** An invoice as read, before (or without) checking its signature. */
export interface ParsedInvoice {
  /** The invoice in lower case. */
  readonly bolt11: string;
  readonly hrp: string;
  readonly network: Network;
  /** null when the invoice lets the payer choose the amount. */
  readonly amountMsat: bigint | null;
  /** Seconds since the Unix epoch at which the node made the invoice. */
  readonly timestampSec: number;
  readonly paymentHash: string;
  readonly paymentSecret: string;
  readonly description: string | null;
  readonly descriptionHash: string | null;
  readonly expirySec: number;
  /** timestampSec + expirySec. */
  readonly expiresAtSec: number;
  readonly minFinalCltvExpiryBlocks: number;
  /** The `n` field when present, else the key the signature check established; null before any check. */
  readonly payeeNodeKey: string | null;
  readonly payeeNodeKeySource: PayeeKeySource;
  readonly features: InvoiceFeatures;
  readonly routeHints: readonly (readonly RouteHop[])[];
  readonly fallbackAddresses: readonly FallbackAddress[];
  readonly paymentMetadata: string | null;
  readonly unknownFields: readonly UnknownField[];
  /** r||s, hex. */
  readonly signature: string;
  readonly recoveryFlag: number;
}

/** An invoice whose signature has been checked: `payeeNodeKey` is the node that signed it. */
export interface DecodedInvoice extends ParsedInvoice {
  readonly payeeNodeKey: string;
  readonly payeeNodeKeySource: "n_field" | "recovered" | "expected";
}

export interface DecodeOptions {
  /**
   * The node key (33 bytes compressed, hex) the invoice must be signed by. When given, the signature is verified
   * against it instead of recovering a key — several times cheaper — and an invoice signed by any other key fails
   * with `wrong_payee` or `bad_signature`. Default: recover the key (or use `n`) and report it.
   */
  payeeNodeKey?: string;
  /** Longest accepted invoice, in characters. Default 7089 (`DEFAULT_MAX_INVOICE_LENGTH`). */
  maxLength?: number;
}

interface Internal {
  parsed: Mutable<ParsedInvoice>;
  sig64: Uint8Array;
  hrp: string;
  words: Uint8Array;
  /** The node signed (hashed) hrp bytes || words[0, signedWords) packed to bytes: see `withSignedData`. */
  signedWords: number;
}
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const AMOUNT_RE = /^([0-9]+)([munp]?)$/;
const MSAT_PER_UNIT: Readonly<Record<string, bigint>> = { "": 100_000_000_000n, m: 100_000_000n, u: 100_000n, n: 100n };
const utf8 = new TextDecoder("utf-8", { fatal: true });

function fail(code: InvoiceErrorCode, message: string, context?: Record<string, unknown>): never {
  throw new InvoiceError(code, message, context);
}

function parseAmount(amount: string): bigint | null {
  if (amount === "") return null;
  const m = AMOUNT_RE.exec(amount);
  if (m === null) fail(InvoiceErrorCode.BAD_AMOUNT, `"${amount.slice(0, 40)}" is not an amount with a multiplier m, u, n or p`);
  const digits = m[1] as string;
  const multiplier = m[2] as string;
  // BOLT 11: a positive decimal integer with no leading zeros; anything else has a second spelling of the same
  // amount, which two readers could disagree on. 25 digits bound the BigInt work on hostile input.
  if (digits[0] === "0") fail(InvoiceErrorCode.BAD_AMOUNT, `the amount "${amount}" has a leading zero or is zero`);
  if (digits.length > 25) fail(InvoiceErrorCode.BAD_AMOUNT, "the amount has too many digits");
  let msat: bigint;
  if (multiplier === "p") {
    // 1 pico-bitcoin is a tenth of a msat: only multiples of 10 p are payable.
    if (digits[digits.length - 1] !== "0") {
      fail(InvoiceErrorCode.SUB_MSAT_AMOUNT, `${digits}p is not a whole number of millisatoshi`);
    }
    msat = BigInt(digits) / 10n;
  } else {
    msat = BigInt(digits) * (MSAT_PER_UNIT[multiplier] as bigint);
  }
  if (msat > MAX_MSAT) fail(InvoiceErrorCode.BAD_AMOUNT, "the amount is more than 21 million bitcoin");
  return msat;
}

function parseHrp(hrp: string): { network: Network; amountMsat: bigint | null } {
  if (!hrp.startsWith("ln")) fail(InvoiceErrorCode.BAD_PREFIX, `"${hrp.slice(0, 20)}" does not start with "ln"`);
  let i = 2;
  while (i < hrp.length) {
    const c = hrp.charCodeAt(i);
    if (c < 97 || c > 122) break;
    i++;
  }
  const prefix = hrp.slice(2, i);
  const network = NETWORK_OF_PREFIX.get(prefix);
  if (network === undefined) {
    fail(InvoiceErrorCode.UNKNOWN_NETWORK, `"ln${prefix.slice(0, 20)}" is not lnbc, lntb, lntbs, lnbcrt or lnsb`);
  }
  return { network, amountMsat: parseAmount(hrp.slice(i)) };
}

/** An unsigned integer from `count` big-endian words; fails when above `max`. */
function wordsToInt(words: Uint8Array, start: number, count: number, max: number, what: string): number {
  let v = 0;
  for (let i = start; i < start + count; i++) {
    v = v * 32 + (words[i] as number);
    if (v > max) fail(InvoiceErrorCode.BAD_FIELD, `${what} is larger than ${max}`);
  }
  return v;
}

function wordsToChars(words: Uint8Array, start: number, count: number): string {
  let s = "";
  for (let i = start; i < start + count; i++) s += BECH32_CHARSET[words[i] as number];
  return s;
}

function readU32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) >>> 0) + ((b[o + 1] as number) << 16) + ((b[o + 2] as number) << 8) + (b[o + 3] as number);
}

function parseRouteHint(bytes: Uint8Array): RouteHop[] {
  if (bytes.length === 0 || bytes.length % HOP_BYTES !== 0) {
    fail(InvoiceErrorCode.BAD_ROUTE_HINT, `a route hint of ${bytes.length} bytes is not a whole number of ${HOP_BYTES}-byte hops`);
  }
  const hops: RouteHop[] = [];
  for (let o = 0; o < bytes.length; o += HOP_BYTES) {
    const prefix = bytes[o];
    // Only the prefix is checked here: decompressing every hop's point would double the cost of a decode, and a
    // hop key is the payer's routing concern, never the machine's proof of anything.
    if (prefix !== 2 && prefix !== 3) fail(InvoiceErrorCode.BAD_ROUTE_HINT, "a route hint hop has a malformed node key");
    const block = ((bytes[o + 33] as number) << 16) | ((bytes[o + 34] as number) << 8) | (bytes[o + 35] as number);
    const tx = ((bytes[o + 36] as number) << 16) | ((bytes[o + 37] as number) << 8) | (bytes[o + 38] as number);
    const output = ((bytes[o + 39] as number) << 8) | (bytes[o + 40] as number);
    hops.push({
      pubkey: toHex(bytes.subarray(o, o + 33)),
      shortChannelId: `${block}x${tx}x${output}`,
      shortChannelIdHex: toHex(bytes.subarray(o + 33, o + 41)),
      feeBaseMsat: readU32(bytes, o + 41),
      feeProportionalMillionths: readU32(bytes, o + 45),
      cltvExpiryDelta: ((bytes[o + 49] as number) << 8) | (bytes[o + 50] as number),
    });
  }
  return hops;
}

function featureBits(words: Uint8Array, start: number, count: number): number[] {
  const bits: number[] = [];
  for (let i = start + count - 1, base = 0; i >= start; i--, base += 5) {
    const w = words[i] as number;
    if (w === 0) continue;
    for (let b = 0; b < 5; b++) if (w & (1 << b)) bits.push(base + b);
  }
  return bits;
}

function once(seen: unknown, tag: string): void {
  // BOLT 11 writers put each of these once; readers that picked the first or the last of two payment hashes have
  // been exploited to steal payments (lightning/bolts#1357), so a second one refuses the invoice outright.
  if (seen !== null) fail(InvoiceErrorCode.DUPLICATE_FIELD, `the invoice has more than one "${tag}" field`, { tag });
}

function fixed(tag: string, len: number, want: number): void {
  if (len !== want) {
    fail(InvoiceErrorCode.BAD_FIXED_LENGTH, `a "${tag}" field must have data_length ${want}, not ${len}`, { tag, length: len });
  }
}

/** Reads every field and checks the structure; the signature is not checked here. */
function parseInternal(bolt11: string, maxLength: number): Internal {
  if (typeof bolt11 !== "string") fail(InvoiceErrorCode.BAD_ARGUMENT, "the invoice is not a string");
  const { hrp, words } = decodeBech32(bolt11, maxLength);
  const { network, amountMsat } = parseHrp(hrp);
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) {
    fail(InvoiceErrorCode.TOO_SHORT, "the invoice is too short to hold a timestamp and a signature");
  }
  const end = words.length - SIGNATURE_WORDS;
  const timestampSec = wordsToInt(words, 0, TIMESTAMP_WORDS, Number.MAX_SAFE_INTEGER, "timestamp");

  let paymentHash: string | null = null;
  let paymentSecret: string | null = null;
  let description: string | null = null;
  let descriptionHash: string | null = null;
  let payee: string | null = null;
  let expirySec: number | null = null;
  let minFinalCltv: number | null = null;
  let features: InvoiceFeatures | null = null;
  let metadata: string | null = null;
  const routeHints: RouteHop[][] = [];
  const fallbacks: FallbackAddress[] = [];
  const unknown: UnknownField[] = [];

  let pos = TIMESTAMP_WORDS;
  while (pos < end) {
    if (pos + 3 > end) fail(InvoiceErrorCode.BAD_FIELD, "a tagged field is cut off by the signature");
    const type = words[pos] as number;
    const len = (words[pos + 1] as number) * 32 + (words[pos + 2] as number);
    const start = pos + 3;
    if (start + len > end) fail(InvoiceErrorCode.BAD_FIELD, "a tagged field runs into the signature");
    pos = start + len;
    switch (type) {
      case TAG.PAYMENT_HASH:
        fixed("p", len, 52);
        once(paymentHash, "p");
        paymentHash = wordsToHex(words, start, len);
        break;
      case TAG.PAYMENT_SECRET:
        fixed("s", len, 52);
        once(paymentSecret, "s");
        paymentSecret = wordsToHex(words, start, len);
        break;
      case TAG.DESCRIPTION_HASH:
        fixed("h", len, 52);
        once(descriptionHash, "h");
        descriptionHash = wordsToHex(words, start, len);
        break;
      case TAG.PAYEE:
        fixed("n", len, 53);
        once(payee, "n");
        payee = wordsToHex(words, start, len);
        break;
      case TAG.DESCRIPTION:
        once(description, "d");
        try {
          description = utf8.decode(wordsToBytes(words, start, len, false));
        } catch {
          fail(InvoiceErrorCode.BAD_FIELD, "the description is not valid UTF-8");
        }
        break;
      case TAG.EXPIRY:
        once(expirySec, "x");
        expirySec = wordsToInt(words, start, len, Number.MAX_SAFE_INTEGER, "the expiry");
        break;
      case TAG.MIN_FINAL_CLTV:
        once(minFinalCltv, "c");
        // A block count: anything beyond u32 cannot be a real delta and would not survive other implementations.
        minFinalCltv = wordsToInt(words, start, len, 0xffffffff, "min_final_cltv_expiry");
        break;
      case TAG.FEATURES:
        once(features, "9");
        features = { bits: featureBits(words, start, len), words: wordsToChars(words, start, len) };
        break;
      case TAG.METADATA:
        once(metadata, "m");
        metadata = wordsToHex(words, start, len);
        break;
      case TAG.ROUTE_HINT:
        routeHints.push(parseRouteHint(wordsToBytes(words, start, len, false)));
        break;
      case TAG.FALLBACK: {
        if (len === 0) fail(InvoiceErrorCode.BAD_FALLBACK, "a fallback address field is empty");
        const version = words[start] as number;
        const program = wordsToBytes(words, start + 1, len - 1, false);
        if (version > 18) {
          // BOLT 11: a reader skips a fallback of an unknown version; it is kept so nothing is silently lost.
          unknown.push({ tag: "f", data: wordsToChars(words, start, len) });
        } else if (!fallbackLengthValid(version, program.length)) {
          fail(InvoiceErrorCode.BAD_FALLBACK, `a version ${version} fallback address cannot be ${program.length} bytes`);
        } else {
          fallbacks.push(fallbackAddress(network, version, program));
        }
        break;
      }
      default:
        unknown.push({ tag: BECH32_CHARSET[type] as string, data: wordsToChars(words, start, len) });
    }
  }

  if (paymentHash === null) fail(InvoiceErrorCode.MISSING_FIELD, 'the invoice has no payment hash ("p" field)', { tag: "p" });
  if (paymentSecret === null) fail(InvoiceErrorCode.MISSING_FIELD, 'the invoice has no payment secret ("s" field)', { tag: "s" });
  if (description !== null && descriptionHash !== null) {
    fail(InvoiceErrorCode.DUPLICATE_FIELD, 'the invoice has both a description ("d") and a description hash ("h")', { tag: "d" });
  }
  if (description === null && descriptionHash === null) {
    fail(InvoiceErrorCode.MISSING_FIELD, 'the invoice has neither a description ("d") nor a description hash ("h")', { tag: "d" });
  }
  const feat = features ?? { bits: [], words: "" };
  for (const bit of feat.bits) {
    if (bit % 2 === 0 && !KNOWN_FEATURE_BITS.has(bit)) {
      fail(InvoiceErrorCode.UNKNOWN_REQUIRED_FEATURE, `the invoice requires feature ${bit}, which this reader does not know`, { bit });
    }
  }

  const sigBytes = wordsToBytes(words, end, SIGNATURE_WORDS, false);
  const sig64 = sigBytes.subarray(0, 64);
  const recoveryFlag = sigBytes[64] as number;
  const expiry = expirySec ?? DEFAULT_EXPIRY_SEC;
  const parsed: Mutable<ParsedInvoice> = {
    bolt11: bolt11.toLowerCase(),
    hrp,
    network,
    amountMsat,
    timestampSec,
    paymentHash,
    paymentSecret,
    description,
    descriptionHash,
    expirySec: expiry,
    expiresAtSec: timestampSec + expiry,
    minFinalCltvExpiryBlocks: minFinalCltv ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY_BLOCKS,
    payeeNodeKey: payee,
    payeeNodeKeySource: PayeeKeySource.UNCHECKED,
    features: feat,
    routeHints,
    fallbackAddresses: fallbacks,
    paymentMetadata: metadata,
    unknownFields: unknown,
    signature: toHex(sig64),
    recoveryFlag,
  };
  return { parsed, sig64, hrp, words, signedWords: end };
}

/**
 * Reads an invoice and checks everything but its signature: bech32, prefix, amount, every field's length and
 * uniqueness, required fields and required features. `payeeNodeKey` is the `n` field or null. For tools that only
 * display an invoice; anything that acts on one uses `decodeInvoice`. Throws `InvoiceError`.
 */
export function parseInvoice(bolt11: string, opts: Pick<DecodeOptions, "maxLength"> = {}): ParsedInvoice {
  return parseInternal(bolt11, opts.maxLength ?? DEFAULT_MAX_INVOICE_LENGTH).parsed;
}

/**
 * Decodes a BOLT 11 invoice strictly (the reader rules of the current spec, with the duplicate-field rule of
 * lightning/bolts#1357) and checks its signature:
 * - with an `n` field, the signature must verify against it and must be low-S;
 * - else, with `opts.payeeNodeKey`, the signature must verify against that key (a high-S signature is recovered
 *   instead, so the answer is the one recovery gives);
 * - else the key is recovered from the signature (s as transmitted, as libsecp256k1 does).
 * Returns the decoded invoice; throws `InvoiceError` with a stable code on any defect.
 */
export function decodeInvoice(bolt11: string, opts: DecodeOptions = {}): DecodedInvoice {
  const { parsed, sig64, hrp, words, signedWords } = parseInternal(bolt11, opts.maxLength ?? DEFAULT_MAX_INVOICE_LENGTH);
  const expected = opts.payeeNodeKey?.toLowerCase();
  if (expected !== undefined && !isValidPublicKey(expected)) {
    fail(InvoiceErrorCode.BAD_ARGUMENT, "the expected payee key is not a compressed secp256k1 public key (66 hex digits)");
  }
  if (parsed.recoveryFlag > 3) fail(InvoiceErrorCode.BAD_SIGNATURE, `the signature's recovery flag is ${parsed.recoveryFlag}, not 0..3`);
  if (!isWellFormedSignature(sig64)) fail(InvoiceErrorCode.BAD_SIGNATURE, "the signature's r or s is out of range");
  const highS = isHighS(sig64);
  const engine = signatureEngine();
  const verifyAgainst = (key: string): boolean => withSignedData(hrp, words, signedWords, (data) => engine.verify(key, data, sig64));

  const payee = parsed.payeeNodeKey;
  if (payee !== null) {
    if (!isValidPublicKey(payee)) fail(InvoiceErrorCode.BAD_FIELD, 'the "n" field is not a valid public key');
    // BOLT 11 (lightning/bolts#1298): with `n` the signature is verified, not recovered, and must be low-S.
    if (highS) fail(InvoiceErrorCode.BAD_SIGNATURE, 'the signature is high-S, which an invoice with an "n" field may not have');
    if (expected !== undefined && expected !== payee) {
      fail(InvoiceErrorCode.WRONG_PAYEE, `the invoice names node ${payee}, not ${expected}`, { payee, expected });
    }
    if (!verifyAgainst(payee)) {
      fail(InvoiceErrorCode.BAD_SIGNATURE, 'the signature does not verify against the "n" field');
    }
    parsed.payeeNodeKeySource = PayeeKeySource.N_FIELD;
    return parsed as DecodedInvoice;
  }

  // Verifying against the expected key is the proof the node signed. Two cases go to recovery instead, so the
  // answer is always the one recovery gives: a high-S signature (recovery uses s as transmitted, which verification
  // cannot mirror) and a recovery flag of 2 or 3 (R.x = r + n, practically never a real signature; vector 21).
  // What remains unconsulted is the flag's parity bit, as a reader with an `n` field does not consult it either.
  if (expected !== undefined && !highS && parsed.recoveryFlag < 2 && verifyAgainst(expected)) {
    parsed.payeeNodeKey = expected;
    parsed.payeeNodeKeySource = PayeeKeySource.EXPECTED;
    return parsed as DecodedInvoice;
  }
  const recovered = engine.recover(withSignedData(hrp, words, signedWords, sha256), sig64, parsed.recoveryFlag);
  if (recovered === null) fail(InvoiceErrorCode.BAD_SIGNATURE, "no public key can be recovered from the signature");
  if (expected !== undefined && recovered !== expected) {
    fail(InvoiceErrorCode.WRONG_PAYEE, `the invoice is signed by node ${recovered}, not ${expected}`, { payee: recovered, expected });
  }
  parsed.payeeNodeKey = recovered;
  parsed.payeeNodeKeySource = PayeeKeySource.RECOVERED;
  return parsed as DecodedInvoice;
}
