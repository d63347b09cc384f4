// The bounds of the sales routes' `from=`/`to=`: a date alone is a local day of the request's zone, 23 or 25 hours
// long on a daylight saving Sunday; instants with a zone keep their meaning.
import { describe, expect, it } from "vitest";
import { FleetError } from "./errors.js";
import { boundOf, salesFilter } from "./sales-query.js";

const H = 3_600_000;

describe("from= / to= of the sales routes", () => {
  it("a date is a local day: from its midnight to the next, 23 h on the spring-forward Sunday, 25 h on the fall-back one", () => {
    expect(boundOf("2026-01-15", "from", "Europe/Paris")).toBe(Date.UTC(2026, 0, 14, 23));
    expect(boundOf("2026-01-15", "to", "Europe/Paris")).toBe(Date.UTC(2026, 0, 15, 23));
    const spring = [boundOf("2026-03-29", "from", "Europe/Paris"), boundOf("2026-03-29", "to", "Europe/Paris")];
    expect(spring).toEqual([Date.UTC(2026, 2, 28, 23), Date.UTC(2026, 2, 29, 22)]);
    expect(spring[1]! - spring[0]!).toBe(23 * H);
    const fall = [boundOf("2026-10-25", "from", "Europe/Paris"), boundOf("2026-10-25", "to", "Europe/Paris")];
    expect(fall).toEqual([Date.UTC(2026, 9, 24, 22), Date.UTC(2026, 9, 25, 23)]);
    expect(fall[1]! - fall[0]!).toBe(25 * H);
    // New York's own changes (8 March, 1 November 2026), and a zone without any.
    expect(boundOf("2026-03-08", "to", "America/New_York") - boundOf("2026-03-08", "from", "America/New_York")).toBe(23 * H);
    expect(boundOf("2026-11-01", "to", "America/New_York") - boundOf("2026-11-01", "from", "America/New_York")).toBe(25 * H);
    expect(boundOf("2026-03-29", "from", "Asia/Kolkata")).toBe(Date.UTC(2026, 2, 28, 18, 30));
    expect(boundOf("2026-03-29", "from", "UTC")).toBe(Date.UTC(2026, 2, 29));
    expect(boundOf("2026-03-29", "to", "UTC")).toBe(Date.UTC(2026, 2, 30));
  });

  it("where the clocks jump over midnight (Santiago, 6 September 2026) the day starts at the jump", () => {
    expect(boundOf("2026-09-06", "from", "America/Santiago")).toBe(Date.UTC(2026, 8, 6, 4)); // 01:00 -03
    expect(boundOf("2026-09-05", "to", "America/Santiago")).toBe(Date.UTC(2026, 8, 6, 4));
    expect(boundOf("2026-09-06", "to", "America/Santiago")).toBe(Date.UTC(2026, 8, 7, 3));
  });

  it("a wall time without a zone is read on the zone's clock; a skipped one is the jump, a repeated one its first time", () => {
    expect(boundOf("2026-07-01T08:00", "from", "Europe/Paris")).toBe(Date.UTC(2026, 6, 1, 6));
    expect(boundOf("2026-07-01T08:00:30", "to", "Europe/Paris")).toBe(Date.UTC(2026, 6, 1, 6, 0, 30));
    expect(boundOf("2026-03-29T02:30", "from", "Europe/Paris")).toBe(Date.UTC(2026, 2, 29, 1)); // 03:00 CEST
    expect(boundOf("2026-03-29T02:30:15", "from", "Europe/Paris")).toBe(Date.UTC(2026, 2, 29, 1));
    expect(boundOf("2026-10-25T02:30", "from", "Europe/Paris")).toBe(Date.UTC(2026, 9, 25, 0, 30)); // 02:30 CEST
  });

  it("epoch ms and ISO instants with a zone keep their meaning whatever the zone", () => {
    expect(boundOf("1774778400000", "to", "Europe/Paris")).toBe(1774778400000);
    expect(boundOf("2026-03-29T10:00:00Z", "to", "Europe/Paris")).toBe(Date.UTC(2026, 2, 29, 10));
    expect(boundOf("2026-03-29T10:00:00.250+02:00", "from", "Asia/Kolkata")).toBe(Date.UTC(2026, 2, 29, 8, 0, 0, 250));
  });

  it("refuses what is not a date with a coded 400", () => {
    for (const bad of ["yesterday", "2026-02-30", "2026-13-01", "2026-00-10", "2026-03-29T24:00", "2026-03-29T10:60"]) {
      let err: unknown;
      try {
        boundOf(bad, "from", "Europe/Paris");
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(FleetError);
      expect((err as FleetError).code, bad).toBe("bad_value");
      expect((err as FleetError).status, bad).toBe(400);
    }
  });

  it("reads the zone from tz= or else the operator's, and refuses an unknown one", () => {
    const url = (q: string) => new URL(`http://fleet/api/sales?${q}`);
    expect(salesFilter(url("from=2026-10-25&to=2026-10-25"), { withLimit: false, timeZone: "Europe/Paris" })).toEqual({ fromMs: Date.UTC(2026, 9, 24, 22), toMs: Date.UTC(2026, 9, 25, 23) });
    expect(salesFilter(url("from=2026-10-25&tz=UTC"), { withLimit: true, timeZone: "Europe/Paris" })).toEqual({ fromMs: Date.UTC(2026, 9, 25), limit: 1000 });
    expect(() => salesFilter(url("from=2026-10-25&tz=Mars%2FOlympus"), { withLimit: false, timeZone: "UTC" })).toThrow(/unknown time zone "Mars\/Olympus"/);
    expect(() => salesFilter(url("group=day"), { withLimit: false, timeZone: "UTC" })).toThrow(/group/);
  });
});
