import { readFile, rename, writeFile } from "node:fs/promises";
import { Calibration, Pinmap, parseJson, parseValue, type PinName, type ProtocolError } from "@zapvend/protocol";
import { HalInputError } from "./errors.js";

const MAX_FILE_BYTES = 256 * 1024;

function refuse(error: ProtocolError, file: string): never {
  throw new HalInputError(error.code, `${file}: ${error.message}`, error.path);
}

/** A pin map from JSON text or an object, validated by protocol's schema: a coded error naming the field otherwise. */
export function parsePinmap(input: unknown, source = "pin map"): Pinmap {
  const r = typeof input === "string" ? parseJson(Pinmap, input, { maxBytes: MAX_FILE_BYTES }) : parseValue(Pinmap, input);
  if (!r.ok) refuse(r.error, source);
  return r.value;
}

export async function loadPinmap(file: string): Promise<Pinmap> {
  return parsePinmap(await readFile(file, "utf8"), file);
}

/** The calibration lives beside its pin map: `drinks.json` -> `drinks.calibration.json`. */
export function calibrationPathFor(pinmapFile: string): string {
  return pinmapFile.replace(/(\.json)?$/i, ".calibration.json");
}

/** The calibration file, or null when there is none yet. A file that exists but is bad is refused, not ignored. */
export async function loadCalibration(file: string): Promise<Calibration | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const r = parseJson(Calibration, text, { maxBytes: MAX_FILE_BYTES });
  if (!r.ok) refuse(r.error, file);
  return r.value;
}

/** Writes the calibration atomically (temp file + rename): a power cut leaves the old file or the new, never half. */
export async function saveCalibration(file: string, calibration: Calibration): Promise<void> {
  const checked = parseValue(Calibration, calibration);
  if (!checked.ok) refuse(checked.error, file);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(checked.value, null, 2)}\n`, "utf8");
  await rename(tmp, file);
}

/** The pin map with calibrated pulses-per-litre applied; calibration entries must name existing stations. */
export function applyCalibration(pinmap: Pinmap, calibration: Calibration | null | undefined): Pinmap {
  if (!calibration) return pinmap;
  const pourStations = { ...pinmap.pourStations };
  for (const [slot, c] of Object.entries(calibration.pourStations)) {
    const st = pourStations[slot];
    if (!st) throw new HalInputError("bad_value", `the calibration names pour station ${slot}, which the pin map does not have`, `pourStations.${slot}`);
    pourStations[slot] = { ...st, flowMeter: { ...st.flowMeter, pulsesPerLitre: c.pulsesPerLitre } };
  }
  return { ...pinmap, pourStations };
}

/** Every pin of a pin map with the field that names it (for a board's own checks of pin names). */
export function pinsOf(pinmap: Pinmap): Array<{ pin: PinName; path: string }> {
  const out: Array<{ pin: PinName; path: string }> = [];
  for (const [slot, s] of Object.entries(pinmap.pourStations)) {
    for (const k of ["en", "in1", "in2"] as const) out.push({ pin: s.pump[k], path: `pourStations.${slot}.pump.${k}` });
    out.push({ pin: s.flowMeter.pin, path: `pourStations.${slot}.flowMeter.pin` });
    out.push({ pin: s.cupSensor.pin, path: `pourStations.${slot}.cupSensor.pin` });
  }
  for (const [slot, s] of Object.entries(pinmap.spirals)) {
    out.push({ pin: s.motor, path: `spirals.${slot}.motor` });
    out.push({ pin: s.home.pin, path: `spirals.${slot}.home.pin` });
  }
  if (pinmap.dropSensor) out.push({ pin: pinmap.dropSensor.pin, path: "dropSensor.pin" });
  out.push({ pin: pinmap.door.pin, path: "door.pin" });
  if (pinmap.thermometer?.kind === "tmp36") out.push({ pin: pinmap.thermometer.pin, path: "thermometer.pin" });
  return out;
}
