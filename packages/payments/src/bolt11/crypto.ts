import * as nodeCrypto from "node:crypto";
import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from "node:crypto";
import { createRequire } from "node:module";
import { secp256k1 } from "@noble/curves/secp256k1.js";

/**
 * The elliptic-curve work of the codec, all of it done by audited code, never by hand:
 * - libsecp256k1 (Bitcoin Core's library, through the optional native `secp256k1` binding) verifies and recovers
 *   when it is installed: it is what makes decode + verify several times faster than the JavaScript peers;
 * - else the portable engine: OpenSSL (Node's `crypto`) verifies against a known key, about 4x faster than
 *   @noble/curves here, and @noble/curves recovers (OpenSSL has no recovery);
 * - @noble/curves signs in both cases (the sim node and tests; speed does not matter there).
 * Both engines give the same answers; a test runs every vector through each of them.
 */
/** secp256k1 group order. */
export const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_ORDER = CURVE_ORDER >> 1n;

// Node's one-shot `crypto.hash` (20.12+) skips the Hash object of `createHash`: a third of the cost on ~300 bytes.
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: "buffer") => Buffer }).hash;

export const sha256: (data: Uint8Array) => Uint8Array =
  oneShotHash !== undefined
    ? (data) => oneShotHash("sha256", data, "buffer")
    : (data) => createHash("sha256").update(data).digest();

// DER SubjectPublicKeyInfo header for an id-ecPublicKey on secp256k1 with a 33-byte compressed point: lets OpenSSL
// import the key the invoice and the config carry as hex.
const SPKI_PREFIX = Buffer.from("3036301006072a8648ce3d020106052b8104000a032200", "hex");

// Imported keys (portable engine), by hex. A machine checks every invoice against the same one or two node keys, and importing a key
// (point decompression) costs as much as a third of a verification. Bounded so hostile `n` fields cannot grow it.
const keyCache = new Map<string, KeyObject | null>();
const KEY_CACHE_MAX = 256;

/** The key as an OpenSSL key object, or null when it is not a point on the curve. */
function importKey(keyHex: string): KeyObject | null {
  let key = keyCache.get(keyHex);
  if (key !== undefined) return key;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(keyHex, "hex")]), format: "der", type: "spki" });
  } catch {
    key = null;
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(keyHex, key);
  return key;
}

/** True when `keyHex` is a compressed secp256k1 point (33 bytes, 02/03 prefix, on the curve). */
export function isValidPublicKey(keyHex: string): boolean {
  return /^0[23][0-9a-f]{64}$/.test(keyHex) && importKey(keyHex) !== null;
}

const ORDER_BYTES = Buffer.from(CURVE_ORDER.toString(16), "hex");
const HALF_ORDER_BYTES = Buffer.from(HALF_ORDER.toString(16).padStart(64, "0"), "hex");

/**
 * Compares the 32-byte big-endian number at `b[off, off+32)` with `ref`: -1, 0 or 1. Byte-wise rather than through
 * BigInt: these checks run on every decode, and three hex -> BigInt conversions cost more than the rest of them.
 */
function compare32(b: Uint8Array, off: number, ref: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const x = b[off + i] as number;
    const y = ref[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function isZero32(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 32; i++) if (b[off + i] !== 0) return false;
  return true;
}

/** Whether `s` (32 bytes big-endian) is in the upper half of the order: the malleable twin of a low-S signature. */
export function isHighS(sig64: Uint8Array): boolean {
  return compare32(sig64, 32, HALF_ORDER_BYTES) > 0;
}

/** r and s both in [1, n-1]. */
export function isWellFormedSignature(sig64: Uint8Array): boolean {
  return !isZero32(sig64, 0) && compare32(sig64, 0, ORDER_BYTES) < 0 && !isZero32(sig64, 32) && compare32(sig64, 32, ORDER_BYTES) < 0;
}

/** Signature verification and key recovery, as one engine provides them. */
export interface SignatureEngine {
  readonly name: "libsecp256k1" | "portable";
  /**
   * ECDSA verification of `sig64` (r||s) over sha256(`message`) against a compressed key. The portable engine accepts
   * a high-S signature (OpenSSL does), libsecp256k1 refuses it: callers that care check `isHighS` first.
   */
  verify(keyHex: string, message: Uint8Array, sig64: Uint8Array): boolean;
  /**
   * The key that `sig64` with recovery id `recid` was made with over `hash`, compressed hex, or null when none exists.
   * Uses s as transmitted (no low-S normalisation), as libsecp256k1 does and the BOLT 11 high-S vector expects.
   */
  recover(hash: Uint8Array, sig64: Uint8Array, recid: number): string | null;
}

export const portableEngine: SignatureEngine = {
  name: "portable",
  verify(keyHex, message, sig64) {
    const key = importKey(keyHex);
    if (key === null) return false;
    return nodeVerify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, sig64);
  },
  recover(hash, sig64, recid) {
    try {
      const recovered = new Uint8Array(65);
      recovered[0] = recid;
      recovered.set(sig64, 1);
      return Buffer.from(secp256k1.recoverPublicKey(recovered, hash, { prehash: false })).toString("hex");
    } catch {
      return null;
    }
  },
};

