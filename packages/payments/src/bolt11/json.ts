import type { Network } from "@zapvend/protocol";
import type { InvoiceFeatures, ParsedInvoice, RouteHop, UnknownField } from "./decode.js";
import type { FallbackAddress } from "./networks.js";

/** The JSON of `zapvend-invoice decode` (DESIGN.md): money as a decimal string, times in seconds, keys as hex. */
export interface InvoiceJson {
  network: Network;
  /** msat as a decimal string, or null for an invoice without an amount. */
  amountMsat: string | null;
  /** Seconds since the Unix epoch. */
  timestamp: number;
  paymentHash: string;
  paymentSecret: string;
  description: string | null;
  descriptionHash: string | null;
  /** Seconds (3600 when the invoice has no `x` field). */
  expiry: number;
  /** Blocks (18 when the invoice has no `c` field). */
  minFinalCltvExpiry: number;
  payeeNodeKey: string | null;
  features: InvoiceFeatures;
  routeHints: (readonly RouteHop[])[];
  fallbackAddresses: FallbackAddress[];
  paymentMetadata: string | null;
  unknownFields: UnknownField[];
}

export function invoiceToJson(inv: ParsedInvoice): InvoiceJson {
  return {
    network: inv.network,
    amountMsat: inv.amountMsat === null ? null : inv.amountMsat.toString(),
    timestamp: inv.timestampSec,
    paymentHash: inv.paymentHash,
    paymentSecret: inv.paymentSecret,
    description: inv.description,
    descriptionHash: inv.descriptionHash,
    expiry: inv.expirySec,
    minFinalCltvExpiry: inv.minFinalCltvExpiryBlocks,
    payeeNodeKey: inv.payeeNodeKey,
    features: inv.features,
    routeHints: [...inv.routeHints],
    fallbackAddresses: [...inv.fallbackAddresses],
    paymentMetadata: inv.paymentMetadata,
    unknownFields: [...inv.unknownFields],
  };
}
