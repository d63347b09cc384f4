// An order as the machine API, the kiosk's WebSocket and the `order` event show it.
import { msatString, type Order } from "@zapvend/protocol";
import { creditLeft } from "./credits.js";
import type { Journal, OrderRecord } from "./journal.js";
import { isCreditOnly } from "./order-machine.js";

export function orderView(journal: Journal, o: OrderRecord): Order {
  return {
    orderId: o.orderId,
    slot: o.slot,
    productName: o.productName,
    kind: o.kind,
    state: o.state,
    amountMsat: msatString(o.amountMsat),
    fiat: o.fiat,
    paymentHash: isCreditOnly(o) ? null : o.paymentHash,
    bolt11: isCreditOnly(o) ? null : o.bolt11,
    hold: o.hold,
    createdAt: o.createdAt,
    expiresAt: o.expiresAt,
    updatedAt: o.updatedAt,
    failure: o.failure,
    evidence: o.evidence,
    credit: o.credit ? { creditId: o.credit.creditId, amountMsat: msatString(o.credit.amountMsat) } : creditLeft(journal, o),
    ...(o.creditUsed ? { creditAppliedMsat: msatString(o.creditUsed.appliedMsat) } : {}),
    ...(o.settlement ? { settlement: o.settlement } : {}),
  };
}
