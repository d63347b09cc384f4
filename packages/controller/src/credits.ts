// Credits: what a buyer is owed after a vend failed behind a plain (already settled) payment, and how an order
// spends one. A credit is reserved by one open order at a time, debited only when that order's product came out,
// and given back (topped up with what was paid over Lightning) on any other end.
import { createHash } from "node:crypto";
import { isFinalOrderState, msatString, type Order, type OrderState } from "@zapvend/protocol";
import { ControllerError } from "./errors.js";
import type { CreditRecord, Journal, OrderRecord } from "./journal.js";

/** A credit that can be spent now, or the reason it cannot (`credit_not_found`, `credit_spent`, `credit_in_use`). */
export function checkCredit(journal: Journal, creditId: string): CreditRecord {
  const c = journal.getCredit(creditId);
  if (!c) throw new ControllerError("credit_not_found", `no credit ${creditId}`);
  if (c.balanceMsat <= 0n) throw new ControllerError("credit_spent", `credit ${creditId} is spent`);
  if (c.reservedBy) {
    const holder = journal.getOrder(c.reservedBy);
    if (holder && !isFinalOrderState(holder.state)) {
      throw new ControllerError("credit_in_use", `credit ${creditId} is used by the open order ${c.reservedBy}; cancel it or let it expire`);
    }
  }
  return c;
}

/** Inside the transaction of the order's final state: ends the order's reservation of its credit. Idempotent. */
export function closeCreditUse(journal: Journal, order: OrderRecord, to: OrderState, topUpMsat: bigint): void {
  const used = order.creditUsed!;
  const c = journal.getCredit(used.creditId);
  if (!c || c.reservedBy !== order.orderId) return;
  c.reservedBy = null;
  if (to === "completed") {
    c.balanceMsat -= used.appliedMsat;
    if (c.balanceMsat <= 0n) {
      c.balanceMsat = 0n;
      c.spentBy = order.orderId;
    }
  } else {
    c.balanceMsat += topUpMsat;
  }
  journal.updateCredit(c);
}

/**
 * The payment hash of the Lightning payment behind a credit (the order whose failed vend granted it). A credit
 * whose order is not in this journal (imported, or the journal was reset) gets a stable stand-in derived from the
 * credit id, which matches no invoice.
 */
export function creditFundingHash(journal: Journal, creditId: string): string {
  const funding = journal.getOrder(journal.getCredit(creditId)?.orderId ?? "")?.paymentHash;
  if (funding && /^[0-9a-f]{64}$/.test(funding)) return funding;
  return createHash("sha256").update(`zapvend-credit:${creditId}`).digest("hex");
}

/**
 * For a finished order that spent a credit: what is left on that credit now (the kiosk shows it), or null when
 * nothing is left. An open order still has the credit reserved: null.
 */
export function creditLeft(journal: Journal, o: OrderRecord): Order["credit"] {
  if (!o.creditUsed || !isFinalOrderState(o.state)) return null;
  const c = journal.getCredit(o.creditUsed.creditId);
  return c && c.balanceMsat > 0n && c.reservedBy === null ? { creditId: c.creditId, amountMsat: msatString(c.balanceMsat) } : null;
}
