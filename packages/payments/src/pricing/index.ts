// Fiat pricing: rate sources, the oracle, and integer conversion. `createPriceOracle` builds the oracle a machine's
// `pricing` config describes.
import type { PricingConfig } from "@zapvend/protocol";
import type { Clock, Logger } from "../runtime.js";
import { PricingError, PricingErrorCode } from "./errors.js";
import { PriceOracle, type PriceOracleOptions } from "./oracle.js";
import { defaultRateSources, FixedRateSource, rateSourceForUrl, type RateSource } from "./sources.js";

export * from "./convert.js";
export * from "./errors.js";
export * from "./oracle.js";
export * from "./sources.js";

export interface PricingDeps {
  clock?: Clock;
  logger?: Logger;
  fetch?: typeof fetch;
  /** Overrides for what `PricingConfig` does not carry yet. */
  oracle?: Pick<PriceOracleOptions, "maxSpreadPercent" | "minSources" | "fetchTimeoutMs">;
}

/**
 * The oracle for a machine's `pricing` config: a fixed rate (`source: "fixed"`), one public source named by URL
 * (`source: "http"`, Kraken / CoinGecko / Bitstamp by host), or, with no `rate` given, the median of all three.
 */
export function createPriceOracle(config: PricingConfig, deps: PricingDeps = {}): PriceOracle {
  const http = { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.clock ? { clock: deps.clock } : {}) };
  let sources: RateSource[];
  let pollIntervalMs: number | undefined;
  const rate = config.rate;
  if (rate?.source === "fixed") {
    const v = BigInt(rate.msatPerUnit);
    if (v <= 0n) throw new PricingError(PricingErrorCode.BAD_CONFIG, "pricing.rate.msatPerUnit must be positive");
    sources = [new FixedRateSource({ [config.currency]: v }, deps.clock)];
  } else if (rate?.source === "http") {
    sources = [rateSourceForUrl(rate.url, http)];
    pollIntervalMs = rate.pollIntervalMs;
  } else {
    sources = defaultRateSources(http);
  }
  return new PriceOracle({
    currency: config.currency,
    sources,
    maxRateAgeMs: config.maxRateAgeSec * 1000,
    ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
    ...deps.oracle,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
}
