import { MAX_MSAT, type Network } from "@zapvend/protocol";
import { bech32 } from "@scure/base";
import { BECH32_CHARSET, bytesToWords, wordsToBytes } from "./bech32.js";
import { isValidPrivateKey, publicKeyOf, sha256, signHash } from "./crypto.js";
import { InvoiceError, InvoiceErrorCode } from "./errors.js";
import { CURRENCY_PREFIX, fallbackLengthValid } from "./networks.js";

/** A hop of a route hint to write. */
export interface RouteHopInput {
  /** 33 bytes compressed, hex. */
  pubkey: string;
  /** 8 bytes hex, or "block x tx x output". */
  shortChannelId: string;
  feeBaseMsat: number;
  feeProportionalMillionths: number;
  cltvExpiryDelta: number;
}

/** What `encodeInvoice` writes. Hex strings are lower- or upper-case; every field is checked before signing. */
export interface InvoiceFields {
  network: Network;
  /** The amount; null or absent for an invoice that lets the payer choose. */
  amountMsat?: bigint | null;
  /** Seconds since the Unix epoch (35 bits). The caller's clock: the encoder never reads the time itself. */
  timestampSec: number;
  /** 32 bytes hex. */
  paymentHash: string;
  /** 32 bytes hex. */
  paymentSecret: string;
  /** UTF-8, at most 639 bytes (one field). Exactly one of `description` and `descriptionHash`. */
  description?: string;
  /** sha256 of a longer description, 32 bytes hex. */
  descriptionHash?: string;
  /** Seconds; written only when given (readers default to 3600). */
  expirySec?: number;
  /** Blocks; written only when given (readers default to 18). */
  minFinalCltvExpiryBlocks?: number;
  /** Feature bits to set. Default [8, 14] (var_onion_optin and payment_secret, required), as the spec examples. */
  features?: readonly number[];
  routeHints?: readonly (readonly RouteHopInput[])[];
  /** Fallback on-chain outputs: version (17 P2PKH, 18 P2SH, 0..16 witness) and program hex. */
  fallbacks?: readonly { version: number; program: string }[];
  /** Payment metadata, hex. */
  paymentMetadata?: string;
  /** Write the payee key as an `n` field (readers then verify instead of recovering). Default false. */
  includePayeeNodeKey?: boolean;
  /**
   * Raw fields appended after the others, as a tag character and data in bech32 characters. For tests and tools
   * that need invoices no well-behaved node writes (unknown fields, duplicates); never needed for a real invoice.
   */
  extraFields?: readonly { tag: string; data: string }[];
}

const bad = (message: string): never => {
  throw new InvoiceError(InvoiceErrorCode.BAD_ARGUMENT, message);
};

