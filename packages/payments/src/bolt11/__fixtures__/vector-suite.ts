import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { signatureEngine } from "../crypto.js";
import { decodeInvoice, invoiceToJson, isInvoiceError, type InvoiceErrorCode } from "../index.js";

interface Vector {
  id: number | string;
  title: string;
  valid: boolean;
  invoice: string;
  expected?: Record<string, unknown> & { features: { words: string; bits: number[] } };
  reason_code?: string;
  ref_decoder_error?: string;
  all_defects?: string[];
  strict_current_rules?: { valid: boolean; error: string };
}
const load = (name: string) => JSON.parse(readFileSync(new URL(`./${name}`, import.meta.url), "utf8"));
const main = load("bolt11.json") as {
  vectors: Vector[];
  proposed_vectors: Vector[];
  extra_vectors: Vector[];
  conventions: { signer_pubkey: string };
};
const extra = load("bolt11-extra.json") as { proposed_vectors: Vector[]; extra_vectors: Vector[] };
const SIGNER = main.conventions.signer_pubkey;

/** The reference decoder's reason codes, as this decoder's stable codes. */
const CODE_OF_REASON: Record<string, InvoiceErrorCode> = {
  unknown_even_feature: "unknown_required_feature",
  bech32_bad_checksum: "bad_checksum",
  bech32_no_separator: "no_separator",
  bech32_mixed_case: "mixed_case",
  signature_not_recoverable: "bad_signature",
  too_short: "too_short",
  hrp_invalid_amount: "bad_amount",
  hrp_sub_msat_precision: "sub_msat_amount",
  missing_s: "missing_field",
  signature_high_s_with_n: "bad_signature",
  duplicate_s: "duplicate_field",
  duplicate_p: "duplicate_field",
  bad_route_hint: "bad_route_hint",
  bad_fixed_length: "bad_fixed_length",
  bad_fallback: "bad_fallback",
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isInvoiceError(err)) return err.code;
    throw err;
  }
  return "accepted";
}

/**
 * Every vector of both fixture files through `decodeInvoice`, with and without the expected key. Run once per
 * signature engine (see vectors.test.ts and vectors-portable.test.ts), so both engines answer alike.
 */
