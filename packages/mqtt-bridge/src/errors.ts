/** Stable codes of everything the bridge refuses or fails at. The same code reaches the log, the fleet and the console. */
export const BridgeErrorCode = {
  /** An event body handed to the outbox does not match protocol's `EventBody`. */
  INVALID_EVENT: "INVALID_EVENT",
  /** A command or desired state carries no signature, or one that does not verify. */
  BAD_SIGNATURE: "BAD_SIGNATURE",
  /** Signed by a key this machine does not trust. */
  UNKNOWN_KEY: "UNKNOWN_KEY",
  /** `exp` is in the past (beyond the clock tolerance). */
  EXPIRED: "EXPIRED",
  /** `ts` (when the command was signed) is further in the future than the clock tolerance allows. */
  NOT_YET_VALID: "NOT_YET_VALID",
  /** `exp - ts` is longer than the longest lifetime a command may have. */
  LIFETIME_TOO_LONG: "LIFETIME_TOO_LONG",
  /** A desired state signed for another installation of this machine (its previous database). */
  WRONG_INSTALL: "WRONG_INSTALL",
  /** A desired state without `install` (the fleet had not seen this installation yet): it is sent again with it. */
  MISSING_INSTALL: "MISSING_INSTALL",
  /** `ctr` is not greater than the highest counter seen for its key. */
  REPLAYED: "REPLAYED",
  /** Addressed (`aud` or topic) to another machine, or (a desired state) to none. */
  WRONG_AUDIENCE: "WRONG_AUDIENCE",
  /** The arguments do not match protocol's `CommandArgs`. */
  BAD_ARGS: "BAD_ARGS",
  /** No handler for this command on this machine. */
  UNSUPPORTED_COMMAND: "UNSUPPORTED_COMMAND",
  /** The handler ran and failed. */
  COMMAND_FAILED: "COMMAND_FAILED",
  /** A desired state older than the one already applied. */
  STALE_DESIRED: "STALE_DESIRED",
  /** The machine's handler refused the desired state. */
  DESIRED_REFUSED: "DESIRED_REFUSED",
  /** A payload that is not a valid protocol message. */
  INVALID_MESSAGE: "INVALID_MESSAGE",
  /** `start()` was not called, or `stop()` was. */
  NOT_RUNNING: "NOT_RUNNING",
  /** The broker did not answer in time. */
  BROKER_TIMEOUT: "BROKER_TIMEOUT",
  /** A key file or key text that is not an Ed25519 key. */
  BAD_KEY: "BAD_KEY",
  /** An ACL text the embedded broker cannot read. */
  BAD_ACL: "BAD_ACL",
  /** A broker users file that is missing, unreadable or not `{users: {name: password}}`. */
  BAD_USERS: "BAD_USERS",
  /** The embedded broker could not listen. */
  LISTEN_FAILED: "LISTEN_FAILED",
} as const;
export type BridgeErrorCode = (typeof BridgeErrorCode)[keyof typeof BridgeErrorCode];

export class BridgeError extends Error {
  constructor(
    readonly code: BridgeErrorCode,
    message: string,
    readonly context?: Record<string, unknown>,
  ) {
    super(`${message} (${code})`);
    this.name = "BridgeError";
  }
}
