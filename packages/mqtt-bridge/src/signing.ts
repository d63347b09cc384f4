// Ed25519 over protocol's `canonicalJson`, with Node's own crypto (no native addon, no extra dependency). The fleet
// signs, the machine verifies; both compute the signed bytes with the one function protocol exports.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { canonicalJson } from "@zapvend/protocol";
import { BridgeError, BridgeErrorCode } from "./errors.js";

// DER prefixes that wrap a raw 32-byte Ed25519 key (RFC 8410) so Node can import it.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** An Ed25519 public key from 64 hex digits (what a machine config's `operatorKeys` lists). */
export function publicKeyFromHex(hex: string): KeyObject {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new BridgeError(BridgeErrorCode.BAD_KEY, "an Ed25519 public key is 64 lower-case hex digits");
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(hex, "hex")]), format: "der", type: "spki" });
}

/** The raw 32-byte public key as hex. */
export function publicKeyHex(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return pub.export({ format: "der", type: "spki" }).subarray(-32).toString("hex");
}

/** An Ed25519 private key from PKCS#8 PEM or a raw 32-byte seed as 64 hex digits. */
export function privateKeyFrom(text: string): KeyObject {
  let key: KeyObject;
  try {
    const t = text.trim();
    key = /^[0-9a-f]{64}$/.test(t)
      ? createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.from(t, "hex")]), format: "der", type: "pkcs8" })
      : createPrivateKey(t);
  } catch (err) {
    throw new BridgeError(BridgeErrorCode.BAD_KEY, `not a readable private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new BridgeError(BridgeErrorCode.BAD_KEY, `the key must be Ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

/** The payload with `sig`: Ed25519 over `canonicalJson` of every field of `payload` (which must not hold `sig`). */
export function signPayload<T extends object>(payload: T, privateKey: KeyObject): T & { sig: string } {
  if ("sig" in payload) throw new TypeError("signPayload: the payload already has a sig");
  const sig = sign(null, Buffer.from(canonicalJson(payload), "utf8"), privateKey).toString("base64url");
  return { ...payload, sig };
}

export type VerifyResult = { ok: true; keyId: string } | { ok: false; code: BridgeErrorCode; message: string };

/**
 * Verifies `sig` over every other field of the message *as received* (the decoded JSON, not the schema's output),
 * so a field the schema does not know can never ride along unsigned.
 */
export function verifySignedPayload(raw: unknown, trusted: ReadonlyMap<string, KeyObject>): VerifyResult {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return { ok: false, code: BridgeErrorCode.BAD_SIGNATURE, message: "not a signed object" };
  const { sig, ...rest } = raw as Record<string, unknown>;
  const keyId = rest.keyId;
  if (typeof sig !== "string" || typeof keyId !== "string") {
    return { ok: false, code: BridgeErrorCode.BAD_SIGNATURE, message: "unsigned: keyId and sig are required" };
  }
  const key = trusted.get(keyId);
  if (!key) return { ok: false, code: BridgeErrorCode.UNKNOWN_KEY, message: `key "${keyId.slice(0, 64)}" is not trusted by this machine` };
  const sigBytes = Buffer.from(sig, "base64url");
  if (sigBytes.length !== 64) return { ok: false, code: BridgeErrorCode.BAD_SIGNATURE, message: "sig is not a 64-byte Ed25519 signature" };
  let good = false;
  try {
    good = verify(null, Buffer.from(canonicalJson(rest), "utf8"), key, sigBytes);
  } catch {
    good = false; // canonicalJson refuses non-finite numbers: such a payload was never signed by a fleet
  }
  return good ? { ok: true, keyId } : { ok: false, code: BridgeErrorCode.BAD_SIGNATURE, message: "the signature does not verify" };
}

/** Trusted keys as `verifySignedPayload` wants them, from the machine config's `operatorKeys`. */
export function trustedKeyMap(keys: ReadonlyArray<{ keyId: string; publicKey: string }>): Map<string, KeyObject> {
  return new Map(keys.map((k) => [k.keyId, publicKeyFromHex(k.publicKey)]));
}
