import { FaultCode, type ProtocolErrorCode, type VendEvidence } from "@zapvend/protocol";

export { FaultCode };

/**
 * A vend (pour or spiral) that did not complete. `code` is the stable fault code that reaches the kiosk, the
 * fleet and the harness report; `evidence` is what the sensors measured up to the failure (a failed pour may
 * still have poured some millilitres), kept with the order.
 */
export class VendError extends Error {
  constructor(
    readonly code: FaultCode,
    message: string,
    readonly evidence?: VendEvidence,
    readonly context?: Record<string, unknown>,
  ) {
    super(`${message} (${code})`);
    this.name = "VendError";
  }
}

/** The hardware cannot be used: missing optional dependency, board not answering, disconnected. */
export class HardwareError extends Error {
  constructor(
    readonly code: FaultCode,
    message: string,
    readonly context?: Record<string, unknown>,
  ) {
    super(`${message} (${code})`);
    this.name = "HardwareError";
  }
}

/**
 * Bad input refused before anything moves: a pin map or calibration with missing or conflicting pins, a volume out
 * of range, a slot that does not exist. `path` names the field.
 */
export class HalInputError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly path: string,
  ) {
    super(`${message} (${code} at ${path})`);
    this.name = "HalInputError";
  }
}

export function isVendError(err: unknown): err is VendError {
  return err instanceof VendError;
}
