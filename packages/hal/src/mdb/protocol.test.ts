import { describe, expect, it } from "vitest";
import { formatAmountText, minorToUnits, parseAmountText, resolveMdbSettings, unitsToMinor } from "./amount.js";
import { MdbErrorCode } from "./errors.js";
import { LineSplitter, parseHatLine, parseHostCommand, setconfCommands } from "./protocol.js";

describe("the interface's lines, parsed strictly", () => {
  it("reads the lines the docs and real-hardware logs show", () => {
    expect(parseHatLine("c,STATUS,VEND,1.00,5")).toEqual({ ok: true, line: { kind: "status-vend", amount: "1.00", selection: 5 } });
    expect(parseHatLine("c,STATUS,VEND,15.19,17")).toMatchObject({ ok: true, line: { amount: "15.19", selection: 17 } });
    expect(parseHatLine("c,STATUS,IDLE,0")).toEqual({ ok: true, line: { kind: "status-idle", funds: "0" } });
    expect(parseHatLine("c,STATUS,IDLE")).toEqual({ ok: true, line: { kind: "status-idle" } });
    expect(parseHatLine("c,STATUS,ENABLED")).toEqual({ ok: true, line: { kind: "status", state: "enabled" } });
    expect(parseHatLine("c,VEND,SUCCESS")).toEqual({ ok: true, line: { kind: "vend-success" } });
    expect(parseHatLine("c,ERR,VEND 3")).toEqual({ ok: true, line: { kind: "vend-error", code: 3 } });
    expect(parseHatLine('c,ERR,"VEND -3"')).toEqual({ ok: true, line: { kind: "vend-error", code: -3 } });
    expect(parseHatLine('c,ERR,"START -3"')).toEqual({ ok: true, line: { kind: "error", text: '"START -3"' } });
    expect(parseHatLine("v,4.0.2.1,0123ABC")).toEqual({ ok: true, line: { kind: "version", version: "4.0.2.1", id: "0123ABC" } });
    expect(parseHatLine("r,ACK")).toEqual({ ok: true, line: { kind: "ack" } });
    expect(parseHatLine("x,10,20")).toMatchObject({ ok: true, line: { kind: "other", prefix: "x" } });
  });

  it("refuses near-misses, so none can start or approve a vend", () => {
    for (const bad of [
      "c,STATUS,VEND,1.00",
      "c,STATUS,VEND,1.00,5,",
      "c,STATUS,VEND,-1.00,5",
      "c,STATUS,VEND,1.0x,5",
      "c,STATUS,VEND,1.00,99999",
      "C,STATUS,VEND,1.00,5",
      " c,STATUS,VEND,1.00,5",
      "c,VEND,SUCCESSS",
      "c,STATUS,VENDING",
      "\u0000\u00ffc,STATUS,ENABLED",
      "c,STATUS,ENABLED\u0007",
      "x".repeat(300),
    ]) {
      expect(parseHatLine(bad), bad).toMatchObject({ ok: false });
    }
  });

  it("reads the host's commands (the sim VMC's side)", () => {
    expect(parseHostCommand("C,VEND,1.50")).toEqual({ kind: "approve", amount: "1.50" });
    expect(parseHostCommand("C,VEND,1,5")).toEqual({ kind: "approve", amount: "1", item: "5" });
    expect(parseHostCommand("C,VEND,-1")).toEqual({ kind: "deny" });
    expect(parseHostCommand("C,SETCONF,mdb-always-idle=1")).toEqual({ kind: "setconf", param: "mdb-always-idle", value: "1" });
    expect(parseHostCommand("C,START,0")).toEqual({ kind: "start", funds: "0" });
    expect(parseHostCommand("C,VEND,abc")).toBeUndefined();
  });

  it("writes the configuration as SETCONF parameters, the currency as 0x1<ISO numeric>", () => {
    expect(setconfCommands(resolveMdbSettings({ currencyCode: 36 }))).toEqual([
      "C,SETCONF,mdb-currency-code=0x1036",
      "C,SETCONF,mdb-scale-factor=1",
      "C,SETCONF,mdb-decimal-places=2",
      "C,SETCONF,mdb-always-idle=1",
    ]);
  });

  it("splits CRLF, LF and CR lines across chunks and bounds an endless line", () => {
    const lines: string[] = [];
    const s = new LineSplitter(16);
    s.push("c,1\r", (l) => lines.push(l));
    s.push("\nc,0\nr,A", (l) => lines.push(l));
    s.push("CK\rc,", (l) => lines.push(l));
    expect(lines).toEqual(["c,1", "c,0", "r,ACK"]);
    s.push("x".repeat(20), (l) => lines.push(l));
    expect(lines.at(-1)).toBe(`c,${"x".repeat(20)}`);
  });
});

