import { z } from "zod";
import { SlotId, text } from "./common.js";

/**
 * A pin as the board names it: a BCM name on a Raspberry Pi ("GPIO17"), a digital pin number or an analog name
 * ("A0") on an Arduino running Firmata. The sim board accepts every form.
 */
export const PinName = z.union([
  z.int().min(0).max(127),
  z.string().regex(/^(GPIO([0-9]|[1-3][0-9])|A[0-9]{1,2}|[0-9]{1,3})$/, 'a pin is a BCM name ("GPIO17"), a number or an analog name ("A0")'),
]);
export type PinName = z.infer<typeof PinName>;

/** A digital input (switch, IR beam, Hall sensor). */
export const InputPin = z.strictObject({
  pin: PinName,
  /** True when the sensor pulls the line LOW when it is active (a switch to ground with a pull-up). Default false. */
  activeLow: z.boolean().default(false),
  /** Internal pull resistor. Default "none" (the wiring documents use external pull-ups where lines are long). */
  pull: z.enum(["up", "down", "none"]).default("none"),
});
export type InputPin = z.infer<typeof InputPin>;

/** One channel of an L298N H-bridge: EN as PWM, IN1/IN2 as direction. */
export const L298nChannel = z.strictObject({
  en: PinName,
  in1: PinName,
  in2: PinName,
});
export type L298nChannel = z.infer<typeof L298nChannel>;

export const FlowMeterPins = z.strictObject({
  pin: PinName,
  /** Pulses per litre until calibrated: about 450 for a YF-S201, 5880 for a YF-S401. */
  pulsesPerLitre: z.number().min(50).max(100_000),
});

export const PourStationPins = z.strictObject({
  pump: L298nChannel,
  /** Pump duty while pouring, percent of EN's PWM. Default 100. */
  dutyPercent: z.int().min(10).max(100).default(100),
  flowMeter: FlowMeterPins,
  /** Cup present at the nozzle. */
  cupSensor: InputPin,
});
export type PourStationPins = z.infer<typeof PourStationPins>;

export const SpiralPins = z.strictObject({
  /** Motor output (a MOSFET or relay): HIGH turns the spiral. */
  motor: PinName,
  /** Home/index micro-switch, active while the spiral is at its home position. */
  home: InputPin,
  /** One revolution in ms at nominal voltage, for the time limits. Default 3000. */
  revolutionMs: z.int().min(200).max(30_000).default(3_000),
});
export type SpiralPins = z.infer<typeof SpiralPins>;

export const ThermometerPins = z.discriminatedUnion("kind", [
  /** TMP36 on an analog pin (Arduino/Firmata; 5 V reference). */
  z.strictObject({ kind: z.literal("tmp36"), pin: PinName }),
  /**
   * DS18B20 on the Pi's 1-Wire bus (kernel w1-therm driver, `dtoverlay=w1-gpio`, GPIO4): read from sysfs. Without a
   * `deviceId`, the one DS18B20 on the bus is used.
   */
  z.strictObject({ kind: z.literal("ds18b20"), deviceId: z.string().regex(/^28-[0-9a-f]{12}$/, 'a DS18B20 id is "28-" and 12 hex digits').optional() }),
]);
export type ThermometerPins = z.infer<typeof ThermometerPins>;

/**
 * The pin map of one machine (`hardware/pinmaps/*.json`): which pin drives or reads what. Refused with a coded error
 * naming the field when a pin is missing or used twice, before anything moves.
 */
export const Pinmap = z
  .strictObject({
    name: text(60),
    pourStations: z.record(SlotId, PourStationPins).default({}),
    spirals: z.record(SlotId, SpiralPins).default({}),
    /** IR beam under the spirals: active while a product breaks it. Required when there are spirals. */
    dropSensor: InputPin.optional(),
    /** Door switch: active while the door is closed (a switch that opens when the door opens fails safe). */
    door: InputPin,
    thermometer: ThermometerPins.optional(),
  })
  .check((ctx) => {
    const map = ctx.value;
    const seen = new Map<string, string>();
    const use = (pin: PinName, path: (string | number)[]) => {
      const key = String(pin);
      const where = path.join(".");
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.issues.push({ code: "custom", message: `pin ${key} of ${where} is already used by ${first}`, path, input: pin, params: { code: "bad_value" } });
      } else seen.set(key, where);
    };
    for (const [slot, s] of Object.entries(map.pourStations)) {
      use(s.pump.en, ["pourStations", slot, "pump", "en"]);
      use(s.pump.in1, ["pourStations", slot, "pump", "in1"]);
      use(s.pump.in2, ["pourStations", slot, "pump", "in2"]);
      use(s.flowMeter.pin, ["pourStations", slot, "flowMeter", "pin"]);
      use(s.cupSensor.pin, ["pourStations", slot, "cupSensor", "pin"]);
    }
    for (const [slot, s] of Object.entries(map.spirals)) {
      if (slot in map.pourStations) {
        ctx.issues.push({ code: "custom", message: `slot ${slot} is both a pour station and a spiral`, path: ["spirals", slot], input: s, params: { code: "bad_value" } });
      }
      use(s.motor, ["spirals", slot, "motor"]);
      use(s.home.pin, ["spirals", slot, "home", "pin"]);
    }
    if (map.dropSensor) use(map.dropSensor.pin, ["dropSensor", "pin"]);
    else if (Object.keys(map.spirals).length > 0) {
      ctx.issues.push({ code: "invalid_type", expected: "object", message: "dropSensor is required when there are spirals", path: ["dropSensor"], input: undefined });
    }
    use(map.door.pin, ["door", "pin"]);
    if (map.thermometer?.kind === "tmp36") use(map.thermometer.pin, ["thermometer", "pin"]);
    if (Object.keys(map.pourStations).length + Object.keys(map.spirals).length === 0) {
      ctx.issues.push({ code: "custom", message: "a pin map needs at least one pour station or spiral", path: [], input: map, params: { code: "missing_field" } });
    }
  });
export type Pinmap = z.infer<typeof Pinmap>;
export type PinmapInput = z.input<typeof Pinmap>;

/** The calibration file the harness writes beside a pin map (`<pinmap>.calibration.json`): pulses per litre per station. */
export const Calibration = z.strictObject({
  pourStations: z.record(SlotId, z.strictObject({ pulsesPerLitre: z.number().min(50).max(100_000), calibratedAt: z.int().min(0) })),
});
export type Calibration = z.infer<typeof Calibration>;
