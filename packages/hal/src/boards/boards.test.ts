import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { openHardware } from "../hardware.js";
import { shippedPinmap } from "../__fixtures__/sim.js";
import { resolveFirmataPin } from "./firmata.js";
import { bcmNumber } from "./raspi.js";

const hasRaspiIo = (() => {
  try {
    createRequire(import.meta.url).resolve("raspi-io");
    return true;
  } catch {
    return false;
  }
})();

describe("raspi board", () => {
  it("takes BCM names only (a bare number would be a WiringPi number to raspi-io)", () => {
    expect(bcmNumber("GPIO17", "x")).toBe(17);
    expect(() => bcmNumber(17, "door.pin")).toThrow(expect.objectContaining({ code: "bad_value", path: "door.pin" }));
  });

  it("refuses an Arduino pin map before touching anything", async () => {
    await expect(openHardware({ board: { kind: "raspi", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("arduino-drinks") })).rejects.toMatchObject({
      name: "HalInputError",
      path: "pourStations.P1.pump.en",
    });
  });

  it.skipIf(hasRaspiIo)("without raspi-io (any non-Pi machine) fails with a coded error that says what to install", async () => {
    await expect(openHardware({ board: { kind: "raspi", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("drinks") })).rejects.toMatchObject({
      name: "HardwareError",
      code: "BOARD_NOT_READY",
      message: expect.stringContaining("raspi-io"),
    });
  });
});

describe("firmata board", () => {
  it("maps Arduino pin names", () => {
    expect(resolveFirmataPin(7, "x")).toBe(7);
    expect(resolveFirmataPin("13", "x")).toBe(13);
    expect(resolveFirmataPin("A0", "x")).toBe(0);
    expect(() => resolveFirmataPin("GPIO17", "door.pin")).toThrow(expect.objectContaining({ path: "door.pin" }));
  });

  it("refuses a Pi pin map before opening the port", async () => {
    await expect(openHardware({ board: { kind: "firmata", pinmap: "x", port: "/dev/null", simFaults: [] }, pinmap: shippedPinmap("drinks") })).rejects.toMatchObject({
      name: "HalInputError",
      path: "pourStations.P1.pump.en",
    });
  });

  it("needs board.port", async () => {
    await expect(openHardware({ board: { kind: "firmata", pinmap: "x", simFaults: [] }, pinmap: shippedPinmap("arduino-drinks") })).rejects.toMatchObject({
      code: "missing_field",
      path: "board.port",
    });
  });
});
