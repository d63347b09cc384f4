import { afterEach, describe, expect, it } from "vitest";
import { HttpFake } from "../backends/__fixtures__/http-fake.js";
import { PricingErrorCode } from "./errors.js";
import { BitstampRateSource, CoinGeckoRateSource, FixedRateSource, KrakenRateSource, rateSourceForUrl } from "./sources.js";

const clock = { now: () => 1_763_700_000_000, setTimeout: () => 0, clearTimeout: () => undefined };

// The bodies below are each API's documented shape (values made up).
const KRAKEN_OK = {
  error: [],
  result: { XXBTZEUR: { a: ["87234.20000", "1", "1.000"], b: ["87234.10000", "2", "2.000"], c: ["87234.50000", "0.00100000"], v: ["1", "2"], p: ["1", "2"], t: [1, 2], l: ["1", "2"], h: ["1", "2"], o: "86000.0" } },
};

describe("rate sources against local fakes of their APIs", () => {
  let fake: HttpFake | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("Kraken: last trade price of XBT<CUR>, over real HTTP", async () => {
    fake = await new HttpFake((r) => (r.query.get("pair") === "XBTEUR" ? { status: 200, body: KRAKEN_OK } : { status: 200, body: { error: ["EQuery:Unknown asset pair"] } })).start();
    const src = new KrakenRateSource({ baseUrl: fake.url, clock });
    expect(await src.fetchRate("EUR")).toEqual({ currency: "EUR", msatPerUnit: 1_146_335n, source: "kraken", fetchedAt: 1_763_700_000_000 });
    expect(fake.requests[0]?.path).toBe("/0/public/Ticker");
    await expect(src.fetchRate("XYZ")).rejects.toMatchObject({ code: PricingErrorCode.SOURCE_FAILED, message: expect.stringContaining("Unknown asset pair") });
  });

  it("CoinGecko: bitcoin.<cur> as a JSON number; 429 and a missing currency fail", async () => {
    fake = await new HttpFake((r) =>
      r.query.get("vs_currencies") === "eur" ? { status: 200, body: { bitcoin: { eur: 100000 } } } : r.query.get("vs_currencies") === "chf" ? { status: 429, body: { status: { error_code: 429, error_message: "You've exceeded the Rate Limit" } } } : { status: 200, body: { bitcoin: {} } },
    ).start();
    const src = new CoinGeckoRateSource({ baseUrl: fake.url, clock });
    expect((await src.fetchRate("EUR")).msatPerUnit).toBe(1_000_000n);
    await expect(src.fetchRate("CHF")).rejects.toMatchObject({ code: PricingErrorCode.SOURCE_FAILED, message: expect.stringContaining("HTTP 429") });
    await expect(src.fetchRate("USD")).rejects.toMatchObject({ code: PricingErrorCode.SOURCE_FAILED, message: expect.stringContaining("no USD price") });
  });

  it("Bitstamp: `last` of /api/v2/ticker/btc<cur>/; unknown pair is 404", async () => {
    fake = await new HttpFake((r) => (r.path === "/api/v2/ticker/btceur/" ? { status: 200, body: { timestamp: "1763700000", open: "1", high: "2", low: "1", last: "90000", volume: "3", vwap: "1", bid: "89999", ask: "90001", side: "0", open_24: "1", percent_change_24: "0.5" } } : { status: 404, text: "Not Found" })).start();
    const src = new BitstampRateSource({ baseUrl: fake.url, clock });
    expect((await src.fetchRate("EUR")).msatPerUnit).toBe(1_111_111n);
    await expect(src.fetchRate("JPY")).rejects.toMatchObject({ code: PricingErrorCode.SOURCE_FAILED });
  });

  it("a garbled or unreachable source fails with a code, never a made-up rate", async () => {
    fake = await new HttpFake(() => ({ status: 200, text: "<html>maintenance</html>" })).start();
    await expect(new BitstampRateSource({ baseUrl: fake.url, clock }).fetchRate("EUR")).rejects.toMatchObject({ code: PricingErrorCode.SOURCE_FAILED });
    const url = fake.url;
    await fake.close();
    fake = undefined;
    await expect(new KrakenRateSource({ baseUrl: url, clock }).fetchRate("EUR")).rejects.toMatchObject({ code: PricingErrorCode.SOURCE_FAILED, message: expect.stringContaining("unreachable") });
  });

  it("picks the source of a config URL by host and refuses an unknown one", () => {
    expect(rateSourceForUrl("https://api.kraken.com/0/public/Ticker").name).toBe("kraken");
    expect(rateSourceForUrl("https://www.bitstamp.net/api/v2/ticker/btceur/").name).toBe("bitstamp");
    expect(() => rateSourceForUrl("https://rates.example.com/")).toThrow(expect.objectContaining({ code: PricingErrorCode.BAD_CONFIG }));
  });

  it("a fixed rate is served for its currency only", async () => {
    const src = new FixedRateSource({ EUR: 1_000_000n }, clock);
    expect(await src.fetchRate("EUR")).toMatchObject({ msatPerUnit: 1_000_000n, source: "fixed" });
    await expect(src.fetchRate("USD")).rejects.toMatchObject({ code: PricingErrorCode.SOURCE_FAILED });
  });
});
