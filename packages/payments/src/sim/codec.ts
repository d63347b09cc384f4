// The sim node's use of the BOLT 11 codec: it signs the invoices it issues with its own node key, and its wallet
// decodes (and checks the signature of) what it is asked to pay.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import type { Network } from "@zapvend/protocol";
import { decodeInvoice } from "../bolt11/decode.js";
import { encodeInvoice } from "../bolt11/encode.js";

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

/** A signed invoice as an LND node writes one: payment secret, var_onion_optin and payment_secret features. */
export function signSimInvoice(fields: SimInvoiceFields, privateKey: Uint8Array): string {
  return encodeInvoice(
    {
      network: fields.network,
      amountMsat: fields.amountMsat,
      timestampSec: fields.timestampSec,
      paymentHash: fields.paymentHash,
      paymentSecret: fields.paymentSecret,
      description: fields.description,
      expirySec: fields.expirySec,
      minFinalCltvExpiryBlocks: fields.minFinalCltvExpiry,
    },
    privateKey,
  );
}

/** Decodes an invoice and checks its signature (throws the codec's `InvoiceError` on any defect). */
export function decodeSimInvoice(bolt11: string): SimDecodedInvoice {
  const d = decodeInvoice(bolt11);
  return {
    network: d.network,
    amountMsat: d.amountMsat,
    timestampSec: d.timestampSec,
    paymentHash: d.paymentHash,
    paymentSecret: d.paymentSecret,
    description: d.description ?? "",
    expirySec: d.expirySec,
    minFinalCltvExpiry: d.minFinalCltvExpiryBlocks,
    payeeNodeKey: d.payeeNodeKey,
  };
}
