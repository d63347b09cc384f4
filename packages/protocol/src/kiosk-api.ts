import { z } from "zod";
import { MdbStatusView } from "./mdb.js";
import { CodedError, EpochMs, HealthSchema, Hex32, Id, MachineId, MsatString, SlotId, Bolt11String, text } from "./common.js";
import { Catalog } from "./catalog.js";
import { Order, OrderStateSchema, VendProgress } from "./order.js";

/** `POST /api/orders` body. Unknown keys are refused so a typo is not silently ignored. */
export const CreateOrderRequest = z.strictObject({
  slot: SlotId,
  /** Spend a credit the machine granted earlier (a failed vend after a plain payment). */
  creditId: Id.optional(),
});
export type CreateOrderRequest = z.infer<typeof CreateOrderRequest>;

/**
 * `201` answer of `POST /api/orders`. `amountMsat` is what is still to pay over Lightning. With a `creditId` whose
 * balance covers the price there is no invoice: `bolt11` and `paymentHash` are null, `amountMsat` is "0" and
 * `creditAppliedMsat` is the price. Without a `creditId` the answer is as it always was (both strings, no
 * `creditAppliedMsat`).
 */
export const CreateOrderResponse = z.object({
  orderId: Id,
  bolt11: Bolt11String.nullable(),
  paymentHash: Hex32.nullable(),
  amountMsat: MsatString,
  /** The part of the price paid from the credit (msat), present only when the order spends a credit. */
  creditAppliedMsat: MsatString.optional(),
  expiresAt: EpochMs,
  state: OrderStateSchema,
});
export type CreateOrderResponse = z.infer<typeof CreateOrderResponse>;

/** Every error answer of the machine and fleet HTTP APIs. */
export const ApiError = z.object({ error: CodedError });
export type ApiError = z.infer<typeof ApiError>;

