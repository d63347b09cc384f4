import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../__fixtures__/manual-clock.js";
import { PricingErrorCode } from "./errors.js";
import { createPriceOracle } from "./index.js";
import { PriceOracle } from "./oracle.js";
import type { RateQuote, RateSource } from "./sources.js";

/** A source the test scripts: a value, a failure, or no answer at all. */
class ScriptedSource implements RateSource {
  next: bigint | Error | "hang" = 1_000_000n;
  calls = 0;
  constructor(
    readonly name: string,
    private readonly clock: ManualClock,
  ) {}
  fetchRate(currency: string, signal?: AbortSignal): Promise<RateQuote> {
    this.calls++;
    const n = this.next;
    if (n === "hang") return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(new Error("aborted"))));
    if (n instanceof Error) return Promise.reject(n);
    return Promise.resolve({ currency, msatPerUnit: n, source: this.name, fetchedAt: this.clock.now() });
  }
}

describe("PriceOracle", () => {
  let clock: ManualClock;
  let a: ScriptedSource;
  let b: ScriptedSource;
  let c: ScriptedSource;
  let oracle: PriceOracle;

  beforeEach(() => {
    clock = new ManualClock();
    a = new ScriptedSource("kraken", clock);
    b = new ScriptedSource("coingecko", clock);
    c = new ScriptedSource("bitstamp", clock);
    oracle = new PriceOracle({ currency: "EUR", sources: [a, b, c], clock, pollIntervalMs: 60_000, maxRateAgeMs: 600_000, maxSpreadPercent: 2 });
  });
  afterEach(() => oracle.stop());

  it("takes the median of the sources and locks a fiat price at it", async () => {
    a.next = 1_100_000n;
    b.next = 1_110_000n;
    c.next = 1_105_000n;
    await oracle.start();
    expect(oracle.status().rate).toMatchObject({ currency: "EUR", msatPerUnit: "1105000", source: "kraken+coingecko+bitstamp" });
    await clock.advance(30_000);
    const locked = oracle.lock({ unit: "fiat", currency: "EUR", amountMinor: 250 });
    expect(locked).toMatchObject({ amountMsat: 2_762_500n, rateAgeMs: 30_000, rate: { msatPerUnit: "1105000" } });
  });

  it("the locked amount does not move when the rate changes afterwards", async () => {
    await oracle.start();
    const locked = oracle.lock({ unit: "fiat", currency: "EUR", amountMinor: 100 });
    a.next = b.next = c.next = 2_000_000n;
    await clock.advance(60_000);
    expect(oracle.status().rate?.msatPerUnit).toBe("2000000");
    expect(locked.amountMsat).toBe(1_000_000n);
  });

  it("refuses a round whose sources disagree by more than the spread, and keeps the last good rate", async () => {
    const refused: string[] = [];
    oracle.on("refused", (e) => refused.push(e.code));
    await oracle.start();
    a.next = 1_000_000n;
    b.next = 1_000_000n;
    c.next = 1_030_000n; // 3 % above: one venue glitching or manipulated
    await clock.advance(60_000);
    expect(refused).toEqual([PricingErrorCode.SOURCES_DISAGREE]);
    expect(oracle.status()).toMatchObject({ fresh: true, rate: { msatPerUnit: "1000000" }, lastError: { code: PricingErrorCode.SOURCES_DISAGREE } });
    expect(oracle.status().lastRound.map((q) => q.msatPerUnit)).toEqual([1_000_000n, 1_000_000n, 1_030_000n]);
    await clock.advance(5_000);
    expect(oracle.status().lastRound.map((q) => q.ageMs)).toEqual([5_000, 5_000, 5_000]);
  });

  it("reports no fresh rate once the newest is older than the limit, and says so when it happens", async () => {
    const stale: number[] = [];
    oracle.on("stale", () => stale.push(clock.now()));
    await oracle.start();
    const t0 = clock.now();
    a.next = b.next = c.next = new Error("down");
    await clock.advance(599_000);
    expect(oracle.lock({ unit: "fiat", currency: "EUR", amountMinor: 100 }).rateAgeMs).toBe(599_000);
    await clock.advance(2_000);
    expect(stale).toEqual([t0 + 600_001]);
    expect(() => oracle.lock({ unit: "fiat", currency: "EUR", amountMinor: 100 })).toThrow(expect.objectContaining({ code: PricingErrorCode.NO_FRESH_RATE }));
    // A price in msat still sells.
    expect(oracle.lock({ unit: "msat", amountMsat: "5000" }).amountMsat).toBe(5_000n);
    // The sources come back: fiat sales resume on the next round.
    a.next = b.next = c.next = 1_000_000n;
    await clock.advance(60_000);
    expect(oracle.status().fresh).toBe(true);
  });

  it("needs two answering sources; a source that hangs is cut at its timeout", async () => {
    a.next = "hang";
    b.next = new Error("HTTP 429");
    const p = oracle.start();
    await clock.advance(10_000);
    await p;
    expect(oracle.status()).toMatchObject({ rate: null, fresh: false, lastError: { code: PricingErrorCode.TOO_FEW_SOURCES } });
    expect(() => oracle.currentRate()).toThrow(expect.objectContaining({ code: PricingErrorCode.NO_FRESH_RATE }));
    a.next = 1_000_000n;
    await clock.advance(60_000);
    expect(oracle.status().rate?.msatPerUnit).toBe("1000000");
    expect(oracle.status().rate?.source).toBe("kraken+bitstamp");
  });

  it("polls every interval and stops cleanly", async () => {
    await oracle.start();
    await clock.advance(180_000);
    expect(a.calls).toBe(4);
    oracle.stop();
    await clock.advance(180_000);
    expect(a.calls).toBe(4);
    expect(clock.pending).toBe(0);
  });

  it("is built from the machine's pricing config (fixed rate, age limit in seconds)", async () => {
    const o = createPriceOracle({ currency: "EUR", rate: { source: "fixed", msatPerUnit: "1200000" }, maxRateAgeSec: 600 }, { clock });
    await o.start();
    expect(o.lock({ unit: "fiat", currency: "EUR", amountMinor: 199 }).amountMsat).toBe(2_388_000n);
    o.stop();
    expect(() => createPriceOracle({ currency: "EUR", rate: { source: "http", url: "https://evil.example/", pollIntervalMs: 60_000 }, maxRateAgeSec: 600 })).toThrow(
      expect.objectContaining({ code: PricingErrorCode.BAD_CONFIG }),
    );
  });
});
