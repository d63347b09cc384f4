// Where BTC/fiat rates come from: public tickers of Kraken, CoinGecko and Bitstamp (no key, read-only), and a fixed
// rate for tests, offline demos and operators who set their own. Each source turns its documented JSON into msat per
// major unit of the currency; anything else is a coded `source_failed`, never a guess.
import { z } from "zod";
import { systemClock, type Clock } from "../runtime.js";
import { msatPerUnitFromBtcPrice } from "./convert.js";
import { PricingError, PricingErrorCode } from "./errors.js";

export interface RateQuote {
  currency: string;
  /** msat per one major unit (1 EUR). */
  msatPerUnit: bigint;
  source: string;
  /** When the machine received it (ms since the epoch); the age of a quote counts from here. */
  fetchedAt: number;
}

export interface RateSource {
  /** Short name shown with the rate on the kiosk and in logs ("kraken", "coingecko", "fixed"). */
  readonly name: string;
  fetchRate(currency: string, signal?: AbortSignal): Promise<RateQuote>;
}

export interface HttpRateSourceOptions {
  /** Override of the API origin (tests point it at a local fake). */
  baseUrl?: string;
  /** Default the global fetch. */
  fetch?: typeof fetch;
  clock?: Clock;
}

/** A rate the operator fixes (config `pricing.rate.source: "fixed"`): never stale, never fetched. */
export class FixedRateSource implements RateSource {
  readonly name = "fixed";
  constructor(
    private readonly msatPerUnitByCurrency: Record<string, bigint>,
    private readonly clock: Clock = systemClock,
  ) {
    for (const [cur, v] of Object.entries(msatPerUnitByCurrency)) {
      if (v <= 0n) throw new PricingError(PricingErrorCode.BAD_CONFIG, `the fixed rate for ${cur} must be positive`);
    }
  }
  async fetchRate(currency: string): Promise<RateQuote> {
    const v = this.msatPerUnitByCurrency[currency];
    if (v === undefined) throw new PricingError(PricingErrorCode.SOURCE_FAILED, `no fixed rate for ${currency}`, { source: this.name });
    return { currency, msatPerUnit: v, source: this.name, fetchedAt: this.clock.now() };
  }
}

abstract class HttpRateSource implements RateSource {
  abstract readonly name: string;
  protected readonly fetch: typeof fetch;
  protected readonly clock: Clock;
  constructor(protected readonly opts: HttpRateSourceOptions = {}) {
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.clock = opts.clock ?? systemClock;
  }
  protected abstract url(currency: string): string;
  /** The BTC price of the currency as a decimal string, from the source's documented answer. */
  protected abstract priceOf(json: unknown, currency: string): string;

