import { z } from "zod";
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

/** `201` answer of `POST /api/orders`. */
export const CreateOrderResponse = z.object({
  orderId: Id,
  bolt11: Bolt11String,
  paymentHash: Hex32,
  amountMsat: MsatString,
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
});
export type MachineStatusView = z.infer<typeof MachineStatusView>;

/** `GET /api/health`. */
export const HealthResponse = MachineStatusView.extend({
  status: HealthSchema,
  version: text(40),
  uptimeMs: z.int().min(0),
  /** True when the backend is the sim Lightning node: the kiosk then offers "pay with demo wallet" (`POST /api/demo/pay`). */
  demoWallet: z.boolean().optional(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

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
