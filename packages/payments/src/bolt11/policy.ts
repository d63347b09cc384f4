import { timingSafeEqual } from "node:crypto";
import type { Network } from "@zapvend/protocol";
import { sha256 } from "./crypto.js";
import { decodeInvoice, type DecodedInvoice } from "./decode.js";
import { InvoiceError, InvoiceErrorCode } from "./errors.js";

/** What the machine expects of an invoice its backend returned. */
export interface InvoicePolicy {
  /** The node key every invoice must be signed by (33 bytes compressed, hex). */
  payeeNodeKey: string;
  network: Network;
  /** The exact amount the machine asked for. */
  amountMsat: bigint;
  /** The payment hash the machine made (hold invoice) or the backend reported, 32 bytes hex. */
  paymentHash?: string;
  /** The description the machine asked for; compared with `d`, or with `h` as its sha256. */
  description?: string;
  /** The description hash the machine asked for, 32 bytes hex. */
  descriptionHash?: string;
  /** Now, in ms since the epoch, from the caller's injected clock. */
  nowMs: number;
  /** Seconds the invoice must still be valid for: the buyer has to pay and the machine to vend. Default 60. */
  minRemainingSec?: number;
  /** How far the invoice's timestamp may be ahead of `nowMs` (clock skew of the node), in seconds. Default 600. */
  maxClockSkewSec?: number;
}

function refuse(code: InvoiceErrorCode, message: string, context?: Record<string, unknown>): never {
  throw new InvoiceError(code, message, context);
}

/**
 * The machine's check of an invoice its backend made ("don't trust, verify"): signed by the configured node, for the
 * configured network, for exactly the amount, with the payment hash and description the machine asked for, and
 * valid long enough to pay and vend. Takes the invoice text (decoded here, with the fast verification against
 * `policy.payeeNodeKey`) or an already decoded invoice. Returns the decoded invoice; throws `InvoiceError`.
 */
export function verifyInvoice(invoice: string | DecodedInvoice, policy: InvoicePolicy): DecodedInvoice {
  const expectedKey = policy.payeeNodeKey.toLowerCase();
  const inv = typeof invoice === "string" ? decodeInvoice(invoice, { payeeNodeKey: expectedKey }) : invoice;
  if (inv.network !== policy.network) {
    refuse(InvoiceErrorCode.WRONG_NETWORK, `the invoice is for ${inv.network}, the machine runs on ${policy.network}`);
  }
  if (inv.payeeNodeKey !== expectedKey) {
    refuse(InvoiceErrorCode.WRONG_PAYEE, `the invoice is signed by node ${inv.payeeNodeKey}, not ${expectedKey}`, {
      payee: inv.payeeNodeKey,
    });
  }
  if (inv.amountMsat === null) refuse(InvoiceErrorCode.WRONG_AMOUNT, "the invoice has no amount: the payer could pay anything");
  if (inv.amountMsat !== policy.amountMsat) {
    refuse(InvoiceErrorCode.WRONG_AMOUNT, `the invoice asks ${inv.amountMsat} msat, the machine asked ${policy.amountMsat} msat`, {
      amountMsat: inv.amountMsat.toString(),
    });
  }
  if (policy.paymentHash !== undefined && inv.paymentHash !== policy.paymentHash.toLowerCase()) {
    refuse(InvoiceErrorCode.WRONG_PAYMENT_HASH, "the invoice's payment hash is not the one the machine made", {
      paymentHash: inv.paymentHash,
    });
  }
  if (policy.description !== undefined) {
    const matches =
      inv.description !== null
        ? inv.description === policy.description
        : inv.descriptionHash === Buffer.from(sha256(new TextEncoder().encode(policy.description))).toString("hex");
    if (!matches) refuse(InvoiceErrorCode.WRONG_DESCRIPTION, "the invoice's description is not the one the machine asked for");
  }
  if (policy.descriptionHash !== undefined && inv.descriptionHash !== policy.descriptionHash.toLowerCase()) {
    refuse(InvoiceErrorCode.WRONG_DESCRIPTION, "the invoice's description hash is not the one the machine asked for");
  }
  const nowSec = Math.floor(policy.nowMs / 1000);
  const skewSec = policy.maxClockSkewSec ?? 600;
  if (inv.timestampSec > nowSec + skewSec) {
    refuse(InvoiceErrorCode.TIMESTAMP_IN_FUTURE, `the invoice is dated ${inv.timestampSec - nowSec} s in the future`);
  }
  const remainingSec = inv.expiresAtSec - nowSec;
  if (remainingSec <= 0) refuse(InvoiceErrorCode.EXPIRED, `the invoice expired ${-remainingSec} s ago`);
  const minRemainingSec = policy.minRemainingSec ?? 60;
  if (remainingSec < minRemainingSec) {
    refuse(InvoiceErrorCode.EXPIRY_TOO_SHORT, `the invoice is valid for ${remainingSec} s, less than the ${minRemainingSec} s needed`);
  }
  return inv;
}

/**
 * Whether `preimage` (32 bytes, hex or bytes) hashes to `paymentHash` (32 bytes hex): the proof a plain invoice was
 * paid. A malformed argument is simply not a match.
 */
export function verifyPreimage(paymentHash: string, preimage: string | Uint8Array): boolean {
  if (typeof paymentHash !== "string" || !/^[0-9a-fA-F]{64}$/.test(paymentHash)) return false;
  let bytes: Uint8Array;
  if (typeof preimage === "string") {
    if (!/^[0-9a-fA-F]{64}$/.test(preimage)) return false;
    bytes = Buffer.from(preimage, "hex");
  } else {
    bytes = preimage;
  }
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) return false;
  return timingSafeEqual(sha256(bytes), Buffer.from(paymentHash, "hex"));
}
