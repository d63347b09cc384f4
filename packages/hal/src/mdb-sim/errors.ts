export const SimVmcErrorCode = {
  SOCAT_MISSING: "SIM_VMC_SOCAT_MISSING",
  PTY_FAILED: "SIM_VMC_PTY_FAILED",
  SERIALPORT_MISSING: "SIM_VMC_SERIALPORT_MISSING",
  /** The keypad selection is not in the VMC's price list. */
  UNKNOWN_SELECTION: "SIM_VMC_UNKNOWN_SELECTION",
  /** The VMC cannot take a selection now: the reader is not enabled (off, not set up, out of service). */
  READER_NOT_ENABLED: "SIM_VMC_READER_NOT_ENABLED",
  /** A vend is already in progress. */
  BUSY: "SIM_VMC_BUSY",
  /** cancel() with no vend request open (or the approved vend is already running). */
  NOTHING_TO_CANCEL: "SIM_VMC_NOTHING_TO_CANCEL",
  /** The HAT was unplugged (the pty pair is gone). */
  UNPLUGGED: "SIM_VMC_UNPLUGGED",
} as const;
export type SimVmcErrorCode = (typeof SimVmcErrorCode)[keyof typeof SimVmcErrorCode];

export class SimVmcError extends Error {
  constructor(
    readonly code: SimVmcErrorCode,
    message: string,
  ) {
    super(`${message} (${code})`);
    this.name = "SimVmcError";
  }
}
