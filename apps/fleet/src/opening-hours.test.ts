// Opening hours as the operator writes them in the config, counted in real elapsed time: weekends, ranges past
// midnight, and the two daylight saving changes of Europe/Paris in 2026 (29 March: 02:00 -> 03:00; 25 October:
// 03:00 -> 02:00), plus a zone south of the equator whose change falls on other dates.
import { describe, expect, it } from "vitest";
import { parseFleetConfig, type OpeningHours } from "@zapvend/protocol";
import { conditionsFor, DEFAULT_ALERT_SETTINGS, openingHoursFor, type AlertSettings } from "./alerts.js";
import { instantOf, isOpenAt, openMsBetween } from "./opening-hours.js";

const H = 3_600_000;
const MIN = 60_000;
const weekdays = (ranges: string[]): OpeningHours["days"] => ({ mon: ranges, tue: ranges, wed: ranges, thu: ranges, fri: ranges });
const everyDay = (ranges: string[]): OpeningHours["days"] => ({ ...weekdays(ranges), sat: ranges, sun: ranges });
/** Paris wall time -> instant, written the way a test reader checks it against a calendar. */
const paris = (iso: string, offsetH: 1 | 2) => Date.parse(`${iso}:00+0${offsetH}:00`);

describe("opening hours", () => {
  const office: OpeningHours = { tz: "Europe/Paris", days: weekdays(["07:00-20:00"]) };

  it("counts only the open hours of a weekend span (Friday 19:00 to Monday 08:00 is 2 h)", () => {
    // 2026-11-20 is a Friday; Paris is on CET (+01:00).
    expect(openMsBetween(office, paris("2026-11-20T19:00", 1), paris("2026-11-23T08:00", 1))).toBe(2 * H);
    expect(isOpenAt(office, paris("2026-11-21T12:00", 1))).toBe(false);
    expect(isOpenAt(office, paris("2026-11-23T07:00", 1))).toBe(true);
    expect(isOpenAt(office, paris("2026-11-23T06:59", 1))).toBe(false);
    expect(isOpenAt(office, paris("2026-11-23T20:00", 1))).toBe(false);
  });

  it("runs a range that ends before it starts past midnight, also from the day before the span", () => {
    const bar: OpeningHours = { tz: "Europe/Paris", days: { fri: ["22:00-02:00"] } };
    expect(openMsBetween(bar, paris("2026-11-20T00:00", 1), paris("2026-11-23T00:00", 1))).toBe(4 * H);
    // The span starts on Saturday: Friday's range still covers its first two hours.
    expect(openMsBetween(bar, paris("2026-11-21T00:00", 1), paris("2026-11-21T12:00", 1))).toBe(2 * H);
    // Open every evening into the night: last sale at 23:00, 19:00 the next day -> 23-02 and 18-19 count.
    const night: OpeningHours = { tz: "Europe/Paris", days: everyDay(["18:00-02:00"]) };
    expect(openMsBetween(night, paris("2026-11-20T23:00", 1), paris("2026-11-21T19:00", 1))).toBe(4 * H);
  });

  it("counts the hours the wall clock showed across the spring-forward change (a 23-hour Sunday)", () => {
    const allDay: OpeningHours = { tz: "Europe/Paris", days: { sun: ["00:00-24:00"] } };
    expect(openMsBetween(allDay, paris("2026-03-28T12:00", 1), paris("2026-03-30T12:00", 2))).toBe(23 * H);
    // 01:00-04:00 on that night: 01:00-02:00 CET then 03:00-04:00 CEST.
    const early: OpeningHours = { tz: "Europe/Paris", days: { sun: ["01:00-04:00"] } };
    expect(openMsBetween(early, paris("2026-03-29T00:00", 1), paris("2026-03-29T12:00", 2))).toBe(2 * H);
    // A range that starts inside the skipped hour opens when the clock jumps past it.
    const skipped: OpeningHours = { tz: "Europe/Paris", days: { sun: ["02:30-05:00"] } };
    expect(instantOf("Europe/Paris", { y: 2026, m: 3, d: 29 }, 150)).toBe(paris("2026-03-29T03:00", 2));
    expect(openMsBetween(skipped, paris("2026-03-29T00:00", 1), paris("2026-03-29T12:00", 2))).toBe(2 * H);
    // The weekday hours of the week around the change are unaffected: 5 x 13 h.
    expect(openMsBetween(office, paris("2026-03-27T00:00", 1), paris("2026-04-03T00:00", 2))).toBe(5 * 13 * H);
  });

  it("counts the repeated hour once per time it passes at the fall-back change (a 25-hour Sunday)", () => {
    const allDay: OpeningHours = { tz: "Europe/Paris", days: { sun: ["00:00-24:00"] } };
    expect(openMsBetween(allDay, paris("2026-10-24T12:00", 2), paris("2026-10-26T12:00", 1))).toBe(25 * H);
    const early: OpeningHours = { tz: "Europe/Paris", days: { sun: ["01:00-04:00"] } };
    expect(openMsBetween(early, paris("2026-10-25T00:00", 2), paris("2026-10-25T12:00", 1))).toBe(4 * H);
    // 02:30 happens twice; a range starting then opens at the first.
    expect(instantOf("Europe/Paris", { y: 2026, m: 10, d: 25 }, 150)).toBe(paris("2026-10-25T02:30", 2));
  });

  it("follows the zone it is given (Sydney moves its clocks on 5 April 2026)", () => {
    const sydney: OpeningHours = { tz: "Australia/Sydney", days: { sun: ["00:00-24:00"] } };
    expect(openMsBetween(sydney, Date.parse("2026-04-04T00:00:00+11:00"), Date.parse("2026-04-06T12:00:00+10:00"))).toBe(25 * H);
  });

  it("stops counting once it has enough, so months of silence cost little", () => {
    const t0 = paris("2026-01-05T00:00", 1);
    expect(openMsBetween(office, t0, t0 + 300 * 24 * H, 6 * H)).toBe(6 * H);
    expect(openMsBetween(office, t0, t0)).toBe(0);
  });

  it("is validated where the config is read: ranges and zone", () => {
    const base = { database: "fleet.db", operatorKey: { keyId: "k", privateKeyPath: "k.pem" } };
    const ok = parseFleetConfig({ ...base, alerts: { openingHours: office, machineOpeningHours: { "snacks-01": "always", "drinks-01": { tz: "UTC", days: {} } } } });
    expect(ok.ok).toBe(true);
    const badZone = parseFleetConfig({ ...base, alerts: { openingHours: { tz: "Mars/Olympus", days: {} } } });
    expect(badZone.ok).toBe(false);
    if (!badZone.ok) expect(badZone.error.message).toMatch(/Mars\/Olympus/);
    const badRange = parseFleetConfig({ ...base, alerts: { openingHours: { tz: "UTC", days: { mon: ["7:00-20:00"] } } } });
    expect(badRange.ok).toBe(false);
    const badDay = parseFleetConfig({ ...base, alerts: { openingHours: { tz: "UTC", days: { monday: ["07:00-20:00"] } } } });
    expect(badDay.ok).toBe(false);
  });
});