  async fetchRate(currency: string, signal?: AbortSignal): Promise<RateQuote> {
    if (!/^[A-Z]{3}$/.test(currency)) throw new PricingError(PricingErrorCode.UNKNOWN_CURRENCY, `not an ISO 4217 code: ${currency}`);
    let res: Response;
    try {
      res = await this.fetch(this.url(currency), { headers: { accept: "application/json" }, ...(signal ? { signal } : {}) });
    } catch (err) {
      throw this.fail(`unreachable: ${String((err as Error).message ?? err)}`, { cause: err });
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) throw this.fail(`HTTP ${res.status} ${text.slice(0, 120)}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.fail("answer is not JSON");
    }
    const price = this.priceOf(json, currency);
    const msatPerUnit = msatPerUnitFromBtcPrice(price);
    if (msatPerUnit === null || msatPerUnit <= 0n) throw this.fail(`price ${JSON.stringify(price.slice(0, 40))} is not a positive decimal`);
    return { currency, msatPerUnit, source: this.name, fetchedAt: this.clock.now() };
  }

  protected fail(why: string, options?: { cause?: unknown }): PricingError {
    return new PricingError(PricingErrorCode.SOURCE_FAILED, `${this.name}: ${why}`, { source: this.name }, options);
  }
}

/** JSON numbers (CoinGecko) as a plain decimal string without exponent. */
function numberToDecimal(n: number): string {
  return n.toFixed(8);
}

const KrakenTicker = z.looseObject({
  error: z.array(z.string()),
  result: z.record(z.string(), z.looseObject({ c: z.tuple([z.string(), z.string()]).rest(z.string()) })).optional(),
});

/**
 * Kraken `GET /0/public/Ticker?pair=XBT<CUR>`: `{"error": [], "result": {"XXBTZEUR": {"c": ["87234.10000",
 * "0.001"], ...}}}`; `c[0]` is the last trade price. The result key is Kraken's own pair name (XXBTZEUR, XBTCHF),
 * so the single entry is taken whatever it is called. Errors come as HTTP 200 with `error: ["EQuery:Unknown asset pair"]`.
 */
export class KrakenRateSource extends HttpRateSource {
  readonly name = "kraken";
  protected url(currency: string): string {
    return `${this.opts.baseUrl ?? "https://api.kraken.com"}/0/public/Ticker?pair=XBT${currency}`;
  }
  protected priceOf(json: unknown): string {
    const t = KrakenTicker.safeParse(json);
    if (!t.success) throw this.fail("answer does not match Kraken's Ticker shape");
    if (t.data.error.length > 0) throw this.fail(t.data.error.join(", ").slice(0, 120));
    const entries = Object.values(t.data.result ?? {});
    if (entries.length !== 1 || !entries[0]) throw this.fail(`expected one pair in the result, got ${entries.length}`);
    return entries[0].c[0];
  }
}

/**
 * CoinGecko `GET /api/v3/simple/price?ids=bitcoin&vs_currencies=eur`: `{"bitcoin": {"eur": 87234.12}}` (a JSON
 * number; an unknown currency gives `{"bitcoin": {}}`). The public API rate-limits with HTTP 429.
 */
export class CoinGeckoRateSource extends HttpRateSource {
  readonly name = "coingecko";
  protected url(currency: string): string {
    return `${this.opts.baseUrl ?? "https://api.coingecko.com"}/api/v3/simple/price?ids=bitcoin&vs_currencies=${currency.toLowerCase()}`;
  }
  protected priceOf(json: unknown, currency: string): string {
    const t = z.looseObject({ bitcoin: z.record(z.string(), z.number()) }).safeParse(json);
    if (!t.success) throw this.fail("answer does not match CoinGecko's simple/price shape");
    const v = t.data.bitcoin[currency.toLowerCase()];
    if (v === undefined) throw this.fail(`no ${currency} price`);
    return numberToDecimal(v);
  }
}

/**
 * Bitstamp `GET /api/v2/ticker/btc<cur>/`: `{"last": "87234", "bid": ..., "ask": ..., "timestamp": "1763700000", ...}`
 * with prices as decimal strings; an unknown pair answers 404.
 */
export class BitstampRateSource extends HttpRateSource {
  readonly name = "bitstamp";
  protected url(currency: string): string {
    return `${this.opts.baseUrl ?? "https://www.bitstamp.net"}/api/v2/ticker/btc${currency.toLowerCase()}/`;
  }
  protected priceOf(json: unknown): string {
    const t = z.looseObject({ last: z.string() }).safeParse(json);
    if (!t.success) throw this.fail("answer does not match Bitstamp's ticker shape");
    return t.data.last;
  }
}

/** The public sources used when the operator names none: three independent venues, so the median means something. */
export function defaultRateSources(opts: HttpRateSourceOptions = {}): RateSource[] {
  return [new KrakenRateSource(opts), new CoinGeckoRateSource(opts), new BitstampRateSource(opts)];
}

/** The source for an `http` rate URL of the config, by its host; an unknown host is refused (no guessing a format). */
export function rateSourceForUrl(url: string, opts: Omit<HttpRateSourceOptions, "baseUrl"> = {}): RateSource {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PricingError(PricingErrorCode.BAD_CONFIG, `not a URL: ${url}`);
  }
  const baseUrl = u.origin;
  switch (u.hostname) {
    case "api.kraken.com":
      return new KrakenRateSource({ ...opts, baseUrl });
    case "api.coingecko.com":
    case "pro-api.coingecko.com":
      return new CoinGeckoRateSource({ ...opts, baseUrl });
    case "www.bitstamp.net":
    case "bitstamp.net":
      return new BitstampRateSource({ ...opts, baseUrl });
    default:
      throw new PricingError(PricingErrorCode.BAD_CONFIG, `unknown rate source ${u.hostname}: use api.kraken.com, api.coingecko.com or www.bitstamp.net`);
  }
}
