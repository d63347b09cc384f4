// Real signed BOLT 11 invoices for the fake servers, made with the payment core's own encoder and a fixed test
// node key, so what a fake returns is exactly what a node would (and `verifyInvoice` can check it).
import { randomBytes } from "node:crypto";
import type { Network } from "@zapvend/protocol";
import { encodeInvoice, publicKeyOf } from "../../bolt11/index.js";

/** The fakes' node key (a test key, never a real one). */
export const FAKE_NODE_PRIVATE_KEY = Buffer.from("e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734", "hex");
export const FAKE_NODE_PUBKEY = publicKeyOf(FAKE_NODE_PRIVATE_KEY);

export function fakeBolt11(opts: { paymentHash: string; amountMsat: bigint; description?: string; timestampSec?: number; expirySec?: number; network?: Network }): string {
  return encodeInvoice(
    {
      network: opts.network ?? "regtest",
      amountMsat: opts.amountMsat,
      timestampSec: opts.timestampSec ?? 1_763_700_000,
      paymentHash: opts.paymentHash,
      paymentSecret: randomBytes(32).toString("hex"),
      description: opts.description ?? "",
      ...(opts.expirySec !== undefined ? { expirySec: opts.expirySec } : {}),
    },
    FAKE_NODE_PRIVATE_KEY,
  );
}
