import { z } from "zod";
import { CodedError, EpochMs, SlotId, text } from "./common.js";
import { ProductKindSchema } from "./catalog.js";
import { OrderEvidence } from "./order.js";
import { MachineStatusView } from "./kiosk-api.js";

// The technician's service API of the machine, behind the PIN (the kiosk's service menu). Every route below
// `/api/service/` except `login` needs `Authorization: Bearer <token>`; a missing or expired token is answered
// `401 {error: {code: "unauthorized"}}` and the kiosk asks for the PIN again.

/** Error codes of `POST /api/service/login`. */
export const ServiceLoginErrorCode = {
  /** 401: the PIN is not the configured one. */
  WRONG_PIN: "wrong_pin",
  /** 429: too many wrong PINs; the menu is locked for a while. */
  LOCKED: "locked",
  /** 503: the machine's config has no service PIN: the menu is disabled. */
  NO_PIN_CONFIGURED: "no_pin_configured",
  /**
   * 403: the machine's door is closed. The menu needs the PIN AND the open door; this is answered before the PIN is
   * checked, so a buyer at a closed machine cannot guess PINs. Closing the door ends every service token.
   */
  DOOR_CLOSED: "door_closed",
  /**
   * 403, an MDB machine with `serviceAccess: "vmc-service"`: the VMC is not in its service mode (it does not keep the
   * reader disabled). Like `door_closed`, answered before the PIN is checked; the VMC enabling the reader again ends
   * every service token.
   */
  VMC_NOT_IN_SERVICE: "vmc_not_in_service",
} as const;
export type ServiceLoginErrorCode = (typeof ServiceLoginErrorCode)[keyof typeof ServiceLoginErrorCode];

/** `POST /api/service/login` body. */
export const ServiceLoginRequest = z.strictObject({
  pin: z.string().regex(/^[0-9]{4,12}$/, "a PIN is 4 to 12 digits"),
});
export type ServiceLoginRequest = z.infer<typeof ServiceLoginRequest>;

/** `200` answer of `POST /api/service/login`. */
export const ServiceLoginResponse = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  expiresAt: EpochMs,
});
export type ServiceLoginResponse = z.infer<typeof ServiceLoginResponse>;

/** One slot as the technician sees it. */
export const ServiceSlot = z.object({
  slot: SlotId,
  name: text(60),
  kind: ProductKindSchema,
  stock: z.int().min(0).max(10_000),
  capacity: z.int().min(1).max(10_000),
  enabled: z.boolean(),
});
export type ServiceSlot = z.infer<typeof ServiceSlot>;

/** `GET /api/service/status`: the machine's status plus every slot's stock. */
export const ServiceStatusResponse = MachineStatusView.extend({
  version: text(40),
  uptimeMs: z.int().min(0),
  boot: z.int().min(0),
  slots: z.array(ServiceSlot).max(200),
  /**
   * What opens the service menu: `door` (the door sensor, direct drive), `vmc-service` (an MDB machine whose VMC
   * disabled the reader: its service mode) or `pin` (the PIN alone). Absent from older daemons: `door`.
   */
  serviceAccess: z.enum(["door", "vmc-service", "pin"]).optional(),
});
export type ServiceStatusResponse = z.infer<typeof ServiceStatusResponse>;

/** `POST /api/service/restock` body: the stock now in the slot after the technician filled it (0..capacity). */
export const RestockRequest = z.strictObject({
  slot: SlotId,
  stock: z.int().min(0).max(10_000),
});
export type RestockRequest = z.infer<typeof RestockRequest>;

/** `200` answer of `POST /api/service/restock`: the slot as it is now. A stock above capacity: `400 out_of_range`. */
export const RestockResponse = ServiceSlot;
export type RestockResponse = z.infer<typeof RestockResponse>;

/** `POST /api/service/test-vend` body. A test vend takes no payment and does not count as a sale. */
export const TestVendRequest = z.strictObject({ slot: SlotId });
export type TestVendRequest = z.infer<typeof TestVendRequest>;

/** `200` answer of `POST /api/service/test-vend`, once the vend finished (or failed). */
export const TestVendResponse = z.object({
  slot: SlotId,
  ok: z.boolean(),
  /** The fault when it failed (`FaultCode`). */
  failure: CodedError.nullable(),
  evidence: OrderEvidence.nullable(),
  finishedAt: EpochMs,
});
export type TestVendResponse = z.infer<typeof TestVendResponse>;

/** `POST /api/service/mode` body: `maintenance` takes the machine out of service (no invoices), `normal` back in. */
export const ServiceModeRequest = z.strictObject({
  mode: z.enum(["normal", "maintenance"]),
});
export type ServiceModeRequest = z.infer<typeof ServiceModeRequest>;
// `POST /api/service/mode` answers `200` with a `ServiceStatusResponse` (the status after the change). The mode is
// kept in the machine's journal across restarts; the fleet's desired-state `mode` sets the same value.

// `GET /api/service/harness` answers a `HarnessReport` (harness.ts), the same report as `zapvend-harness --json`.
// `POST /api/service/logout` ends the token: `204`.