describe("no-sales alert with opening hours", () => {
  const settings: AlertSettings = {
    ...DEFAULT_ALERT_SETTINGS,
    noSalesAfterMs: 2 * H,
    openingHours: { tz: "Europe/Paris", days: weekdays(["07:00-20:00"]) },
    machineOpeningHours: { "always-01": "always", "late-01": { tz: "Europe/Paris", days: everyDay(["18:00-02:00"]) } },
  };
  const machine = (id: string, lastSaleAt: number, nowMs: number) => ({
    id,
    status: "online" as const,
    statusChangedAt: lastSaleAt,
    lastSeen: nowMs,
    firstSeen: lastSaleAt,
    temperatureC: null,
    door: null,
    payments: null,
    vendFailuresInARow: 0,
    lastSaleAt,
    missingEvents: 0,
    mode: null,
    slots: [],
  });
  const kinds = (id: string, lastSaleAt: number, nowMs: number) => conditionsFor(machine(id, lastSaleAt, nowMs), settings, nowMs).map((a) => a.kind);

  it("does not count the night: a sale at 19:30 raises nothing until 08:30 the next open day", () => {
    const sale = paris("2026-11-19T19:30", 1); // Thursday
    expect(kinds("office-01", sale, paris("2026-11-20T07:00", 1))).toEqual([]);
    expect(kinds("office-01", sale, paris("2026-11-20T08:29", 1))).toEqual([]);
    expect(kinds("office-01", sale, paris("2026-11-20T08:30", 1))).toEqual(["no-sales"]);
    // The last sale is said on the clock of the hours' zone, not in UTC (18:30 UTC).
    expect(conditionsFor(machine("office-01", sale, paris("2026-11-20T08:30", 1)), settings, paris("2026-11-20T08:30", 1))[0]!.message).toBe(
      "no sale on office-01 for 2 h of opening hours (last 2026-11-19 19:30 Europe/Paris)",
    );
    // Friday evening to Monday: the weekend is closed.
    const friday = paris("2026-11-20T19:00", 1);
    expect(kinds("office-01", friday, paris("2026-11-23T07:59", 1))).toEqual([]);
    expect(kinds("office-01", friday, paris("2026-11-23T08:00", 1))).toEqual(["no-sales"]);
  });

  it("takes a machine's own hours over the fleet's, and `always` counts every hour", () => {
    const sale = paris("2026-11-21T10:00", 1); // Saturday: the fleet's hours are closed
    expect(kinds("office-01", sale, sale + 10 * H)).toEqual([]);
    expect(kinds("always-01", sale, sale + 2 * H)).toEqual(["no-sales"]);
    // Open 18:00-02:00: two hours are reached at 20:00 the same evening, not before.
    expect(kinds("late-01", sale, paris("2026-11-21T19:59", 1))).toEqual([]);
    expect(kinds("late-01", sale, paris("2026-11-21T20:00", 1))).toEqual(["no-sales"]);
    expect(openingHoursFor(settings, "always-01")).toBeNull();
    expect(openingHoursFor(settings, "office-01")?.tz).toBe("Europe/Paris");
  });

  it("counts across midnight and the spring-forward night for a machine open late", () => {
    // Saturday 28 March 2026, last sale 23:30; open 18:00-02:00 every day. The clocks jump the next night at 02:00,
    // after closing, so 23:30-02:00 is 2.5 h of opening time: the alert is due at 01:30.
    const sale = paris("2026-03-28T23:30", 1);
    expect(kinds("late-01", sale, paris("2026-03-29T01:29", 1))).toEqual([]);
    expect(kinds("late-01", sale, paris("2026-03-29T01:30", 1))).toEqual(["no-sales"]);
    expect(openMsBetween(settings.machineOpeningHours!["late-01"] as OpeningHours, sale, paris("2026-03-29T18:00", 2))).toBe(2.5 * H);
    expect(openMsBetween(settings.machineOpeningHours!["late-01"] as OpeningHours, sale, paris("2026-03-29T18:30", 2))).toBe(2.5 * H + 30 * MIN);
  });
});
