import { createHash } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { CURVE_ORDER, isHighS, portableEngine, signatureEngine } from "./crypto.js";

// Real signing and recovery in every run: a busy CI machine may need seconds.
vi.setConfig({ testTimeout: 60_000 });

const native = signatureEngine();
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();

/** A signature with s replaced by n - s: the high-S twin, valid for the same key, recovering with the other parity. */
function twin(sig64: Uint8Array): Uint8Array {
  const s = BigInt("0x" + Buffer.from(sig64.subarray(32)).toString("hex"));
  const out = Uint8Array.from(sig64);
  out.set(Buffer.from((CURVE_ORDER - s).toString(16).padStart(64, "0"), "hex"), 32);
  return out;
}

describe.skipIf(native === portableEngine)("libsecp256k1 and the portable engine give the same answers", () => {
  it("on random keys, messages, and their high-S twins", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => k.some((b) => b !== 0) && k[0]! < 0xff), fc.uint8Array({ maxLength: 200 }), (priv, message) => {
        const hash = sha(message);
        const rec = secp256k1.sign(hash, priv, { prehash: false, format: "recovered" });
        const sig = rec.subarray(1);
        const recid = rec[0]!;
        const key = Buffer.from(secp256k1.getPublicKey(priv, true)).toString("hex");
        for (const engine of [native, portableEngine]) {
          expect(engine.verify(key, message, sig)).toBe(true);
          expect(engine.recover(hash, sig, recid)).toBe(key);
          // Another message does not verify, and recovers another key.
          expect(engine.verify(key, Uint8Array.of(...message, 1), sig)).toBe(false);
          expect(engine.recover(sha(Uint8Array.of(...message, 1)), sig, recid)).not.toBe(key);
        }
        const high = twin(sig);
        expect(isHighS(high)).toBe(true);
        // Recovery with s as transmitted: the twin recovers the signer with the flipped parity, in both engines.
        expect(native.recover(hash, high, recid ^ 1)).toBe(key);
        expect(portableEngine.recover(hash, high, recid ^ 1)).toBe(key);
        expect(native.recover(hash, high, recid)).toBe(portableEngine.recover(hash, high, recid));
        // The one documented difference: libsecp256k1 refuses a high-S signature, OpenSSL accepts it. decodeInvoice
        // never relies on either answer for a high-S signature (it recovers instead, or refuses with `n`).
        expect(native.verify(key, message, high)).toBe(false);
        expect(portableEngine.verify(key, message, high)).toBe(true);
      }),
      { numRuns: 40, seed: 11 },
    );
  });

  it("an invalid key or a recovery id pointing past the field is 'no', not an exception", () => {
    const sig = new Uint8Array(64).fill(7);
    for (const engine of [native, portableEngine]) {
      expect(engine.verify("02" + "00".repeat(32), new Uint8Array(1), sig)).toBe(false);
      expect(engine.recover(new Uint8Array(32), sig, 3)).toBeNull();
    }
  });
});