/** The part of the `secp256k1` package's native binding used here (its `bindings` entry, never its JS fallback). */
interface NativeSecp256k1 {
  ecdsaVerify(sig: Uint8Array, msg32: Uint8Array, pubkey: Uint8Array): boolean;
  publicKeyConvert(pubkey: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
}

function nativeEngine(lib: NativeSecp256k1): SignatureEngine {
  // Keys as libsecp256k1 parses them fastest: uncompressed (65 bytes), decompressed once per key. A compressed key
  // costs a field square root on every verification (a quarter of it, measured); an uncompressed one only an
  // on-curve check. null: not a point on the curve.
  const keys = new Map<string, Uint8Array | null>();
  return {
    name: "libsecp256k1",
    verify(keyHex, message, sig64) {
      let key = keys.get(keyHex);
      if (key === undefined) {
        try {
          key = lib.publicKeyConvert(Buffer.from(keyHex, "hex"), false);
        } catch {
          key = null;
        }
        if (keys.size >= KEY_CACHE_MAX) keys.clear();
        keys.set(keyHex, key);
      }
      if (key === null) return false;
      try {
        return lib.ecdsaVerify(sig64, sha256(message), key);
      } catch {
        return false; // unparsable key or signature
      }
    },
    recover(hash, sig64, recid) {
      try {
        return Buffer.from(lib.ecdsaRecover(sig64, recid, hash, true)).toString("hex");
      } catch {
        return null;
      }
    },
  };
}

let active: SignatureEngine | undefined;

/**
 * libsecp256k1 when its native binding loads, else the portable engine. `ZAPVEND_SECP256K1=portable` forces the
 * portable one (to compare, or where a broken native build must be ruled out). Chosen once, at first use.
 */
export function signatureEngine(): SignatureEngine {
  if (active !== undefined) return active;
  active = portableEngine;
  if (process.env.ZAPVEND_SECP256K1 !== "portable") {
    try {
      // The binding itself, not the package's index: the index silently falls back to `elliptic`, which this codec
      // does not want in its trust path. Absent on a board without a prebuilt or compiled addon: portable it is.
      const lib = createRequire(import.meta.url)("secp256k1/bindings") as NativeSecp256k1;
      active = nativeEngine(lib);
    } catch {
      // optional dependency not installed or not built
    }
  }
  return active;
}

/** Signs a 32-byte hash, low-S, deterministic (RFC 6979). Returns r||s and the recovery id. */
export function signHash(hash: Uint8Array, privateKey: Uint8Array): { sig64: Uint8Array; recid: number } {
  const rec = secp256k1.sign(hash, privateKey, { prehash: false, format: "recovered", lowS: true });
  return { sig64: rec.subarray(1), recid: rec[0] as number };
}

/** The compressed public key of a private key, hex. */
export function publicKeyOf(privateKey: Uint8Array): string {
  return Buffer.from(secp256k1.getPublicKey(privateKey, true)).toString("hex");
}

export function isValidPrivateKey(privateKey: Uint8Array): boolean {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) return false;
  const d = bytesToBigInt(privateKey, 0, 32);
  return d > 0n && d < CURVE_ORDER;
}

function bytesToBigInt(b: Uint8Array, start: number, end: number): bigint {
  return BigInt("0x" + Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("hex"));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** Which engine checks signatures in this process: "libsecp256k1" (native binding) or "portable". */
export function signatureEngineName(): SignatureEngine["name"] {
  return signatureEngine().name;
}
