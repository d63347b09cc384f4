// The order state machine, as decisions only: which transitions exist, and what the controller must do next for a
// payment update or for an order found open after a restart. Nothing here touches the journal, the node or the
// hardware; `VendController` performs what these functions decide (the split zwave-js makes between its state
// machines and the driver that runs them). Each function is pure, so every branch is testable on plain records.
import type { CodedError, OrderState } from "@zapvend/protocol";
import type { OrderRecord } from "./journal.js";
import type { InvoiceLookup } from "./ports.js";

/**
 * Every transition an order may make. `pending` → `held` → `dispensing` → `completed` is the sale; the others end it
 * without one. A final state (`completed`, `refunded`, `credited`) has no way out; `expired` only to `credited` (a
 * plain invoice paid after it ended becomes a credit).
 */
export const ORDER_TRANSITIONS: Readonly<Record<OrderState, readonly OrderState[]>> = {
  pending: ["held", "dispensing", "expired", "refunded", "credited"],
  held: ["dispensing", "refunded", "credited"],
  dispensing: ["completed", "refunded", "credited"],
  expired: ["credited"],
  completed: [],
  refunded: [],
  credited: [],
};

/** Whether the table above allows `from` → `to` (a state written again with a note is not a transition). */
export function canTransition(from: OrderState, to: OrderState): boolean {
  return from === to || ORDER_TRANSITIONS[from].includes(to);
}

/** An order paid entirely from a credit: no invoice, nothing to pay over Lightning. */
export function isCreditOnly(o: Pick<OrderRecord, "creditUsed" | "amountMsat">): boolean {
  return o.creditUsed !== null && o.amountMsat === 0n;
}

/** Backoff of settle and cancel retries: 5 s, 10 s, 20 s, ... capped at 5 min. */
export function retryDelayMs(attempt: number): number {
  return Math.min(5_000 * 2 ** Math.min(attempt, 10), 300_000);
}

// --- a verified payment update ---------------------------------------------------------------------------------

export type PaymentDecision =
  /** The node cancelled the invoice: a pending order expires; tracking ends either way. */
  | { do: "cancelled"; expire: boolean }
  /** Nothing to do (still open, paid short, a repeated notification). */
  | { do: "ignore" }
  /** Paid, but the machine will not vend for it any more: refund a hold, credit a plain payment. */
  | { do: "refuse-late"; why: string }
  /** A plain invoice whose reported preimage does not hash to the order's payment hash: never vended. */
  | { do: "reject-preimage" }
  /**
   * Vend it. `held-and-dispensing`: a hold with the vend queue idle, both transitions in one journal transaction and
   * the vend started in this tick; `held-then-queue`: a hold written `held` that waits its turn; `queue`: a plain
   * payment, vended from `pending` (its `dispensing` is written when its turn comes).
   */
  | { do: "vend"; via: "held-and-dispensing" | "held-then-queue" | "queue" };

export interface PaymentFacts {
  now: number;
  vendQueueIdle: boolean;
  /** For a plain invoice: whether the preimage the backend reported (if any) hashes to the payment hash. */
  preimageMatches: boolean;
}

/** What a verified invoice update means for the order it belongs to. */
export function decidePaymentUpdate(order: OrderRecord, lookup: InvoiceLookup, facts: PaymentFacts): PaymentDecision {
  if (lookup.state === "canceled") return { do: "cancelled", expire: order.state === "pending" };
  if (lookup.state === "open" || lookup.amountPaidMsat < order.amountMsat) return { do: "ignore" };
  switch (order.state) {
    case "pending":
      if (facts.now > order.expiresAt) return { do: "refuse-late", why: "paid after the invoice expired" };
      if (!order.hold) {
        if (lookup.state !== "settled") return { do: "ignore" };
        if (!facts.preimageMatches) return { do: "reject-preimage" };
        return { do: "vend", via: "queue" };
      }
      return { do: "vend", via: facts.vendQueueIdle ? "held-and-dispensing" : "held-then-queue" };
    case "expired":
      return { do: "refuse-late", why: "paid after the order ended" };
    default:
      // held / dispensing / completed / refunded / credited: a repeated notification, nothing to do.
      return { do: "ignore" };
  }
}

/** A hold invoice reported settled that the machine did not settle: only the machine knows the preimage. */
export function preimageLeaked(order: OrderRecord, lookup: InvoiceLookup): boolean {
  return order.hold && lookup.state === "settled" && order.state !== "completed" && !order.evidence && lookup.amountPaidMsat >= order.amountMsat;
}

// --- recovery of an open order ---------------------------------------------------------------------------------

export type PendingRecovery =
  | { do: "underpaid" }
  /** Paid while the machine was down and the buyer is plausibly still there: (`held` for a hold, then) vend. */
  | { do: "vend" }
  | { do: "refuse-late"; why: string }
  | { do: "expire"; reason: CodedError }
  /** Still payable: watch it again until its expiry. */
  | { do: "track" };

