// The sim node's use of the BOLT 11 codec: it signs the invoices it issues with its own node key, and its wallet
// decodes (and checks the signature of) what it is asked to pay.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import type { Network } from "@zapvend/protocol";

export interface SimInvoiceFields {
  network: Network;
  amountMsat: bigint | null;
  timestampSec: number;
  paymentHash: string;
  paymentSecret: string;
  description: string;
  expirySec: number;
  minFinalCltvExpiry: number;
}

export interface SimDecodedInvoice extends SimInvoiceFields {
  /** The key that signed the invoice (recovered from the signature, or the `n` field checked against it). */
  payeeNodeKey: string;
}

/** The compressed public key (hex) of a private key. */
export function publicKeyOf(privateKey: Uint8Array): string {
  return Buffer.from(secp256k1.getPublicKey(privateKey, true)).toString("hex");
}

export function signSimInvoice(_fields: SimInvoiceFields, _privateKey: Uint8Array): string {
  throw new Error("BOLT 11 encoder not wired yet");
}

export function decodeSimInvoice(_bolt11: string): SimDecodedInvoice {
  throw new Error("BOLT 11 decoder not wired yet");
}
