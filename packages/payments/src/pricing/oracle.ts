// The price oracle: asks every rate source periodically, takes the median, refuses a round in which the sources
// disagree by more than the allowed spread, and serves a rate only while it is younger than the age limit. A fiat
// price is converted once, at order time (`lock`), and the order keeps that amount, rate and age: the buyer pays
// what the screen showed, even if the rate moves while the invoice is open.
import type { Price, Rate } from "@zapvend/protocol";
import { EventEmitter } from "node:events";
import { silentLogger, systemClock, type Clock, type Logger, type TimerHandle } from "../runtime.js";
import { priceToMsat, type ConvertedPrice } from "./convert.js";
import { PricingError, PricingErrorCode } from "./errors.js";
import type { RateQuote, RateSource } from "./sources.js";

export interface PriceOracleOptions {
  /** ISO 4217 currency of the machine's fiat prices. */
  currency: string;
  sources: RateSource[];
  /** How often all sources are asked, in ms. Default 60 000. */
  pollIntervalMs?: number;
  /** A rate older than this is not used to price an order, in ms. Default 600 000 (10 min). */
  maxRateAgeMs?: number;
  /** Largest allowed (max - min) / median of one round, in percent. Default 2. */
  maxSpreadPercent?: number;
  /** Sources that must answer for a round to count. Default min(2, number of sources). */
  minSources?: number;
  /** Per-source request timeout in ms. Default 10 000. */
  fetchTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface QuoteRecord {
  source: string;
  msatPerUnit?: bigint;
  fetchedAt: number;
  /** The coded reason when this source failed this round. */
  error?: string;
}

/** What the oracle knows now: for the kiosk's price line, the fleet's health view and the logs. */
export interface OracleStatus {
  currency: string;
  /** The rate in use (wire shape), or null when there has never been an agreeing round. */
  rate: Rate | null;
  /** Age of `rate` in ms now. */
  rateAgeMs: number | null;
  /** True while `rate` is younger than the limit: fiat products can be sold. */
  fresh: boolean;
  /** Each source's answer of the last round, with when it came and how old it is now. */
  lastRound: Array<QuoteRecord & { ageMs: number }>;
  /** Why the last round was not used, if it was not. */
  lastError?: { code: PricingErrorCode; message: string };
}

/** A fiat price locked for one order. */
export interface LockedPrice extends ConvertedPrice {
  lockedAt: number;
}

export interface PriceOracleEvents {
  /** A new agreeing round replaced the rate. */
  rate: [Rate];
  /** A round was refused (disagreement, too few sources); the previous rate stays until it is too old. */
  refused: [PricingError];
  /** The rate in use crossed the age limit: fiat sales stop until a fresh round. */
  stale: [OracleStatus];
}

export class PriceOracle extends EventEmitter<PriceOracleEvents> {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly pollIntervalMs: number;
  private readonly maxRateAgeMs: number;
  private readonly maxSpreadPercent: number;
  private readonly minSources: number;
  private readonly fetchTimeoutMs: number;
  private rate: Rate | null = null;
  private lastRound: QuoteRecord[] = [];
  private lastError: { code: PricingErrorCode; message: string } | undefined;
  private timer: TimerHandle | undefined;
  private staleTimer: TimerHandle | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly opts: PriceOracleOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.pollIntervalMs = opts.pollIntervalMs ?? 60_000;
    this.maxRateAgeMs = opts.maxRateAgeMs ?? 600_000;
    this.maxSpreadPercent = opts.maxSpreadPercent ?? 2;
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? 10_000;
    this.minSources = opts.minSources ?? Math.min(2, opts.sources.length);
    if (opts.sources.length === 0) throw new PricingError(PricingErrorCode.BAD_CONFIG, "the price oracle needs at least one rate source");
    if (!(this.maxSpreadPercent > 0)) throw new PricingError(PricingErrorCode.BAD_CONFIG, "maxSpreadPercent must be positive");
    if (this.minSources < 1 || this.minSources > opts.sources.length) throw new PricingError(PricingErrorCode.BAD_CONFIG, "minSources must be between 1 and the number of sources");
    if (!(this.pollIntervalMs > 0) || !(this.maxRateAgeMs > 0)) throw new PricingError(PricingErrorCode.BAD_CONFIG, "intervals must be positive");
  }

  /** Fetches once now (its outcome is in `status()`), then every `pollIntervalMs`. Never rejects for a source failure. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.refresh();
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.staleTimer !== undefined) this.clock.clearTimeout(this.staleTimer);
    this.timer = undefined;
    this.staleTimer = undefined;
    this.removeAllListeners();
  }

  /** One round: ask every source at once, then accept the median or refuse the round. */
  refresh(): Promise<void> {
    this.inFlight ??= this.round().finally(() => {
      this.inFlight = undefined;
      if (this.running) {
        if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
        this.timer = this.clock.setTimeout(() => void this.refresh(), this.pollIntervalMs);
      }
    });
    return this.inFlight;
  }

