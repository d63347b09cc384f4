import { z } from "zod";
import { CodedError, EpochMs, Hex32, Id, MachineId, MsatString, SlotId, text } from "./common.js";
import { FiatAmount } from "./catalog.js";
import { MAX_COMMAND_LIFETIME_MS } from "./mqtt-payloads.js";
import { OrderEvidence } from "./order.js";

/** One machine as `GET /api/machines` lists it. */
export const MachineSummary = z.object({
  id: MachineId,
  status: z.enum(["online", "offline", "lost", "service", "unknown"]),
  boot: z.int().min(0).nullable(),
  lastSeen: EpochMs.nullable(),
  model: text(60).nullable(),
  softwareVersion: text(40).nullable(),
  stock: z.array(z.object({ slot: SlotId, name: text(60), stock: z.int().min(0), capacity: z.int().min(1) })),
  faults: z.array(CodedError),
  /** Sequence numbers the fleet expected but never received (lost events), if any. */
  missingEvents: z.int().min(0),
  /**
   * `direct`: zapvend drives the pump and spirals itself; `mdb`: the cashless reader of a vending machine whose own
   * controller (VMC) vends. From the machine's birth; absent until the fleet received one.
   */
  kind: z.enum(["direct", "mdb"]).optional(),
});
export type MachineSummary = z.infer<typeof MachineSummary>;

/** One sale as `GET /api/sales` lists it, ready to reconcile against the Lightning node. */
export const Sale = z.object({
  machineId: MachineId,
  eventId: Id,
  seq: z.int().min(0),
  orderId: Id,
  slot: SlotId,
  productName: text(60),
  amountMsat: MsatString,
  fiat: FiatAmount.nullable(),
  paymentHash: Hex32,
  hold: z.boolean(),
  evidence: OrderEvidence,
  settledAt: EpochMs,
  /** The VMC's selection number, for a sale of an MDB machine. */
  selection: z.int().min(0).max(65_535).optional(),
});
export type Sale = z.infer<typeof Sale>;

/**
 * `GET /api/sales?machine=&from=&to=` — query strings as received: `from`/`to` in epoch ms, ISO 8601 with a zone, or
 * a date (`YYYY-MM-DD`: a local day of the route's `tz=` or the operator's zone; the fleet's sales-query.ts reads them).
 */
export const SalesQuery = z.strictObject({
  machine: MachineId.optional(),
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
  limit: z.string().regex(/^[0-9]{1,5}$/).optional(),
});
export type SalesQuery = z.infer<typeof SalesQuery>;

export const AlertKind = {
  MACHINE_LOST: "machine-lost",
  MACHINE_OFFLINE: "machine-offline",
  NO_SALES: "no-sales",
  LOW_STOCK: "low-stock",
  DOOR_OPEN: "door-open",
  TEMPERATURE: "temperature",
  VEND_FAILURES: "vend-failures",
  PAYMENTS_DOWN: "payments-down",
  EVENTS_MISSING: "events-missing",
} as const;
export type AlertKind = (typeof AlertKind)[keyof typeof AlertKind];

/** `GET /api/alerts`. */
export const Alert = z.object({
  id: Id,
  machineId: MachineId,
  kind: z.enum(Object.values(AlertKind) as [AlertKind, ...AlertKind[]]),
  severity: z.enum(["info", "warning", "critical"]),
  message: text(500),
  raisedAt: EpochMs,
  clearedAt: EpochMs.nullable(),
  acknowledgedAt: EpochMs.nullable(),
});
export type Alert = z.infer<typeof Alert>;

/** `POST /api/machines/:id/commands/:name` body. */
export const CommandRequest = z.strictObject({
  args: z.record(z.string().max(64), z.unknown()).default({}),
  /** How long the signed command stays valid, in ms. Default 30 000; at most `MAX_COMMAND_LIFETIME_MS` (machines refuse longer). */
  ttlMs: z.int().min(1_000).max(MAX_COMMAND_LIFETIME_MS).optional(),
});
export type CommandRequest = z.infer<typeof CommandRequest>;

/** The answer: the command id to follow; its result arrives on the WebSocket and in the command log. */
export const CommandAccepted = z.object({ rid: Id, status: z.literal("sent") });
export type CommandAccepted = z.infer<typeof CommandAccepted>;