export function describeVectorSuite(engine: "libsecp256k1" | "portable"): void {
  it(`runs on the ${engine} engine`, () => {
    expect(signatureEngine().name).toBe(engine);
  });
  const valid = main.vectors.filter((v) => v.valid && v.strict_current_rules === undefined);

  describe(`BOLT 11 spec vectors (${engine} engine): valid invoices decode to the fields the spec states`, () => {
    it.each(valid.map((v) => [v.id, v.title.slice(0, 60), v] as const))("vector %s: %s", (_id, _t, v) => {
      const e = v.expected!;
      const inv = decodeInvoice(v.invoice);
      const json = invoiceToJson(inv);
      expect(json.network).toBe(e.network);
      expect(inv.hrp).toBe(e.hrp);
      expect(json.amountMsat).toBe(e.amount_msat);
      expect(json.timestamp).toBe(e.timestamp);
      expect(json.paymentHash).toBe(e.payment_hash);
      expect(json.paymentSecret).toBe(e.payment_secret);
      expect(json.description).toBe(e.description);
      expect(json.descriptionHash).toBe(e.description_hash);
      expect(json.expiry).toBe(e.expiry);
      expect(json.minFinalCltvExpiry).toBe(e.min_final_cltv_expiry);
      expect(json.features).toEqual(e.features);
      expect(json.paymentMetadata).toBe(e.payment_metadata);
      expect(json.payeeNodeKey).toBe(e.payee_pubkey);
      expect(inv.payeeNodeKeySource).toBe(e.payee_pubkey_source);
      expect(inv.signature).toBe(e.signature ?? inv.signature);
      expect(inv.recoveryFlag).toBe(e.recovery_flag);
      expect(json.unknownFields).toEqual([]);
      expect(json.fallbackAddresses).toEqual(e.fallback_addresses);
      const hints = (e.route_hints as Record<string, unknown>[][]).map((hint) =>
        hint.map((h) => ({
          pubkey: h.pubkey,
          shortChannelId: h.short_channel_id,
          shortChannelIdHex: h.short_channel_id_hex,
          feeBaseMsat: h.fee_base_msat,
          feeProportionalMillionths: h.fee_proportional_millionths,
          cltvExpiryDelta: h.cltv_expiry_delta,
        })),
      );
      expect(json.routeHints).toEqual(hints);
    });

    it.each(valid.filter((v) => v.expected!.payee_pubkey === SIGNER).map((v) => [v.id, v] as const))(
      "vector %s verifies against the known signer key with the same fields as recovery",
      (_id, v) => {
        const recovered = decodeInvoice(v.invoice);
        const verified = decodeInvoice(v.invoice, { payeeNodeKey: SIGNER });
        expect(verified.payeeNodeKeySource).toBe("expected");
        expect({ ...verified, payeeNodeKeySource: "recovered" }).toEqual(recovered);
      },
    );

    it("vector 16 (high-S, no n): recovers the key of the transmitted s, so the spec signer key is refused", () => {
      const v = main.vectors.find((x) => x.id === 16)!;
      expect(decodeInvoice(v.invoice).payeeNodeKey).toBe("02d0139ce7427d6dfffd26a326c18be754ef1e64672b42694ba5b23ef6e6e7803d");
      expect(codeOf(() => decodeInvoice(v.invoice, { payeeNodeKey: SIGNER }))).toBe("wrong_payee");
    });

    it("vector 13 (all upper case) decodes like vector 12, in lower case", () => {
      const v12 = main.vectors.find((x) => x.id === 12)!;
      const v13 = main.vectors.find((x) => x.id === 13)!;
      expect(decodeInvoice(v13.invoice)).toEqual(decodeInvoice(v12.invoice));
    });

    it("vector 14 (wrong-length p/h/s/n listed as 'ignored') is refused with bad_fixed_length, as the current reader rule says", () => {
      const v = main.vectors.find((x) => x.id === 14)!;
      expect(v.strict_current_rules?.error).toBe("bad_fixed_length");
      expect(codeOf(() => decodeInvoice(v.invoice))).toBe("bad_fixed_length");
    });
  });

  describe(`BOLT 11 invalid vectors (${engine} engine) are refused with the stable code of their defect`, () => {
    // bolt11-extra.json carries the invoices; their reason codes are the ones bolt11.json records for the same ids.
    const reasonOf = new Map([...main.proposed_vectors, ...main.extra_vectors].map((v) => [v.id, v.ref_decoder_error]));
    const extras = [...extra.proposed_vectors, ...extra.extra_vectors].map((v) => ({ ...v, reason_code: reasonOf.get(v.id) }));
    const invalid = [...main.vectors.filter((v) => !v.valid), ...extras];
    it("covers every invalid vector of both fixture files", () => {
      expect(invalid).toHaveLength(10 + 2 + 5);
      expect(extras.every((v) => v.reason_code !== undefined)).toBe(true);
    });
    it.each(invalid.map((v) => [v.id, v.title.slice(0, 60), v] as const))("vector %s: %s", (_id, _t, v) => {
      const reasons = v.all_defects ?? [v.reason_code ?? v.ref_decoder_error!];
      const accepted = reasons.map((r) => CODE_OF_REASON[r]);
      // E4's title names its real defect: a 40-bit `c` field, which this reader refuses (bad_field) before it
      // reaches the 33-word `s` the reference decoder stops at.
      if (v.id === "E4") accepted.push("bad_field");
      expect(accepted.every((c) => c !== undefined)).toBe(true);
      expect(accepted).toContain(codeOf(() => decodeInvoice(v.invoice)));
      // The same refusal when the caller knows the signer: the fast path is as strict as recovery.
      expect(accepted).toContain(codeOf(() => decodeInvoice(v.invoice, { payeeNodeKey: SIGNER })));
    });
  });
}