/** HTTP error codes the machine API answers with (beyond the protocol parse codes). */
export const ApiErrorCode = {
  SOLD_OUT: "sold_out",
  SLOT_DISABLED: "slot_disabled",
  UNKNOWN_SLOT: "unknown_slot",
  NOT_FOUND: "not_found",
  PAYMENTS_UNAVAILABLE: "payments_unavailable",
  HARDWARE_UNAVAILABLE: "hardware_unavailable",
  OUT_OF_SERVICE: "out_of_service",
  BUSY: "busy",
  UNAUTHORIZED: "unauthorized",
  /** 404: `POST /api/orders {creditId}` names no credit this machine granted. */
  CREDIT_NOT_FOUND: "credit_not_found",
  /** 409: the credit's balance is used up. */
  CREDIT_SPENT: "credit_spent",
  /** 409: the credit is reserved by another open order (an invoice for the rest of a price is being shown). */
  CREDIT_IN_USE: "credit_in_use",
  /** 400: `POST /api/demo/sim` named a fault the sim board does not know. */
  UNKNOWN_SIM_FAULT: "unknown_sim_fault",
  /** 403: a POST from a page whose `Origin` is not on the machine's allow-list (another web site, a rebound name). */
  ORIGIN_NOT_ALLOWED: "origin_not_allowed",
  /** 403: a POST whose `Host` is not on the machine's allow-list (DNS rebinding). */
  HOST_NOT_ALLOWED: "host_not_allowed",
  /** 415: a POST whose body is not declared `content-type: application/json`. */
  UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
  /** 429: this kiosk session already shows an unpaid invoice (cancel it or let it expire first). */
  SESSION_ORDER_OPEN: "session_order_open",
  /** 429: the machine already has its maximum of unpaid invoices open (`maxPendingOrders`). */
  TOO_MANY_PENDING_ORDERS: "too_many_pending_orders",
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

export const MachineMode = { NORMAL: "normal", SERVICE: "service", MAINTENANCE: "maintenance" } as const;
export type MachineMode = (typeof MachineMode)[keyof typeof MachineMode];
export const MachineModeSchema = z.enum(["normal", "service", "maintenance"]);

/** The machine's state as the kiosk and the fleet need it to decide whether to sell. */
export const MachineStatusView = z.object({
  machineId: MachineId,
  mode: MachineModeSchema,
  /** True only when an invoice may be shown: payments up, hardware ready, door closed, normal mode. */
  selling: z.boolean(),
  payments: HealthSchema,
  hardware: HealthSchema,
  door: z.enum(["open", "closed"]),
  faults: z.array(CodedError).max(50),
  /**
   * The stored operating mode, whatever the door: `mode` says `service` while the door is open, this says whether
   * the machine is set in service (`normal`) or out of service (`maintenance`), for the service menu's control.
   * Optional: older machines do not send it.
   */
  operatingMode: z.enum(["normal", "maintenance"]).optional(),
  /** A machine that is the MDB cashless reader of a VMC: its MDB state. Absent on direct-drive machines. */
  mdb: MdbStatusView.optional(),
});
export type MachineStatusView = z.infer<typeof MachineStatusView>;

/** `GET /api/health`. */
export const HealthResponse = MachineStatusView.extend({
  status: HealthSchema,
  version: text(40),
  uptimeMs: z.int().min(0),
  /** True when the backend is the sim Lightning node: the kiosk then offers "pay with demo wallet" (`POST /api/demo/pay`). */
  demoWallet: z.boolean().optional(),
  /** True when the board is the sim board: the demo (and tests) can open the door and inject faults (`POST /api/demo/sim`). */
  demoBoard: z.boolean().optional(),
  /** True when the machine is the MDB reader of the sim VMC: the demo can press its keypad (`POST /api/demo/vmc`). */
  demoVmc: z.boolean().optional(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

/**
 * `POST /api/demo/sim` body (only with the sim board; otherwise `404 not_found`). `door` opens or closes the sim
 * door; `faults` REPLACES the set of injected sim faults (`[]` clears them). Fault names are the sim board's
 * (`pump-dry`, `spiral-jam`, `drop-sensor-stuck`, `door-open`, `flow-sensor-dead`); an unknown one is answered
 * `400 unknown_sim_fault`.
 */
export const DemoSimRequest = z.strictObject({
  door: z.enum(["open", "closed"]).optional(),
  faults: z.array(z.string().min(1).max(64)).max(20).optional(),
});
export type DemoSimRequest = z.infer<typeof DemoSimRequest>;

/** `200` answer of `POST /api/demo/sim`: the sim board as it is now. */
export const DemoSimResponse = z.object({
  door: z.enum(["open", "closed"]),
  faults: z.array(z.string().max(64)).max(20),
});
export type DemoSimResponse = z.infer<typeof DemoSimResponse>;

/**
 * `200` answer of `GET /api/orders/current`: the order being vended now (`held` or `dispensing`), else the most
 * recent order that reached a final state in the last 15 s, else null.
 */
export const CurrentOrderResponse = z.object({ order: Order.nullable() });
export type CurrentOrderResponse = z.infer<typeof CurrentOrderResponse>;

/** Messages the machine pushes on `WS /ws`. */
export const KioskServerMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("hello"), machineId: MachineId, boot: z.int().min(0), version: text(40) }),
  z.object({ type: z.literal("order"), order: Order }),
  z.object({ type: z.literal("status"), status: MachineStatusView }),
  z.object({ type: z.literal("progress"), orderId: Id, progress: VendProgress }),
  z.object({ type: z.literal("catalog"), catalog: Catalog }),
  z.object({ type: z.literal("pong"), t: z.int().min(0) }),
]);
export type KioskServerMessage = z.infer<typeof KioskServerMessage>;

/** Messages the kiosk sends on `WS /ws`. */
export const KioskClientMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ping"), t: z.int().min(0) }),
  /** Ask for the current state of one order (after a reconnect). */
  z.object({ type: z.literal("watch"), orderId: Id }),
]);
export type KioskClientMessage = z.infer<typeof KioskClientMessage>;
