import { describe, expect, it } from "vitest";
import type { Product } from "@zapvend/protocol";
import { resolvePourStations } from "./pour-stations.js";

const pour = (slot: string): Product => ({ slot, name: slot, kind: "pour", volumeMl: 250, price: { unit: "msat", amountMsat: "1000" }, stock: 1, capacity: 1, enabled: true });
const spiral = (slot: string): Product => ({ slot, name: slot, kind: "spiral", price: { unit: "msat", amountMsat: "1000" }, stock: 1, capacity: 1, enabled: true });

describe("pour stations", () => {
  it("pours each slot from the station of its own name", () => {
    const r = resolvePourStations([pour("P1"), pour("P2"), spiral("A1")], ["P1", "P2"]);
    expect(r).toEqual({ ok: true, stationOf: new Map([["P1", "P1"], ["P2", "P2"]]) });
  });

  it("serves every pour slot from a pin map's only station", () => {
    const r = resolvePourStations([pour("P1"), pour("P2")], ["P1"]);
    expect(r).toEqual({ ok: true, stationOf: new Map([["P1", "P1"], ["P2", "P1"]]) });
  });

  it("refuses a pour slot without its station when the pin map has several, naming the slot and the stations", () => {
    const r = resolvePourStations([pour("P1"), pour("P3")], ["P1", "P2"]);
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.message).toMatch(/pour slot P3 has no pour station .*\(stations: P1, P2\)/);
  });

  it("refuses pour slots on a pin map without pour stations; a snack machine needs none", () => {
    expect(resolvePourStations([pour("P1")], [])).toMatchObject({ ok: false, message: expect.stringMatching(/no pour station/) as unknown });
    expect(resolvePourStations([spiral("A1")], [])).toEqual({ ok: true, stationOf: new Map() });
  });
});
