/** Stable codes of the fleet server's errors: the same code reaches the HTTP answer, the console and the log. */
export const FleetErrorCode = {
  NOT_FOUND: "not_found",
  MACHINE_NOT_FOUND: "machine_not_found",
  ALERT_NOT_FOUND: "alert_not_found",
  UNKNOWN_COMMAND: "unknown_command",
  UNKNOWN_SLOT: "unknown_slot",
  BAD_REQUEST: "bad_request",
  METHOD_NOT_ALLOWED: "method_not_allowed",
  LINK_DOWN: "link_down",
  PUBLISH_FAILED: "publish_failed",
  STORE_FAILED: "store_failed",
  BAD_CONFIG: "bad_config",
  BAD_KEY: "bad_key",
  INTERNAL: "internal",
} as const;
export type FleetErrorCode = (typeof FleetErrorCode)[keyof typeof FleetErrorCode];

export class FleetError extends Error {
  constructor(
    readonly code: FleetErrorCode | string,
    message: string,
    /** The HTTP status this error is answered with. */
    readonly status = 500,
    readonly context?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "FleetError";
  }
}
