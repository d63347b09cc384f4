// The DEX file's read-out date and time (EA302 / EA303) on the wall clock of the machine's zone.
import { describe, expect, it } from "vitest";
import type { MachineSummary } from "@zapvend/protocol";
import { dexReadOut, dexReport } from "./reports.js";

const machine: MachineSummary = { id: "snacks-01", status: "online", boot: 1, lastSeen: 0, model: null, softwareVersion: null, stock: [], faults: [], missingEvents: 0 };

describe("DEX read-out date and time", () => {
  it("is local: Kolkata's midnight is 18:30 UTC", () => {
    expect(dexReadOut(Date.UTC(2026, 5, 1, 18, 29), "Asia/Kolkata")).toEqual({ date: "260601", time: "2359" });
    expect(dexReadOut(Date.UTC(2026, 5, 1, 18, 30), "Asia/Kolkata")).toEqual({ date: "260602", time: "0000" });
    expect(dexReadOut(Date.UTC(2026, 5, 1, 18, 30), "UTC")).toEqual({ date: "260601", time: "1830" });
  });

  it("follows Paris's clock through both 2026 changes (no 02:xx on 29 March, 02:30 twice on 25 October)", () => {
    expect(dexReadOut(Date.UTC(2026, 2, 29, 0, 59), "Europe/Paris")).toEqual({ date: "260329", time: "0159" });
    expect(dexReadOut(Date.UTC(2026, 2, 29, 1, 0), "Europe/Paris")).toEqual({ date: "260329", time: "0300" });
    expect(dexReadOut(Date.UTC(2026, 9, 25, 0, 30), "Europe/Paris").time).toBe("0230");
    expect(dexReadOut(Date.UTC(2026, 9, 25, 1, 30), "Europe/Paris").time).toBe("0230");
    expect(dexReadOut(Date.UTC(2026, 11, 31, 23, 30), "Europe/Paris")).toEqual({ date: "270101", time: "0030" });
  });

  it("is the EA3 line of the file (UTC when no zone is given)", () => {
    const at = Date.UTC(2026, 11, 31, 23, 30);
    const ea3 = (text: string) => text.split("\r\n").find((l) => l.startsWith("EA3*"));
    expect(ea3(dexReport(machine, [], at, "Europe/Paris"))).toBe("EA3**270101*0030");
    expect(ea3(dexReport(machine, [], at))).toBe("EA3**261231*2330");
  });
});
