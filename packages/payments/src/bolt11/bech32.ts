import { InvoiceError, InvoiceErrorCode } from "./errors.js";

/**
 * A bech32 (BIP 173) decoder for invoices. BOLT 11 lifts BIP 173's 90-character limit (an invoice with route hints
 * is far longer), so the only bound is the caller's `maxLength`. Hand-rolled rather than @scure/base's decoder for
 * two reasons: each refusal needs its own stable code (mixed case, no separator, bad character, bad checksum), and
 * it is the hot loop of every decode. The encoder side uses @scure/base, so the property tests cross-check both.
 */
export const BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/** Character code -> 5-bit value, -1 for characters outside the alphabet (both cases map alike). */
const CHAR_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BECH32_CHARSET.length; i++) {
  const c = BECH32_CHARSET.charCodeAt(i);
  CHAR_VALUE[c] = i;
  if (c >= 97 && c <= 122) CHAR_VALUE[c - 32] = i;
}

/** Character code -> 1 for a lower-case letter, 2 for an upper-case one, 0 otherwise (ASCII only). */
const CHAR_CASE = new Uint8Array(128);
for (let c = 97; c <= 122; c++) CHAR_CASE[c] = 1;
for (let c = 65; c <= 90; c++) CHAR_CASE[c] = 2;

/** polymodStep's XOR of generators for each value of the top 5 bits, as a table (one lookup instead of 5 masks). */
const GEN_TABLE = new Int32Array(32);
for (let b = 0; b < 32; b++) GEN_TABLE[b] = polymodStep(b << 25);

// BIP 173 generator: the checksum is a BCH code over GF(32).
function polymodStep(pre: number): number {
  const b = pre >>> 25;
  return (
    (((pre & 0x1ffffff) << 5) ^
      (-(b & 1) & 0x3b6a57b2) ^
      (-((b >>> 1) & 1) & 0x26508e6d) ^
      (-((b >>> 2) & 1) & 0x1ea119fa) ^
      (-((b >>> 3) & 1) & 0x3d4233dd) ^
      (-((b >>> 4) & 1) & 0x2a1462b3)) >>>
    0
  );
}

export interface Bech32Decoded {
  /** The human-readable part, lower case. */
  readonly hrp: string;
  /** The data part as 5-bit values, without the 6 checksum characters. */
  readonly words: Uint8Array;
}

/**
 * Decodes a bech32 string (bech32, not bech32m: BOLT 11 uses the original constant). Throws `InvoiceError` with
 * `too_long`, `too_short`, `bad_character`, `mixed_case`, `no_separator` or `bad_checksum`.
 */
export function decodeBech32(str: string, maxLength: number): Bech32Decoded {
  return decodeFast(str, maxLength) ?? decodeStrict(str, maxLength);
}

/**
 * One pass over a well-formed string: the checksum, the 5-bit values and the case checks together, the checksum step
 * from a table. Returns null on any defect except a wrong checksum, and `decodeStrict` then names the first defect
 * with the same code and message as always (the fast path never decides which error a bad string gets).
 */
function decodeFast(str: string, maxLength: number): Bech32Decoded | null {
  const len = str.length;
  if (len > maxLength) return null;
  const sep = str.lastIndexOf("1");
  if (sep < 1 || len - sep - 1 < 6) return null;
  let cases = 0;
  for (let i = 0; i < sep; i++) {
    const c = str.charCodeAt(i);
    if (c < 33 || c > 126) return null;
    cases |= CHAR_CASE[c] as number;
  }
  if (cases === 3) return null;
  const upper = cases === 2;
  const hrp = upper ? str.slice(0, sep).toLowerCase() : str.slice(0, sep);
  let chk = 1;
  for (let i = 0; i < sep; i++) chk = (((chk & 0x1ffffff) << 5) ^ (GEN_TABLE[chk >>> 25] as number)) ^ (hrp.charCodeAt(i) >>> 5);
  chk = ((chk & 0x1ffffff) << 5) ^ (GEN_TABLE[chk >>> 25] as number);
  for (let i = 0; i < sep; i++) chk = (((chk & 0x1ffffff) << 5) ^ (GEN_TABLE[chk >>> 25] as number)) ^ (hrp.charCodeAt(i) & 31);
  const words = new Uint8Array(len - sep - 1);
  for (let i = sep + 1, j = 0; i < len; i++, j++) {
    const c = str.charCodeAt(i);
    if (c > 127) return null;
    const v = CHAR_VALUE[c] as number;
    if (v === -1) return null;
    cases |= CHAR_CASE[c] as number;
    words[j] = v;
    chk = (((chk & 0x1ffffff) << 5) ^ (GEN_TABLE[chk >>> 25] as number)) ^ v;
  }
  if (cases === 3) return null;
  if (chk !== 1) throw new InvoiceError(InvoiceErrorCode.BAD_CHECKSUM, "the bech32 checksum does not match (a typo or a truncated copy)");
  return { hrp, words: words.subarray(0, words.length - 6) };
}