/** A `pending` order with an issued invoice, found open after a restart (or a retry), given a fresh lookup. */
export function decidePendingRecovery(order: OrderRecord, lookup: InvoiceLookup, now: number, graceMs: number): PendingRecovery {
  const someone = lookup.state === "accepted" || lookup.state === "settled";
  const paid = someone && lookup.amountPaidMsat >= order.amountMsat;
  if (someone && lookup.amountPaidMsat > 0n && !paid) return { do: "underpaid" };
  // The VMC's vend request did not survive the restart (the VMC timed out or was reset meanwhile): never approved.
  if (paid && order.kind === "mdb") return { do: "refuse-late", why: "paid while the machine was down; the VMC's vend request is gone" };
  if (paid && now <= order.expiresAt + graceMs) return { do: "vend" };
  if (paid) return { do: "refuse-late", why: "paid while the machine was down; the buyer has left" };
  if (now >= order.expiresAt || lookup.state === "canceled") return { do: "expire", reason: { code: "invoice_expired", message: "the invoice expired unpaid" } };
  // Unpaid, but the VMC that asked for it forgot its request when the machine restarted: nobody may pay it now.
  if (order.kind === "mdb") return { do: "expire", reason: { code: "interrupted", message: "the machine restarted; the VMC's vend request is gone" } };
  return { do: "track" };
}

export type HeldRecovery = { do: "vend" } | { do: "credit"; reason: CodedError } | { do: "refund"; reason: CodedError };

/** A `held` order (paid, the motor never started): vend if the buyer is plausibly still there, else give it back. */
export function decideHeldRecovery(order: OrderRecord, now: number, graceMs: number): HeldRecovery {
  // An MDB vend is approved only while the VMC's request is open, and no request survives a restart.
  if (order.kind === "mdb") return { do: "refund", reason: { code: "interrupted", message: "the machine restarted before approving the VMC's vend; refunded" } };
  if (now <= order.expiresAt + graceMs) return { do: "vend" };
  // Nothing was paid over Lightning for a credit-only order: the credit goes back to the buyer.
  if (isCreditOnly(order)) return { do: "credit", reason: { code: "interrupted", message: "the machine restarted before vending; credit kept" } };
  return { do: "refund", reason: { code: "interrupted", message: "the machine restarted before vending; refunded" } };
}

export type DispensingRecovery =
  | { do: "complete" }
  /**
   * `possiblyVended`: an MDB approval whose result was never read; the product may have come out. `counted`: the
   * machine already counted it as possibly given away when the vend failed (`failVend`), so it is not counted again.
   */
  | { do: "refund"; failure: CodedError; possiblyVended?: boolean; counted?: boolean }
  | { do: "credit"; failure: CodedError };

/** The failure code of an MDB vend the VMC was (or was about to be) approved for, whose result was never read. */
export const MDB_RESULT_UNKNOWN = "MDB_RESULT_UNKNOWN";

/**
 * Failures of an MDB vend whose approval was written (or being written) that are not a result from the VMC: the port
 * closed, the VMC reset or disabled the reader or sent a new request, no result came in time, or the machine
 * stopped. The VMC may have vended all the same, so, as an approval a crash left without result, the order is
 * refunded and counted as possibly given away. (VEND FAILURE and a VMC cancel are the VMC's own word that nothing
 * came out; a failed write or a request already gone never reached the VMC.) The codes are VmcSales's
 * (`MdbVendCode`) and the controller's abort.
 */
export const MDB_OUTCOME_UNKNOWN_CODES: ReadonlySet<string> = new Set([
  MDB_RESULT_UNKNOWN,
  "MDB_PORT_CLOSED",
  "VMC_RESULT_TIMEOUT",
  "VMC_RESET",
  "VMC_DISABLED",
  "VMC_TIMEOUT",
  "VEND_ABORTED",
]);

/** A failed vend of an MDB order after its approval went out, with no result from the VMC: possibly given away. */
export function mdbPossiblyVended(kind: string, failure: CodedError | null): boolean {
  return kind === "mdb" && failure !== null && MDB_OUTCOME_UNKNOWN_CODES.has(failure.code);
}

/**
 * A `dispensing` order: settled only with its evidence on disk and no failure; anything else cannot be proven and
 * goes back to the buyer (a cancelled hold, or a credit after a plain payment).
 */
export function decideDispensingRecovery(order: OrderRecord, afterRestart: boolean): DispensingRecovery {
  if (order.evidence && !order.failure) return { do: "complete" };
  // A failed MDB vend whose cancel did not go through before the restart: counted when it failed.
  if (order.hold && mdbPossiblyVended(order.kind, order.failure)) return { do: "refund", failure: order.failure!, possiblyVended: true, counted: true };
  if (order.kind === "mdb" && !order.failure) {
    // `dispensing` is on disk before the approval is written, so the approval may have reached the VMC: what cannot
    // be proven is refunded, and the operator is told a product may have been given away.
    const failure = { code: MDB_RESULT_UNKNOWN, message: "the VMC's result of an approved vend was never read; refunded, the product may have come out" };
    return order.hold ? { do: "refund", failure, possiblyVended: true } : { do: "credit", failure };
  }
  const failure = order.failure ?? {
    code: afterRestart ? "interrupted" : "VEND_FAILED",
    message: "the machine restarted during the vend; no evidence the product came out",
  };
  return order.hold ? { do: "refund", failure } : { do: "credit", failure };
}
