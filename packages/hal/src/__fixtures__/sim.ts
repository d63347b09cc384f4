import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { vi } from "vitest";
import { openHardware, type Hardware } from "../hardware.js";
import { systemClock } from "../clock.js";
import { parsePinmap } from "../pinmap-file.js";
import type { SimMachine, SimOptions } from "../sim/machine.js";
import { simOf } from "../sim/index.js";

/** A shipped pin map of `hardware/pinmaps/`. */
export function pinmapFile(name: string): string {
  return fileURLToPath(new URL(`../../../../hardware/pinmaps/${name}.json`, import.meta.url));
}

export function shippedPinmap(name: string) {
  return parsePinmap(readFileSync(pinmapFile(name), "utf8"), name);
}

/** Opens the sim board on a shipped pin map; the clock is the (faked) global timers. */
export async function openSim(name = "bench", sim: SimOptions = {}): Promise<{ hw: Hardware; sim: SimMachine }> {
  const hw = await openHardware({ board: { kind: "sim", pinmap: pinmapFile(name), simFaults: [] }, pinmap: shippedPinmap(name), clock: systemClock, sim });
  return { hw, sim: simOf(hw)! };
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Starts an operation, advances fake time by `ms`, and returns how it ended (a rejection never goes unhandled). */
export async function settle<T>(op: Promise<T>, ms: number): Promise<Outcome<T>> {
  const outcome = op.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await vi.advanceTimersByTimeAsync(ms);
  return outcome;
}

export const never = (): AbortSignal => new AbortController().signal;
