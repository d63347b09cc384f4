// The sim node's scriptable faults: what goes wrong on real networks and at real buyers' phones, on demand.
// Set programmatically (`node.faults.set({...})`) or over HTTP (`POST /sim/faults` with the JSON form below).
import { z } from "zod";
import { Hex32 } from "@zapvend/protocol";

export interface SimFaultState {
  /** Stream notifications (including the current state sent on every (re)subscribe) dropped from now on: a count, or -1 for all until cleared. */
  dropNotifications: number;
  /** The REST API (the LND routes) takes requests and answers none of them until this is cleared; then it answers them. */
  stall: boolean;
  /** The REST API closes every connection at once, as a node that is down or restarting. */
  refuse: boolean;
  /** The wallet pays an invoice even after its expiry (the node must still turn the payment away). */
  payAfterExpiry: boolean;
  /** The wallet sends every payment twice (the node must take it once). */
  payTwice: boolean;
  /** The wallet pays this many msat more (positive) or less (negative) than the invoice asks. */
  payAmountDeltaMsat: bigint;
  /** The node takes an HTLC below the invoice amount (a broken or dishonest node; LND refuses it). */
  acceptUnderpayment: boolean;
}

export const noFaults = (): SimFaultState => ({
  dropNotifications: 0,
  stall: false,
  refuse: false,
  payAfterExpiry: false,
  payTwice: false,
  payAmountDeltaMsat: 0n,
  acceptUnderpayment: false,
});

/** The body of `POST /sim/faults`: persistent faults to set, plus one-shot actions. Amounts are decimal strings. */
export const SimFaultRequest = z.strictObject({
  /** Clears every persistent fault first. */
  clear: z.boolean().optional(),
  dropNotifications: z.int().min(-1).max(1_000_000).optional(),
  stall: z.boolean().optional(),
  refuse: z.boolean().optional(),
  payAfterExpiry: z.boolean().optional(),
  payTwice: z.boolean().optional(),
  payAmountDeltaMsat: z.string().regex(/^-?(0|[1-9][0-9]{0,18})$/).optional(),
  acceptUnderpayment: z.boolean().optional(),
  /** One-shot: close every open invoice stream now (a node restart as its subscribers see it). */
  restartStreams: z.boolean().optional(),
  /** One-shot: push a notification the node's lookup will not confirm (a forged "paid"). */
  forgePush: z.strictObject({ paymentHash: Hex32, state: z.enum(["ACCEPTED", "SETTLED"]) }).optional(),
});
export type SimFaultRequest = z.infer<typeof SimFaultRequest>;

/** The fault state as JSON (amounts as strings). */
export function faultsToJson(f: SimFaultState): Record<string, unknown> {
  return { ...f, payAmountDeltaMsat: f.payAmountDeltaMsat.toString() };
}
