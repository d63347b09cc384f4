import { z } from "zod";
import { Bolt11String, CodedError, EpochMs, Hex32, Id, MsatString, SlotId, text } from "./common.js";
import { FiatAmount, ProductKindSchema } from "./catalog.js";

/**
 * Order states (DESIGN.md). `pending`: invoice shown. `held`: payment accepted, not yet settled. `dispensing`.
 * `completed`: product out, payment settled. `refunded`: vend failed, hold cancelled (the buyer's wallet gets the
 * money back). `credited`: vend failed after a plain payment, a credit the buyer can spend. `expired`: never paid.
 */
export const OrderState = {
  PENDING: "pending",
  HELD: "held",
  DISPENSING: "dispensing",
  COMPLETED: "completed",
  REFUNDED: "refunded",
  CREDITED: "credited",
  EXPIRED: "expired",
} as const;
export type OrderState = (typeof OrderState)[keyof typeof OrderState];
export const OrderStateSchema = z.enum(["pending", "held", "dispensing", "completed", "refunded", "credited", "expired"]);

/** States an order never leaves. */
export const FINAL_ORDER_STATES: readonly OrderState[] = ["completed", "refunded", "credited", "expired"];

export function isFinalOrderState(state: OrderState): boolean {
  return FINAL_ORDER_STATES.includes(state);
}

/** What the sensors measured during a vend: kept with the order for the sales ledger and reconciliation. */
export const VendEvidence = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("pour"),
    targetMl: z.int().min(0).max(5_000),
    pouredMl: z.number().min(0).max(10_000),
    pulses: z.int().min(0),
    runMs: z.int().min(0),
  }),
  z.object({
    kind: z.literal("spiral"),
    dropSeen: z.boolean(),
    /** Whether the spiral left and came back to its home switch. */
    homed: z.boolean(),
    runMs: z.int().min(0),
  }),
]);
export type VendEvidence = z.infer<typeof VendEvidence>;

/** What proves an MDB vend: the VMC's own report over MDB, after zapvend approved the vend. */
export const MdbEvidence = z.object({
  kind: z.literal("mdb"),
  /** The VMC's selection (item number). */
  selection: z.int().min(0).max(65_535),
  /** The price the VMC asked, in its units (`scaleFactor × 10^-decimalPlaces` of the currency). */
  priceUnits: z.int().min(0),
  /** `success`: VEND SUCCESS read from the wire (what settles); `failure`: VEND FAILURE. */
  result: z.enum(["success", "failure"]),
  /** From the approval written to the VMC's answer. */
  waitedMs: z.int().min(0),
});
export type MdbEvidence = z.infer<typeof MdbEvidence>;

/**
 * The evidence an order's vend left: the machine's own sensors (`VendEvidence`: a pour, a spiral), or the VMC's
 * report when the machine is an MDB cashless reader (`MdbEvidence`).
 */
export const OrderEvidence = z.discriminatedUnion("kind", [...VendEvidence.options, MdbEvidence]);
export type OrderEvidence = z.infer<typeof OrderEvidence>;

/** Live progress of a vend, pushed on the kiosk WebSocket. */
export const VendProgress = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("pour"), pouredMl: z.number().min(0), targetMl: z.int().min(0) }),
  z.object({ kind: z.literal("spiral"), phase: z.enum(["turning", "waiting-drop", "done"]) }),
]);
export type VendProgress = z.infer<typeof VendProgress>;

/** An order as the machine's API shows it (`GET /api/orders/:id`, WebSocket `order` messages). */
export const Order = z.object({
  orderId: Id,
  slot: SlotId,
  productName: text(60),
  kind: ProductKindSchema,
  state: OrderStateSchema,
  amountMsat: MsatString,
  fiat: FiatAmount.nullable().optional(),
  /** Null only for an order paid entirely from a credit (no invoice). */
  paymentHash: Hex32.nullable(),
  /** Null only for an order paid entirely from a credit (no invoice). */
  bolt11: Bolt11String.nullable(),
  /** True when paid through a hold invoice (a failed vend refunds automatically). */
  hold: z.boolean(),
  createdAt: EpochMs,
  expiresAt: EpochMs,
  updatedAt: EpochMs,
  /** Why a vend failed or an order ended early. */
  failure: CodedError.nullable().optional(),
  evidence: OrderEvidence.nullable().optional(),
  /** Credit granted to the buyer when a plain-paid vend failed. */
  credit: z.object({ creditId: Id, amountMsat: MsatString }).nullable().optional(),
  /**
   * For an order paid (partly) from a credit: the part of the price taken from the credit. `amountMsat` is then the
   * rest, paid over Lightning ("0" when the credit covered everything).
   */
  creditAppliedMsat: MsatString.optional(),
  /**
   * `"lost"` on a `completed` order whose product came out but whose hold invoice could no longer be settled (the
   * node reports it canceled/expired: the HTLC timed out, e.g. after a long outage). The money was not taken; the
   * machine raised the fault `SETTLE_FAILED_HTLC_EXPIRED` for the operator. Absent when the payment was taken.
   */
  settlement: z.enum(["lost"]).optional(),
});
export type Order = z.infer<typeof Order>;
