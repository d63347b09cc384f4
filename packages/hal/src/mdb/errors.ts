/** Stable codes of the MDB device's errors: they reach the harness report, the logs and (through h16a) the kiosk. */
export const MdbErrorCode = {
  /** `serialport` (an optional dependency of hal) is not installed. */
  SERIALPORT_MISSING: "MDB_SERIALPORT_MISSING",
  /** The port could not be opened or is closed. */
  PORT_CLOSED: "MDB_PORT_CLOSED",
  /** The interface went silent and did not answer the liveness probe: unplugged, powered off, or crashed. */
  INTERFACE_LOST: "MDB_INTERFACE_LOST",
  /** The interface did not answer a command in time (wrong port, HAT without power, wrong baud rate). */
  NO_ANSWER: "MDB_NO_ANSWER",
  /** The interface refused a command (`c,ERR,...`) or a configuration parameter. */
  REFUSED: "MDB_REFUSED",
  /** Settings out of range (scale factor, decimal places, currency). */
  BAD_SETTINGS: "MDB_BAD_SETTINGS",
  /** An amount that cannot be expressed in VMC units (negative, fractional, too large). */
  BAD_AMOUNT: "MDB_BAD_AMOUNT",
  /** approve/deny without an open vend request (the VMC gave up, or none came). */
  NO_VEND_PENDING: "MDB_NO_VEND_PENDING",
  /** An approval of a different amount than the VMC asked for. */
  AMOUNT_MISMATCH: "MDB_AMOUNT_MISMATCH",
  /** The open vend was already approved or denied. */
  ALREADY_ANSWERED: "MDB_ALREADY_ANSWERED",
  /** `open()` or a check was aborted by its signal. */
  ABORTED: "MDB_ABORTED",
  /** Checks: the VMC never polled the reader (no r,ACK, no status) after C,1. */
  VMC_SILENT: "MDB_VMC_SILENT",
  /** Checks: the VMC set the reader up but keeps it disabled (out of order, service mode, cashless off in its menu). */
  READER_DISABLED: "MDB_READER_DISABLED",
  /** Checks: no vend request came (nobody pressed the selection on the keypad in time). */
  NO_VEND_REQUEST: "MDB_NO_VEND_REQUEST",
  /** The VMC reported VEND FAILURE (`c,ERR,VEND 3`). */
  VEND_FAILED: "MDB_VEND_FAILED",
  /** The vend ended without a result: cancelled on the keypad, the VMC's timeout, reset or disable. */
  VEND_CANCELLED: "MDB_VEND_CANCELLED",
  /** Checks: an approved vend got no result line in time. */
  NO_RESULT: "MDB_NO_RESULT",
} as const;
export type MdbErrorCode = (typeof MdbErrorCode)[keyof typeof MdbErrorCode];

export class MdbError extends Error {
  constructor(
    readonly code: MdbErrorCode,
    message: string,
    readonly context?: Record<string, unknown>,
  ) {
    super(`${message} (${code})`);
    this.name = "MdbError";
  }
}