/** The reference decoder: checks in the order that decides each defect's code. Exported for the tests only. */
export function decodeStrict(str: string, maxLength: number): Bech32Decoded {
  const len = str.length;
  if (len === 0) throw new InvoiceError(InvoiceErrorCode.TOO_SHORT, "the invoice is empty");
  if (len > maxLength) {
    throw new InvoiceError(InvoiceErrorCode.TOO_LONG, `the invoice has ${len} characters, more than the ${maxLength} accepted`);
  }
  let lower = false;
  let upper = false;
  let sep = -1;
  for (let i = 0; i < len; i++) {
    const c = str.charCodeAt(i);
    if (c < 33 || c > 126) {
      throw new InvoiceError(InvoiceErrorCode.BAD_CHARACTER, `character ${i + 1} is not printable ASCII`, { position: i });
    }
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c === 49) sep = i;
  }
  if (lower && upper) throw new InvoiceError(InvoiceErrorCode.MIXED_CASE, "upper- and lower-case letters are mixed");
  if (sep === -1) throw new InvoiceError(InvoiceErrorCode.NO_SEPARATOR, 'no "1" separates the prefix from the data');
  if (sep === 0) throw new InvoiceError(InvoiceErrorCode.BAD_PREFIX, "the prefix before the separator is empty");
  if (len - sep - 1 < 6) throw new InvoiceError(InvoiceErrorCode.TOO_SHORT, "the data part is shorter than a checksum");

  const hrp = upper ? str.slice(0, sep).toLowerCase() : str.slice(0, sep);
  let chk = 1;
  for (let i = 0; i < sep; i++) chk = polymodStep(chk) ^ (hrp.charCodeAt(i) >>> 5);
  chk = polymodStep(chk);
  for (let i = 0; i < sep; i++) chk = polymodStep(chk) ^ (hrp.charCodeAt(i) & 31);

  const words = new Uint8Array(len - sep - 1);
  for (let i = sep + 1, j = 0; i < len; i++, j++) {
    const v = CHAR_VALUE[str.charCodeAt(i)] ?? -1;
    if (v === -1) {
      throw new InvoiceError(InvoiceErrorCode.BAD_CHARACTER, `character ${i + 1} ("${str[i]}") is not in the bech32 alphabet`, {
        position: i,
      });
    }
    words[j] = v;
    chk = polymodStep(chk) ^ v;
  }
  if (chk !== 1) throw new InvoiceError(InvoiceErrorCode.BAD_CHECKSUM, "the bech32 checksum does not match (a typo or a truncated copy)");
  return { hrp, words: words.subarray(0, words.length - 6) };
}

/**
 * 5-bit words `words[start, start+count)` packed into bytes, big-endian. With `pad` the last partial byte is kept
 * (zero-filled, as BOLT 11's signing data is); without, the leftover bits are dropped (as a field's content is).
 */
export function wordsToBytes(words: Uint8Array, start: number, count: number, pad: boolean): Uint8Array {
  const out = new Uint8Array(pad ? Math.ceil((count * 5) / 8) : Math.floor((count * 5) / 8));
  packInto(words, start, count, pad, out, 0);
  return out;
}

/**
 * Scratch space for `wordsToHex` and `packSigned`: their bytes are consumed (as a hex string, or hashed) before the
 * call returns, so one buffer serves every decode instead of two allocations per field. Grows for a long invoice.
 */
let scratch = Buffer.allocUnsafe(1024);

function ensureScratch(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, scratch.length * 2));
  return scratch;
}

/** Packs `count` words from `start` into `out` at `offset` (as `wordsToBytes`); returns the end offset. */
function packInto(words: Uint8Array, start: number, count: number, pad: boolean, out: Uint8Array, offset: number): number {
  let acc = 0;
  let bits = 0;
  let o = offset;
  const end = start + count;
  for (let i = start; i < end; i++) {
    acc = ((acc << 5) | (words[i] as number)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if (pad && bits > 0) out[o++] = (acc << (8 - bits)) & 0xff;
  return o;
}

/** `toHex(wordsToBytes(words, start, count, false))` without allocating the bytes: one string per field. */
export function wordsToHex(words: Uint8Array, start: number, count: number): string {
  const buf = ensureScratch(Math.ceil((count * 5) / 8));
  return buf.toString("hex", 0, packInto(words, start, count, false, buf, 0));
}

/**
 * BOLT 11's signed data, `hrp` as bytes then `words[0, count)` packed and zero-padded, handed to `consume` in the
 * scratch buffer (valid only during the call: it hashes or verifies and keeps nothing).
 */
export function withSignedData<T>(hrp: string, words: Uint8Array, count: number, consume: (data: Uint8Array) => T): T {
  const buf = ensureScratch(hrp.length + Math.ceil((count * 5) / 8));
  const hrpLen = buf.write(hrp, 0, "latin1");
  const end = packInto(words, 0, count, true, buf, hrpLen);
  return consume(buf.subarray(0, end));
}

/** Bytes as 5-bit words, zero-padded at the end. */
export function bytesToWords(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >>> bits) & 31);
    }
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31);
  return out;
}
