// Days and hours in the operator's zone across the 2026 daylight saving changes, a half-hour zone and UTC.
import { describe, expect, it } from "vitest";
import { FleetConfig } from "@zapvend/protocol";
import { localDate } from "./opening-hours.js";
import { dayAt, dayOf, hoursOf, lastDays, localDayDate, machineTimeZone, offsetSpans, operatorTimeZone, overviewPeriods, wallTime } from "./periods.js";

const H = 3_600_000;

describe("periods in the operator's time zone", () => {
  it("a Paris day is from local midnight to the next (UTC+1 in winter, UTC+2 in summer)", () => {
    const winter = dayOf("Europe/Paris", Date.UTC(2026, 0, 15, 12));
    expect(winter).toEqual({ from: Date.UTC(2026, 0, 14, 23), to: Date.UTC(2026, 0, 15, 23), date: "2026-01-15" });
    const summer = dayOf("Europe/Paris", Date.UTC(2026, 6, 1, 22, 30)); // 00:30 on 2 July in Paris
    expect(summer.date).toBe("2026-07-02");
    expect(summer.from).toBe(Date.UTC(2026, 6, 1, 22));
  });

  it("the spring-forward Sunday (29 March 2026 in Paris) lasts 23 hours and has no 02:00", () => {
    const d = dayOf("Europe/Paris", Date.UTC(2026, 2, 29, 10));
    expect(d).toEqual({ from: Date.UTC(2026, 2, 28, 23), to: Date.UTC(2026, 2, 29, 22), date: "2026-03-29" });
    expect(d.to - d.from).toBe(23 * H);
    const hours = hoursOf("Europe/Paris", d);
    expect(hours).toHaveLength(23);
    expect(hours.slice(0, 4).map((h) => h.label)).toEqual(["00:00", "01:00", "03:00", "04:00"]);
    expect(hours.at(-1)).toEqual({ from: Date.UTC(2026, 2, 29, 21), to: Date.UTC(2026, 2, 29, 22), label: "23:00" });
  });

  it("the fall-back Sunday (25 October 2026 in Paris) lasts 25 hours and shows 02:00 twice", () => {
    const d = dayOf("Europe/Paris", Date.UTC(2026, 9, 25, 10));
    expect(d).toEqual({ from: Date.UTC(2026, 9, 24, 22), to: Date.UTC(2026, 9, 25, 23), date: "2026-10-25" });
    const hours = hoursOf("Europe/Paris", d);
    expect(hours).toHaveLength(25);
    expect(hours.slice(0, 5).map((h) => h.label)).toEqual(["00:00", "01:00", "02:00", "02:00", "03:00"]);
  });

  it("today / yesterday / last 7 days around the New York spring-forward (8 March 2026)", () => {
    const now = Date.UTC(2026, 2, 9, 15); // Monday 9 March, 11:00 EDT
    const p = overviewPeriods("America/New_York", now);
    expect(p.today).toEqual({ from: Date.UTC(2026, 2, 9, 4), to: Date.UTC(2026, 2, 10, 4) });
    // Sunday 8 March: 00:00 EST (05:00 UTC) to 00:00 EDT (04:00 UTC the next day), 23 hours.
    expect(p.yesterday).toEqual({ from: Date.UTC(2026, 2, 8, 5), to: Date.UTC(2026, 2, 9, 4) });
    // Tuesday 3 March 00:00 EST.
    expect(p.last7Days).toEqual({ from: Date.UTC(2026, 2, 3, 5), to: Date.UTC(2026, 2, 10, 4) });
    expect(p.last7Days.to - p.last7Days.from).toBe(7 * 24 * H - H);
  });

  it("a half-hour zone (Asia/Kolkata, UTC+5:30) and UTC", () => {
    expect(dayOf("Asia/Kolkata", Date.UTC(2026, 5, 1, 20))).toEqual({ from: Date.UTC(2026, 5, 1, 18, 30), to: Date.UTC(2026, 5, 2, 18, 30), date: "2026-06-02" });
    expect(hoursOf("Asia/Kolkata", dayOf("Asia/Kolkata", Date.UTC(2026, 5, 1, 20)))[1]!.label).toBe("01:00");
    expect(dayOf("UTC", Date.UTC(2026, 5, 1, 23, 59))).toEqual({ from: Date.UTC(2026, 5, 1), to: Date.UTC(2026, 5, 2), date: "2026-06-01" });
    expect(wallTime("UTC", Date.UTC(2026, 5, 1, 7, 5))).toBe("07:05");
  });

  it("lastDays lists local days oldest first across a change, each from midnight to midnight", () => {
    const days = lastDays("Europe/Paris", Date.UTC(2026, 2, 30, 12), 3);
    expect(days.map((d) => d.label)).toEqual(["2026-03-28", "2026-03-29", "2026-03-30"]);
    expect(days.map((d) => (d.to - d.from) / H)).toEqual([24, 23, 24]);
    for (let i = 1; i < days.length; i++) expect(days[i]!.from).toBe(days[i - 1]!.to);
    expect(dayAt("Europe/Paris", Date.UTC(2026, 2, 30, 12), -1).date).toBe("2026-03-29");
  });

  it("takes the zone from the config, else the opening hours, else the machines' opening hours, else UTC", () => {
    const base = { database: "x.db", operatorKey: { keyId: "k", privateKeyPath: "/k.pem" } };
    const hours = (tz: string) => ({ tz, days: { mon: ["08:00-18:00"] } });
    const parse = (extra: Record<string, unknown>) => FleetConfig.parse({ ...base, ...extra });
    expect(operatorTimeZone(parse({ timeZone: "Asia/Tokyo", alerts: { openingHours: hours("Europe/Paris") } }))).toEqual({ zone: "Asia/Tokyo", source: "config" });
    expect(operatorTimeZone(parse({ alerts: { openingHours: hours("Europe/Paris") } }))).toEqual({ zone: "Europe/Paris", source: "opening-hours" });
    expect(
      operatorTimeZone(parse({ alerts: { machineOpeningHours: { "a-01": hours("Europe/Berlin"), "b-01": hours("Europe/Madrid"), "c-01": hours("Europe/Madrid"), "d-01": "always" } } })),
    ).toEqual({ zone: "Europe/Madrid", source: "machine-opening-hours" });
    expect(operatorTimeZone(parse({}))).toEqual({ zone: "UTC", source: "default" });
  });

  it("refuses an unknown zone in the config with bad_value", () => {
    const r = FleetConfig.safeParse({ database: "x.db", operatorKey: { keyId: "k", privateKeyPath: "/k.pem" }, timeZone: "Mars/Olympus" });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain("unknown time zone");
  });

  it("machineTimeZone: the machine's own opening hours' zone, else the operator's", () => {
    const config = FleetConfig.parse({
      database: "x.db",
      operatorKey: { keyId: "k", privateKeyPath: "/k.pem" },
      alerts: { machineOpeningHours: { "lis-01": { tz: "Europe/Lisbon", days: { mon: ["08:00-18:00"] } }, "any-01": "always" } },
    });
    expect(machineTimeZone(config, "lis-01", "Europe/Paris")).toBe("Europe/Lisbon");
    expect(machineTimeZone(config, "any-01", "Europe/Paris")).toBe("Europe/Paris");
    expect(machineTimeZone(config, "other-01", "Europe/Paris")).toBe("Europe/Paris");
  });
});

