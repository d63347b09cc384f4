// Which pour station of the pin map each pour slot of the catalog pours from. The pin map keys its `pourStations`
// by slot (`P1`, `P2`, ...): a slot pours from the station of its own name. A pin map with a single station serves
// every pour slot from it (one pump, one flow meter, one tank, so its faults stop all of them). Any other pour slot
// is a configuration error, found at start rather than by pouring the wrong drink.
import type { Product } from "@zapvend/protocol";

export type PourStations = { ok: true; stationOf: Map<string, string> } | { ok: false; message: string };

export function resolvePourStations(catalog: readonly Product[], stations: readonly string[]): PourStations {
  const stationOf = new Map<string, string>();
  const pourSlots = catalog.filter((p) => p.kind === "pour").map((p) => p.slot);
  if (pourSlots.length === 0) return { ok: true, stationOf };
  if (stations.length === 0) {
    return { ok: false, message: `the catalog has pour slots (${pourSlots.join(", ")}) but the pin map has no pour station` };
  }
  const missing: string[] = [];
  for (const slot of pourSlots) {
    if (stations.includes(slot)) stationOf.set(slot, slot);
    else if (stations.length === 1) stationOf.set(slot, stations[0]!);
    else missing.push(slot);
  }
  if (missing.length > 0) {
    return {
      ok: false,
      message: `pour slot${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ha${missing.length > 1 ? "ve" : "s"} no pour station of the same name in the pin map (stations: ${stations.join(", ")}); name each station after the slot it pours`,
    };
  }
  return { ok: true, stationOf };
}
