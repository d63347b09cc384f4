/**
 * Stable codes of what goes wrong at a machine. The same code reaches the kiosk, the fleet console, the harness
 * report and the logs. On the wire a code is a plain string (newer machines may send codes older consoles do not
 * know); these are the ones zapvend itself raises.
 */
export const FaultCode = {
  // Pour station
  PUMP_DRY_RUN: "PUMP_DRY_RUN",
  FLOW_SENSOR_DEAD: "FLOW_SENSOR_DEAD",
  CUP_MISSING: "CUP_MISSING",
  TANK_EMPTY: "TANK_EMPTY",
  // Spirals
  SPIRAL_JAM: "SPIRAL_JAM",
  SPIRAL_HOME_TIMEOUT: "SPIRAL_HOME_TIMEOUT",
  DROP_NOT_SEEN: "DROP_NOT_SEEN",
  DROP_SENSOR_STUCK: "DROP_SENSOR_STUCK",
  SLOT_EMPTY: "SLOT_EMPTY",
  // Any actuation
  MAX_RUN_TIME: "MAX_RUN_TIME",
  ABORTED: "ABORTED",
  // Machine
  DOOR_OPEN: "DOOR_OPEN",
  TEMPERATURE_OUT_OF_RANGE: "TEMPERATURE_OUT_OF_RANGE",
  BOARD_NOT_READY: "BOARD_NOT_READY",
  BOARD_DISCONNECTED: "BOARD_DISCONNECTED",
  // Payments
  PAYMENTS_DOWN: "PAYMENTS_DOWN",
  INVOICE_UNTRUSTED: "INVOICE_UNTRUSTED",
  RATE_STALE: "RATE_STALE",
  /** A vended order's hold invoice could no longer be settled (canceled/expired at the node): the sale's money is lost. */
  SETTLE_FAILED_HTLC_EXPIRED: "SETTLE_FAILED_HTLC_EXPIRED",
  /** Settling a vended order keeps failing (backend unreachable); the machine retries with backoff. */
  SETTLE_RETRYING: "SETTLE_RETRYING",
} as const;
export type FaultCode = (typeof FaultCode)[keyof typeof FaultCode];