describe("VMC units", () => {
  const eur = { scaleFactor: 1, decimalPlaces: 2 };
  it("parses the interface's amounts into units, exactly", () => {
    expect(parseAmountText("1.50", eur)).toBe(150);
    expect(parseAmountText("15", eur)).toBe(1500);
    expect(parseAmountText("0.5", eur)).toBe(50);
    expect(parseAmountText("1.500", eur)).toBe(150);
    expect(parseAmountText("1.505", eur)).toBeUndefined();
    expect(parseAmountText("1.50", { scaleFactor: 5, decimalPlaces: 2 })).toBe(30);
    expect(parseAmountText("1.52", { scaleFactor: 5, decimalPlaces: 2 })).toBeUndefined(); // not a multiple of the scale
    expect(parseAmountText("1899", { scaleFactor: 1, decimalPlaces: 0 })).toBe(1899);
    expect(parseAmountText("655.35", eur)).toBeUndefined(); // above the 16-bit MDB price
  });
  it("formats units for C,VEND", () => {
    expect(formatAmountText(150, eur)).toBe("1.50");
    expect(formatAmountText(5, eur)).toBe("0.05");
    expect(formatAmountText(30, { scaleFactor: 5, decimalPlaces: 2 })).toBe("1.50");
    expect(formatAmountText(7, { scaleFactor: 1, decimalPlaces: 0 })).toBe("7");
    expect(() => formatAmountText(1.5, eur)).toThrow(expect.objectContaining({ code: MdbErrorCode.BAD_AMOUNT }));
  });
  it("converts units to and from the currency's minor units", () => {
    expect(unitsToMinor(30, { scaleFactor: 5, decimalPlaces: 2 })).toBe(150);
    expect(unitsToMinor(15, { scaleFactor: 1, decimalPlaces: 1 })).toBe(150);
    expect(unitsToMinor(1500, { scaleFactor: 1, decimalPlaces: 3 })).toBe(150);
    expect(() => unitsToMinor(1505, { scaleFactor: 1, decimalPlaces: 3 })).toThrow(expect.objectContaining({ code: MdbErrorCode.BAD_AMOUNT }));
    expect(unitsToMinor(120, { scaleFactor: 1, decimalPlaces: 0 }, 0)).toBe(120); // JPY
    expect(minorToUnits(150, { scaleFactor: 5, decimalPlaces: 2 })).toBe(30);
    expect(() => minorToUnits(152, { scaleFactor: 5, decimalPlaces: 2 })).toThrow(expect.objectContaining({ code: MdbErrorCode.BAD_AMOUNT }));
  });
  it("refuses settings out of range", () => {
    expect(() => resolveMdbSettings({ currencyCode: 978, decimalPlaces: 4 })).toThrow(expect.objectContaining({ code: MdbErrorCode.BAD_SETTINGS }));
    expect(() => resolveMdbSettings({ currencyCode: 9780 })).toThrow(expect.objectContaining({ code: MdbErrorCode.BAD_SETTINGS }));
  });
});