  status(): OracleStatus {
    const age = this.rate ? Math.max(0, this.clock.now() - this.rate.fetchedAt) : null;
    return {
      currency: this.opts.currency,
      rate: this.rate,
      rateAgeMs: age,
      fresh: age !== null && age <= this.maxRateAgeMs,
      lastRound: this.lastRound.map((q) => ({ ...q, ageMs: Math.max(0, this.clock.now() - q.fetchedAt) })),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** The rate to price an order with now; rejects with `no_fresh_rate` when there is none younger than the limit. */
  currentRate(): { rate: Rate; rateAgeMs: number } {
    const s = this.status();
    if (!s.rate || !s.fresh || s.rateAgeMs === null) {
      const why = s.rate ? `the newest ${this.opts.currency} rate is ${Math.round((s.rateAgeMs ?? 0) / 1000)} s old (limit ${this.maxRateAgeMs / 1000} s)` : `no ${this.opts.currency} rate yet`;
      throw new PricingError(PricingErrorCode.NO_FRESH_RATE, s.lastError ? `${why}; last round: ${s.lastError.message}` : why, {
        currency: this.opts.currency,
        rateAgeMs: s.rateAgeMs,
        lastError: s.lastError?.code,
      });
    }
    return { rate: s.rate, rateAgeMs: s.rateAgeMs };
  }

  /**
   * Converts a product's price for one order and fixes it: the amount, the rate and its age go with the order. A
   * price in msat passes through untouched (and needs no rate); a fiat price needs a fresh rate.
   */
  lock(price: Price): LockedPrice {
    const now = this.clock.now();
    if (price.unit === "msat") return { ...priceToMsat(price, null, now), lockedAt: now };
    const { rate } = this.currentRate();
    return { ...priceToMsat(price, rate, now), lockedAt: now };
  }

  private async round(): Promise<void> {
    const currency = this.opts.currency;
    const results = await Promise.all(this.opts.sources.map((s) => this.ask(s, currency)));
    this.lastRound = results;
    const ok = results.filter((r): r is QuoteRecord & { msatPerUnit: bigint } => r.msatPerUnit !== undefined);
    if (ok.length < this.minSources) {
      this.refuse(new PricingError(PricingErrorCode.TOO_FEW_SOURCES, `${ok.length} of ${results.length} rate sources answered, ${this.minSources} needed`, { failures: results.filter((r) => r.error).map((r) => `${r.source}: ${r.error}`) }));
      return;
    }
    const values = ok.map((r) => r.msatPerUnit).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const median = medianOf(values);
    const lo = values[0] ?? median;
    const hi = values[values.length - 1] ?? median;
    // (hi - lo) / median > max%  <=>  (hi - lo) * 10000 > max% * 100 * median, in integers (basis points).
    const maxBps = BigInt(Math.round(this.maxSpreadPercent * 100));
    if ((hi - lo) * 10_000n > maxBps * median) {
      this.refuse(new PricingError(PricingErrorCode.SOURCES_DISAGREE, `rate sources disagree by more than ${this.maxSpreadPercent} %: ${ok.map((r) => `${r.source} ${r.msatPerUnit}`).join(", ")} msat/${currency}`, { quotes: ok.map((r) => ({ source: r.source, msatPerUnit: r.msatPerUnit.toString() })) }));
      return;
    }
    // The rate is as old as its oldest contributing quote.
    const fetchedAt = Math.min(...ok.map((r) => r.fetchedAt));
    this.rate = { currency, msatPerUnit: median.toString(), source: ok.map((r) => r.source).join("+").slice(0, 64), fetchedAt };
    this.lastError = undefined;
    this.log.info("rate", { currency, msatPerUnit: this.rate.msatPerUnit, sources: this.rate.source });
    this.armStaleTimer();
    this.safeEmit("rate", this.rate);
  }

  private async ask(source: RateSource, currency: string): Promise<QuoteRecord> {
    const ac = new AbortController();
    const onStop = () => ac.abort();
    this.abort.signal.addEventListener("abort", onStop, { once: true });
    let timer: TimerHandle | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => {
        ac.abort();
        reject(new PricingError(PricingErrorCode.SOURCE_FAILED, `${source.name}: no answer within ${this.fetchTimeoutMs} ms`, { source: source.name }));
      }, this.fetchTimeoutMs);
    });
    try {
      const q: RateQuote = await Promise.race([source.fetchRate(currency, ac.signal), timeout]);
      if (q.currency !== currency || q.msatPerUnit <= 0n) throw new PricingError(PricingErrorCode.SOURCE_FAILED, `${source.name}: a quote for ${q.currency}`, { source: source.name });
      return { source: source.name, msatPerUnit: q.msatPerUnit, fetchedAt: q.fetchedAt };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.warn("rate source failed", { source: source.name, err: message });
      return { source: source.name, fetchedAt: this.clock.now(), error: message };
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
      this.abort.signal.removeEventListener("abort", onStop);
    }
  }

  private refuse(err: PricingError): void {
    this.lastError = { code: err.code, message: err.message };
    this.log.warn("rate round refused", { code: err.code, msg: err.message });
    this.safeEmit("refused", err);
  }

  /** Emits `stale` at the moment the rate in use crosses the age limit (so the kiosk greys out fiat prices then). */
  private armStaleTimer(): void {
    if (this.staleTimer !== undefined) this.clock.clearTimeout(this.staleTimer);
    if (!this.rate || !this.running) return;
    const dueMs = this.rate.fetchedAt + this.maxRateAgeMs - this.clock.now() + 1;
    this.staleTimer = this.clock.setTimeout(() => {
      this.staleTimer = undefined;
      if (!this.status().fresh) this.safeEmit("stale", this.status());
    }, Math.max(0, dueMs));
  }

  private safeEmit<K extends keyof PriceOracleEvents>(event: K, ...args: PriceOracleEvents[K]): void {
    // rawListeners: a `once` wrapper removes itself when called.
    for (const l of this.rawListeners(event)) {
      try {
        (l as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.log.error("price oracle listener threw", { event, err: String(err) });
      }
    }
  }
}

function medianOf(sorted: bigint[]): bigint {
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  if (n % 2 === 1) return sorted[mid] ?? 0n;
  // Even count: the mean of the middle two, rounded half up (one msat either way is far below any price step).
  return ((sorted[mid - 1] ?? 0n) + (sorted[mid] ?? 0n) + 1n) / 2n;
}
