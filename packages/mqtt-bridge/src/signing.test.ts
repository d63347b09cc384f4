import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "./connection.js";
import { publicKeyFromHex, signPayload, trustedKeyMap, verifySignedPayload } from "./signing.js";
import { operatorKey } from "./__fixtures__/machine.js";

describe("Ed25519 over canonicalJson", () => {
  const key = operatorKey("op-1");
  const trusted = trustedKeyMap([{ keyId: key.keyId, publicKey: key.publicKey }]);
  const payload = { v: 1, keyId: "op-1", args: { slot: "A1" }, ctr: 3 };

  it("verifies what was signed, whatever the key order on the wire", () => {
    const signed = signPayload(payload, key.privateKey);
    const reordered = JSON.parse(JSON.stringify({ sig: signed.sig, ctr: 3, args: { slot: "A1" }, keyId: "op-1", v: 1 })) as unknown;
    expect(verifySignedPayload(reordered, trusted)).toEqual({ ok: true, keyId: "op-1" });
  });

  it("refuses a changed field, an added field, an unknown key and a missing signature", () => {
    const signed = signPayload(payload, key.privateKey);
    expect(verifySignedPayload({ ...signed, ctr: 4 }, trusted)).toMatchObject({ ok: false, code: "BAD_SIGNATURE" });
    expect(verifySignedPayload({ ...signed, extra: true }, trusted)).toMatchObject({ ok: false, code: "BAD_SIGNATURE" });
    expect(verifySignedPayload({ ...signed, keyId: "op-2" }, trusted)).toMatchObject({ ok: false, code: "UNKNOWN_KEY" });
    expect(verifySignedPayload(payload, trusted)).toMatchObject({ ok: false, code: "BAD_SIGNATURE" });
    expect(verifySignedPayload("x", trusted)).toMatchObject({ ok: false, code: "BAD_SIGNATURE" });
  });

  it("refuses a public key that is not 32 bytes of hex", () => {
    expect(() => publicKeyFromHex("abcd")).toThrow(/BAD_KEY/);
  });
});

describe("reconnect backoff", () => {
  it("doubles from the minimum up to the cap, with half of each delay random", () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelayMs(a, 500, 30_000, () => 0))).toEqual([250, 500, 1_000, 2_000, 15_000]);
    expect([0, 1, 2, 3, 10].map((a) => backoffDelayMs(a, 500, 30_000, () => 0.999999))).toEqual([500, 1_000, 2_000, 4_000, 30_000]);
  });
});
