/**
 * Stable codes of the fiat pricing. The kiosk shows "prices in EUR are paused" on `no_fresh_rate`, and the fleet
 * console raises an alert on `sources_disagree`, so a code is never renamed once shipped.
 */
export const PricingErrorCode = {
  /** No rate, or the newest one is older than the configured limit: fiat-priced products cannot be sold now. */
  NO_FRESH_RATE: "no_fresh_rate",
  /** The sources answered, but further apart than the allowed spread: none of them is trusted this round. */
  SOURCES_DISAGREE: "sources_disagree",
  /** Fewer sources answered than required. */
  TOO_FEW_SOURCES: "too_few_sources",
  /** One source failed: unreachable, an HTTP error, or an answer that is not its documented shape. */
  SOURCE_FAILED: "source_failed",
  /** A price in one currency asked to be converted at a rate of another. */
  CURRENCY_MISMATCH: "currency_mismatch",
  /** A currency code this machine has no minor-unit rule for. */
  UNKNOWN_CURRENCY: "unknown_currency",
  /** A configuration that cannot work (an unknown rate source URL, a spread <= 0). */
  BAD_CONFIG: "bad_config",
} as const;
export type PricingErrorCode = (typeof PricingErrorCode)[keyof typeof PricingErrorCode];

export class PricingError extends Error {
  constructor(
    readonly code: PricingErrorCode,
    message: string,
    readonly context?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(`${message} (${code})`, options);
    this.name = "PricingError";
  }
}