function hexBytes(hex: string, length: number, what: string): Uint8Array {
  if (typeof hex !== "string" || hex.length !== length * 2 || !/^[0-9a-fA-F]*$/.test(hex)) {
    bad(`${what} must be ${length} bytes as ${length * 2} hex digits`);
  }
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** The shortest human-readable amount, e.g. 250000000 msat -> "2500u". */
export function encodeAmount(amountMsat: bigint): string {
  if (typeof amountMsat !== "bigint" || amountMsat <= 0n || amountMsat > MAX_MSAT) {
    bad("amountMsat must be a positive bigint of at most 21 million bitcoin");
  }
  if (amountMsat % 100_000_000_000n === 0n) return (amountMsat / 100_000_000_000n).toString();
  if (amountMsat % 100_000_000n === 0n) return `${amountMsat / 100_000_000n}m`;
  if (amountMsat % 100_000n === 0n) return `${amountMsat / 100_000n}u`;
  if (amountMsat % 100n === 0n) return `${amountMsat / 100n}n`;
  return `${amountMsat * 10n}p`;
}

function intWords(value: number, what: string): number[] {
  if (!Number.isSafeInteger(value) || value < 0) bad(`${what} must be a non-negative integer`);
  // Minimal big-endian words; zero is one "q" rather than an empty field, which some readers refuse.
  const out: number[] = [];
  let v = value;
  do {
    out.unshift(v % 32);
    v = Math.floor(v / 32);
  } while (v > 0);
  return out;
}

function parseScid(scid: string): Uint8Array {
  const m = /^([0-9]+)x([0-9]+)x([0-9]+)$/.exec(scid);
  if (m === null) return hexBytes(scid, 8, "shortChannelId");
  const [block, tx, out] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (block > 0xffffff || tx > 0xffffff || out > 0xffff) bad("shortChannelId is out of range");
  return Uint8Array.of(block >>> 16, (block >>> 8) & 255, block & 255, tx >>> 16, (tx >>> 8) & 255, tx & 255, out >>> 8, out & 255);
}

function u32(v: number, what: string): number[] {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) bad(`${what} must be a u32`);
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

function charWords(data: string): number[] {
  return Array.from(data, (c) => {
    const v = BECH32_CHARSET.indexOf(c);
    if (v < 0) bad(`"${c}" is not a bech32 character`);
    return v;
  });
}

/**
 * Writes and signs a BOLT 11 invoice with `privateKey` (32 bytes): deterministic (RFC 6979), low-S. The fields are
 * written in the order p, s, d|h, n, x, c, f, r, 9, m. Throws `InvoiceError` (`bad_argument`) on a malformed field.
 */
export function encodeInvoice(fields: InvoiceFields, privateKey: Uint8Array): string {
  if (!isValidPrivateKey(privateKey)) bad("the private key must be 32 bytes in [1, n-1]");
  const prefix = CURRENCY_PREFIX[fields.network];
  if (prefix === undefined) bad(`unknown network "${String(fields.network)}"`);
  const hrp = `ln${prefix}${fields.amountMsat == null ? "" : encodeAmount(fields.amountMsat)}`;
  const ts = fields.timestampSec;
  if (!Number.isInteger(ts) || ts < 0 || ts >= 2 ** 35) bad("timestampSec must fit 35 bits");

  const words: number[] = [];
  for (let i = 6; i >= 0; i--) words.push(Math.floor(ts / 32 ** i) % 32);
  const field = (tag: string, data: number[]): void => {
    if (data.length > 1023) bad(`the "${tag}" field is longer than 1023 words`);
    words.push(BECH32_CHARSET.indexOf(tag), data.length >> 5, data.length & 31, ...data);
  };

  field("p", bytesToWords(hexBytes(fields.paymentHash, 32, "paymentHash")));
  field("s", bytesToWords(hexBytes(fields.paymentSecret, 32, "paymentSecret")));
  if ((fields.description === undefined) === (fields.descriptionHash === undefined)) {
    bad("give exactly one of description and descriptionHash");
  }
  if (fields.description !== undefined) field("d", bytesToWords(new TextEncoder().encode(fields.description)));
  if (fields.descriptionHash !== undefined) field("h", bytesToWords(hexBytes(fields.descriptionHash, 32, "descriptionHash")));
  if (fields.includePayeeNodeKey === true) {
    field("n", bytesToWords(Uint8Array.from(Buffer.from(publicKeyOf(privateKey), "hex"))));
  }
  if (fields.expirySec !== undefined) field("x", intWords(fields.expirySec, "expirySec"));
  if (fields.minFinalCltvExpiryBlocks !== undefined) field("c", intWords(fields.minFinalCltvExpiryBlocks, "minFinalCltvExpiryBlocks"));
  for (const fb of fields.fallbacks ?? []) {
    const program = Uint8Array.from(Buffer.from(fb.program, "hex"));
    if (!Number.isInteger(fb.version) || fb.version < 0 || fb.version > 18 || !fallbackLengthValid(fb.version, program.length)) {
      bad(`a version ${fb.version} fallback cannot have a ${program.length}-byte program`);
    }
    field("f", [fb.version, ...bytesToWords(program)]);
  }
  for (const hint of fields.routeHints ?? []) {
    if (hint.length === 0) bad("a route hint needs at least one hop");
    const bytes: number[] = [];
    for (const hop of hint) {
      const key = hexBytes(hop.pubkey, 33, "a hop pubkey");
      if (key[0] !== 2 && key[0] !== 3) bad("a hop pubkey must be compressed (02 or 03)");
      if (!Number.isInteger(hop.cltvExpiryDelta) || hop.cltvExpiryDelta < 0 || hop.cltvExpiryDelta > 0xffff) bad("cltvExpiryDelta must be a u16");
      bytes.push(...key, ...parseScid(hop.shortChannelId), ...u32(hop.feeBaseMsat, "feeBaseMsat"));
      bytes.push(...u32(hop.feeProportionalMillionths, "feeProportionalMillionths"), hop.cltvExpiryDelta >>> 8, hop.cltvExpiryDelta & 255);
    }
    field("r", bytesToWords(Uint8Array.from(bytes)));
  }
  const bits = fields.features ?? [8, 14];
  if (bits.length > 0) {
    for (const b of bits) if (!Number.isInteger(b) || b < 0 || b >= 5 * 1023) bad(`feature bit ${b} is out of range`);
    const n = Math.floor(Math.max(...bits) / 5) + 1;
    const fw = new Array<number>(n).fill(0);
    for (const b of bits) fw[n - 1 - Math.floor(b / 5)] = (fw[n - 1 - Math.floor(b / 5)] as number) | (1 << b % 5);
    field("9", fw);
  }
  if (fields.paymentMetadata !== undefined) {
    if (!/^([0-9a-fA-F]{2})*$/.test(fields.paymentMetadata)) bad("paymentMetadata must be hex");
    field("m", bytesToWords(Uint8Array.from(Buffer.from(fields.paymentMetadata, "hex"))));
  }
  for (const extra of fields.extraFields ?? []) {
    if (extra.tag.length !== 1) bad("an extra field's tag is one bech32 character");
    field(extra.tag, charWords(extra.data));
  }

  const dataBytes = wordsToBytes(Uint8Array.from(words), 0, words.length, true);
  const signingData = new Uint8Array(hrp.length + dataBytes.length);
  for (let i = 0; i < hrp.length; i++) signingData[i] = hrp.charCodeAt(i);
  signingData.set(dataBytes, hrp.length);
  const { sig64, recid } = signHash(sha256(signingData), privateKey);
  const sig = new Uint8Array(65);
  sig.set(sig64);
  sig[64] = recid;
  return bech32.encode(hrp, [...words, ...bytesToWords(sig)], false);
}
