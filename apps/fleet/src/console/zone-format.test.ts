// Timestamps on the operator's clock (audit rows, deliveries, logins, commands).
import { describe, expect, it } from "vitest";
import { timestamp } from "./zone-format.js";

describe("timestamp", () => {
  it("is the wall clock of the zone, with the year and seconds, across a daylight saving change", () => {
    expect(timestamp("Europe/Paris", Date.UTC(2026, 9, 25, 0, 30, 5))).toBe("2026-10-25 02:30:05");
    expect(timestamp("Europe/Paris", Date.UTC(2026, 9, 25, 1, 30, 5))).toBe("2026-10-25 02:30:05");
    expect(timestamp("Asia/Kolkata", Date.UTC(2026, 11, 31, 18, 30))).toBe("2027-01-01 00:00:00");
    expect(timestamp("UTC", Date.UTC(2026, 11, 7, 9, 4, 3))).toBe("2026-12-07 09:04:03");
  });

  it("falls back to UTC for a zone this browser does not know", () => {
    expect(timestamp("Mars/Olympus", Date.UTC(2026, 11, 7, 23, 59, 59))).toBe("2026-12-07 23:59:59");
  });
});