describe("offsetSpans: the zone's offsets over a range, for the local day of an instant in SQL", () => {
  it("Paris in 2026: UTC+1 until 01:00 UTC on 29 March, UTC+2 until 01:00 UTC on 25 October, then UTC+1", () => {
    expect(offsetSpans("Europe/Paris", Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1))).toEqual([
      { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 2, 29, 1), offsetMs: H },
      { from: Date.UTC(2026, 2, 29, 1), to: Date.UTC(2026, 9, 25, 1), offsetMs: 2 * H },
      { from: Date.UTC(2026, 9, 25, 1), to: Date.UTC(2027, 0, 1), offsetMs: H },
    ]);
  });

  it("one span for UTC and for Kolkata (UTC+5:30); a range across New Year is one span per offset", () => {
    expect(offsetSpans("UTC", Date.UTC(2024, 5, 1), Date.UTC(2026, 5, 1))).toEqual([{ from: Date.UTC(2024, 5, 1), to: Date.UTC(2026, 5, 1), offsetMs: 0 }]);
    expect(offsetSpans("Asia/Kolkata", Date.UTC(2026, 0, 1, 3), Date.UTC(2026, 0, 2))).toEqual([{ from: Date.UTC(2026, 0, 1, 3), to: Date.UTC(2026, 0, 2), offsetMs: 5.5 * H }]);
    const winter = offsetSpans("Europe/Paris", Date.UTC(2025, 9, 1), Date.UTC(2026, 4, 1));
    expect(winter.map((s) => [s.from, s.offsetMs])).toEqual([
      [Date.UTC(2025, 9, 1), 2 * H],
      [Date.UTC(2025, 9, 26, 1), H],
      [Date.UTC(2026, 2, 29, 1), 2 * H],
    ]);
    expect(offsetSpans("Europe/Paris", 5, 5)).toEqual([]);
  });

  it("floor((ms + offset) / day) is the local day localDate finds, through 2026 in four zones and around every change", () => {
    for (const tz of ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]) {
      const from = Date.UTC(2026, 0, 1);
      const spans = offsetSpans(tz, from, Date.UTC(2027, 0, 1));
      for (let i = 1; i < spans.length; i++) expect(spans[i]!.from).toBe(spans[i - 1]!.to);
      // Every 4 h 7 min (drifting over the minutes of the hour), and a millisecond before and at each change.
      const instants: number[] = [];
      for (let t = from; t < Date.UTC(2027, 0, 1); t += 247 * 60_000) instants.push(t);
      for (const sp of spans.slice(1)) instants.push(sp.from - 1, sp.from, sp.from + 30 * 60_000);
      for (const t of instants) {
        const sp = spans.find((x) => t >= x.from && t < x.to)!;
        const d = localDate(tz, t);
        const want = `${d.y}-${String(d.m).padStart(2, "0")}-${String(d.d).padStart(2, "0")}`;
        const got = localDayDate(Math.floor((t + sp.offsetMs) / 86_400_000));
        if (got !== want) expect({ tz, t, got }).toEqual({ tz, t, got: want });
      }
    }
  });
});
