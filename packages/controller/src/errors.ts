/** Why the controller refuses a request; each code maps to one HTTP status of the machine API. */
export const ControllerErrorCode = {
  UNKNOWN_SLOT: "unknown_slot",
  SLOT_DISABLED: "slot_disabled",
  SOLD_OUT: "sold_out",
  NO_PRICE: "no_price",
  OUT_OF_SERVICE: "out_of_service",
  PAYMENTS_UNAVAILABLE: "payments_unavailable",
  HARDWARE_UNAVAILABLE: "hardware_unavailable",
  INVOICE_UNTRUSTED: "invoice_untrusted",
  NOT_FOUND: "not_found",
  BAD_STATE: "bad_state",
  STOPPING: "stopping",
  /** `createOrder` with a credit id the machine never granted. */
  CREDIT_NOT_FOUND: "credit_not_found",
  /** The credit's balance is used up. */
  CREDIT_SPENT: "credit_spent",
  /** Another open order has the credit reserved. */
  CREDIT_IN_USE: "credit_in_use",
} as const;
export type ControllerErrorCode = (typeof ControllerErrorCode)[keyof typeof ControllerErrorCode];

export const httpStatusOf: Record<ControllerErrorCode, number> = {
  unknown_slot: 404,
  slot_disabled: 409,
  sold_out: 409,
  no_price: 503,
  out_of_service: 503,
  payments_unavailable: 503,
  hardware_unavailable: 503,
  invoice_untrusted: 503,
  not_found: 404,
  bad_state: 409,
  stopping: 503,
  credit_not_found: 404,
  credit_spent: 409,
  credit_in_use: 409,
};

export class ControllerError extends Error {
  constructor(
    readonly code: ControllerErrorCode,
    message: string,
    readonly context?: Record<string, unknown>,
  ) {
    super(`${message} (${code})`);
    this.name = "ControllerError";
  }

  get httpStatus(): number {
    return httpStatusOf[this.code];
  }
}
