// The sim board's physics: a pump that moves liquid in proportion to its duty, a flow meter that pulses per
// millilitre, spirals that turn at a set speed past a home cam and push a product off their end, products that fall
// through the drop beam, a tank per pour station, stock per spiral, a door, a temperature, and faults a test, the
// harness (`--sim-fault`) or the demo can script. It runs on the injected clock and only ticks while something moves,
// so fake timers drive it exactly and an idle sim schedules nothing.
import type { InputPin, Pinmap, PinName } from "@zapvend/protocol";
import type { Clock } from "../clock.js";
import { HalInputError } from "../errors.js";

export const SimFault = {
  /** The pump has lost its prime (air in the suction line): it pushes out what is left in the line, then nothing. */
  PUMP_DRY: "pump-dry",
  /** A spiral is jammed: its motor stalls and the spiral does not turn. */
  SPIRAL_JAM: "spiral-jam",
  /** The drop beam reads "broken" all the time (dirt on the lens, a product stuck in the chute). */
  DROP_SENSOR_STUCK: "drop-sensor-stuck",
  /** The door is open. */
  DOOR_OPEN: "door-open",
  /** Liquid flows but the flow meter gives no pulse (cable off, Hall sensor dead). */
  FLOW_SENSOR_DEAD: "flow-sensor-dead",
} as const;
export type SimFault = (typeof SimFault)[keyof typeof SimFault];
export const SIM_FAULTS: readonly SimFault[] = Object.values(SimFault);

export function isSimFault(name: string): name is SimFault {
  return (SIM_FAULTS as readonly string[]).includes(name);
}

export interface SimOptions {
  /** Faults the sim starts with. Unknown names are refused. Default none. */
  faults?: readonly string[];
  /** Liquid in each pour station's tank, ml. Default 5000. */
  tankMl?: number;
  /** Products in each spiral, by slot. Default 5 per spiral. */
  stock?: Record<string, number>;
  /** Cabinet temperature, °C. Default 4.5. */
  temperatureC?: number;
  /** Pump flow at 100 % duty, ml/s. Default 25. */
  maxFlowMlPerS?: number;
  /**
   * The simulated meter's true pulses per litre. Default: the pin map's value, i.e. perfectly calibrated; set it
   * apart to exercise the calibration.
   */
  meterPulsesPerLitre?: number;
  /** Liquid left in the line after the tank runs dry, pushed out before the pump runs dry. Default 8 ml. */
  lineMl?: number;
  /** Physics step, ms. Default 5. */
  tickMs?: number;
  /**
   * Told of every physical outcome as it happens: a product pushed off a spiral's end, a pump starting and stopping
   * (with the millilitres that came out). Crash and chaos tests record these outside the machine's own journal, as
   * the independent truth of what came out. A listener that throws is ignored. Default none.
   */
  onPhysical?: (event: SimPhysicalEvent) => void;
}

/** What physically came out of the sim machine: the ground truth a crash test checks the journal against. */
export type SimPhysicalEvent =
  | { kind: "product"; slot: string; atMs: number }
  | { kind: "pump-on"; slot: string; atMs: number }
  | { kind: "pump-off"; slot: string; atMs: number; ml: number };

export interface PinWrite {
  pin: string;
  kind: "digital" | "pwm";
  value: number;
  atMs: number;
}

interface Station {
  slot: string;
  en: string;
  in1: string;
  in2: string;
  flowPin: string;
  cupPin: InputPin;
  tankMl: number;
  lineMl: number;
  jugMl: number;
  pulseFrac: number;
  meterPulsesPerLitre: number;
  cupPresent: boolean;
}

interface SpiralSim {
  slot: string;
  motor: string;
  home: InputPin;
  revolutionMs: number;
  /** Position in revolutions, 0 <= angle < 1; home while angle < HOME_CAM_REV. */
  angle: number;
  stock: number;
  pushedThisTurn: boolean;
}

/** The home cam holds the switch for this fraction of a revolution. */
const HOME_CAM_REV = 0.05;
/** Where in a turn the product leaves the end of the spiral. */
const PUSH_AT_REV = 0.6;
/** From the spiral's end to the beam. */
const FALL_MS = 250;
/** How long a falling product breaks the beam. */
const BEAM_MS = 40;
/** Below this duty the pump motor does not start. */
const STALL_DUTY = 0.15;

const key = (pin: PinName) => String(pin);

export class SimMachine {
  readonly #clock: Clock;
  readonly #faults = new Set<SimFault>();
  readonly #outputs = new Map<string, number>();
  /** Outputs whose last write was digital: a HIGH on a pump's EN is full duty (a board without PWM on that pin). */
  readonly #digitalOutputs = new Set<string>();
  readonly #inputs = new Map<string, { read: () => boolean; cfg: InputPin } | { raw: () => 0 | 1 }>();
  readonly #readers = new Map<string, Array<(v: number) => void>>();
  readonly #analogReaders = new Map<string, Array<(v: number) => void>>();
  readonly #reported = new Map<string, number>();
  readonly #stations = new Map<string, Station>();
  readonly #spirals = new Map<string, SpiralSim>();
  readonly #falling: number[] = [];
  readonly #writes: PinWrite[] = [];
  readonly #maxFlowMlPerS: number;
  readonly #lineMl: number;
  readonly #tickMs: number;
  #doorClosed = true;
  #temperatureC: number;
  #timer: unknown = null;
  #lastTickMs: number;
  #flowLevel = new Map<string, 0 | 1>();
  #drops = 0;
  /** While a late tick is walked through in steps: the time of the step whose inputs are being reported. */
  #stepNowMs: number | null = null;
  readonly #onPhysical: ((event: SimPhysicalEvent) => void) | undefined;
  /** Per pour station running now: the jug level when its pump started. */
  readonly #pumpRuns = new Map<string, number>();

  constructor(readonly pinmap: Pinmap, clock: Clock, options: SimOptions = {}) {
    this.#clock = clock;
    this.#lastTickMs = clock.now();
    this.#maxFlowMlPerS = options.maxFlowMlPerS ?? 25;
    this.#lineMl = options.lineMl ?? 8;
    this.#tickMs = options.tickMs ?? 5;
    this.#temperatureC = options.temperatureC ?? 4.5;
    this.#onPhysical = options.onPhysical;
    (options.faults ?? []).forEach((f, i) => {
      if (!isSimFault(f)) throw new HalInputError("bad_value", `unknown sim fault "${f}" (known: ${SIM_FAULTS.join(", ")})`, `simFaults[${i}]`);
      this.#faults.add(f);
    });

    for (const [slot, s] of Object.entries(pinmap.pourStations)) {
      const st: Station = {
        slot,
        en: key(s.pump.en),
        in1: key(s.pump.in1),
        in2: key(s.pump.in2),
        flowPin: key(s.flowMeter.pin),
        cupPin: s.cupSensor,
        tankMl: options.tankMl ?? 5_000,
        lineMl: this.#lineMl,
        jugMl: 0,
        pulseFrac: 0,
        meterPulsesPerLitre: options.meterPulsesPerLitre ?? s.flowMeter.pulsesPerLitre,
        cupPresent: true,
      };
      this.#stations.set(slot, st);
      this.#flowLevel.set(st.flowPin, 0);
      this.#inputs.set(st.flowPin, { raw: () => (this.#faults.has(SimFault.FLOW_SENSOR_DEAD) ? 0 : (this.#flowLevel.get(st.flowPin) ?? 0)) });
      this.#inputs.set(key(s.cupSensor.pin), { cfg: s.cupSensor, read: () => st.cupPresent });
    }
    for (const [slot, s] of Object.entries(pinmap.spirals)) {
      const sp: SpiralSim = {
        slot,
        motor: key(s.motor),
        home: s.home,
        revolutionMs: s.revolutionMs,
        angle: 0,
        stock: options.stock?.[slot] ?? 5,
        pushedThisTurn: false,
      };
      this.#spirals.set(slot, sp);
      this.#inputs.set(key(s.home.pin), { cfg: s.home, read: () => sp.angle < HOME_CAM_REV });
    }
    if (pinmap.dropSensor) {
      this.#inputs.set(key(pinmap.dropSensor.pin), { cfg: pinmap.dropSensor, read: () => this.#beamBroken() });
    }
    this.#inputs.set(key(pinmap.door.pin), { cfg: pinmap.door, read: () => this.#doorClosed && !this.#faults.has(SimFault.DOOR_OPEN) });
  }

  // ---- scripting -------------------------------------------------------------------------------------------

  get faults(): readonly SimFault[] {
    return [...this.#faults];
  }

  inject(fault: SimFault): void {
    this.#faults.add(fault);
    this.#refresh();
  }

  clear(fault?: SimFault): void {
    if (fault) this.#faults.delete(fault);
    else this.#faults.clear();
    this.#refresh();
  }

  setStock(slot: string, count: number): void {
    this.#spiral(slot).stock = Math.max(0, Math.floor(count));
  }

  stock(slot: string): number {
    return this.#spiral(slot).stock;
  }

  /** Fills (or empties) a station's tank; a refilled tank also refills the line. */
  setTankMl(slot: string, ml: number): void {
    const st = this.#station(slot);
    st.tankMl = Math.max(0, ml);
    if (st.tankMl > 0) st.lineMl = this.#lineMl;
  }

  tankMl(slot: string): number {
    return this.#station(slot).tankMl;
  }

  /** What has come out of a station's nozzle so far, ml: the measuring jug of a calibration. */
  jugMl(slot: string): number {
    return this.#station(slot).jugMl;
  }

  emptyJug(slot: string): void {
    this.#station(slot).jugMl = 0;
  }

  setCupPresent(slot: string, present: boolean): void {
    this.#station(slot).cupPresent = present;
    this.#refresh();
  }

  setDoorOpen(open: boolean): void {
    this.#doorClosed = !open;
    this.#refresh();
  }

  get doorOpen(): boolean {
    return !this.#doorClosed || this.#faults.has(SimFault.DOOR_OPEN);
  }

  setTemperatureC(celsius: number): void {
    this.#temperatureC = celsius;
    this.#refreshAnalog();
  }

  get temperatureC(): number {
    return this.#temperatureC;
  }

  /** Products that have fallen through the beam so far (whether or not the beam saw them). */
  get drops(): number {
    return this.#drops;
  }

  /** Every write to an output, oldest first (the last 2000), for tests and the harness's pin trace. */
  get pinWrites(): readonly PinWrite[] {
    return this.#writes;
  }

  clearPinWrites(): void {
    this.#writes.length = 0;
  }

  /** The last value written to an output pin (0 when never written). */
  output(pin: PinName): number {
    return this.#outputs.get(key(pin)) ?? 0;
  }

  // ---- the IO-plugin side (called by SimIo) ----------------------------------------------------------------

  write(pin: string | number, kind: "digital" | "pwm", value: number): void {
    const k = key(pin);
    this.#outputs.set(k, value);
    if (kind === "digital") this.#digitalOutputs.add(k);
    else this.#digitalOutputs.delete(k);
    this.#writes.push({ pin: k, kind, value, atMs: this.#clock.now() });
    if (this.#writes.length > 2_000) this.#writes.splice(0, this.#writes.length - 2_000);
    if (this.#onPhysical) this.#reportPumps();
    this.#refresh();
  }

  subscribe(pin: string | number, cb: (value: number) => void): void {
    const k = key(pin);
    const list = this.#readers.get(k) ?? [];
    list.push(cb);
    this.#readers.set(k, list);
    cb(this.#level(k));
  }

  subscribeAnalog(pin: string | number, cb: (value: number) => void): void {
    const k = key(pin);
    const list = this.#analogReaders.get(k) ?? [];
    list.push(cb);
    this.#analogReaders.set(k, list);
    cb(this.#tmp36Raw());
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#readers.clear();
    this.#analogReaders.clear();
  }

  // ---- physics ------------------------------------------------------------------------------------------------

  #station(slot: string): Station {
    const st = this.#stations.get(slot);
    if (!st) throw new HalInputError("bad_value", `no pour station ${slot} in the pin map`, "slot");
    return st;
  }

  #spiral(slot: string): SpiralSim {
    const sp = this.#spirals.get(slot);
    if (!sp) throw new HalInputError("bad_value", `no spiral ${slot} in the pin map`, "slot");
    return sp;
  }

  #physical(event: SimPhysicalEvent): void {
    try {
      this.#onPhysical?.(event);
    } catch {
      // an observer must never stop the physics
    }
  }

  #reportPumps(): void {
    for (const st of this.#stations.values()) {
      const running = this.#duty(st) > 0;
      const startJug = this.#pumpRuns.get(st.slot);
      if (running && startJug === undefined) {
        this.#pumpRuns.set(st.slot, st.jugMl);
        this.#physical({ kind: "pump-on", slot: st.slot, atMs: this.#clock.now() });
      } else if (!running && startJug !== undefined) {
        this.#pumpRuns.delete(st.slot);
        this.#physical({ kind: "pump-off", slot: st.slot, atMs: this.#clock.now(), ml: Math.round((st.jugMl - startJug) * 10) / 10 });
      }
    }
  }

  #beamBroken(): boolean {
    if (this.#faults.has(SimFault.DROP_SENSOR_STUCK)) return true;
    const now = this.#stepNowMs ?? this.#clock.now();
    return this.#falling.some((at) => now >= at && now < at + BEAM_MS);
  }

  #duty(st: Station): number {
    // Forward only when IN1 = HIGH and IN2 = LOW; brake (both HIGH), coast (EN low) and reverse move nothing forward.
    if (this.output(st.in1) !== 1 || this.output(st.in2) !== 0) return 0;
    const d = this.#digitalOutputs.has(st.en) ? this.output(st.en) : this.output(st.en) / 255;
    return d < STALL_DUTY ? 0 : d;
  }

  #moving(): boolean {
    for (const st of this.#stations.values()) if (this.#duty(st) > 0) return true;
    for (const sp of this.#spirals.values()) if (this.output(sp.motor) === 1) return true;
    return this.#falling.length > 0;
  }

  #level(k: string): 0 | 1 {
    const input = this.#inputs.get(k);
    if (!input) return 0;
    if ("raw" in input) return input.raw();
    const active = input.read();
    return (active ? !input.cfg.activeLow : input.cfg.activeLow) ? 1 : 0;
  }

  #tmp36Raw(): number {
    return Math.round(((500 + 10 * this.#temperatureC) / 5000) * 1023);
  }

  #refreshAnalog(): void {
    for (const list of this.#analogReaders.values()) for (const cb of [...list]) cb(this.#tmp36Raw());
  }

  #notify(k: string, level: 0 | 1): void {
    if (this.#reported.get(k) === level) return;
    this.#reported.set(k, level);
    for (const cb of [...(this.#readers.get(k) ?? [])]) cb(level);
  }

  /** Reports every input whose level changed, and keeps the physics ticking while something moves. */
  #refresh(): void {
    for (const k of this.#readers.keys()) this.#notify(k, this.#level(k));
    if (this.#timer === null && this.#moving()) {
      this.#lastTickMs = this.#clock.now();
      this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#tickMs);
    }
  }

  #tick(): void {
    this.#timer = null;
    const now = this.#clock.now();
    const elapsedMs = Math.max(0, now - this.#lastTickMs);
    // A late tick (the event loop stalled: a busy CPU, a synchronous fsync) is walked through in steps of at most
    // tickMs with the inputs reported after each, as the real machine moves continuously: one big step could carry a
    // spiral across its whole home cam unseen, and the spiral would turn on and push a second product.
    const steps = Math.max(1, Math.ceil(elapsedMs / this.#tickMs));
    for (let i = 1; i <= steps; i++) {
      const stepNow = this.#lastTickMs + (elapsedMs * i) / steps;
      this.#step(elapsedMs / steps, stepNow);
      if (i < steps) {
        // Inputs as they were at that step (a product crossing the beam inside the stall is still seen).
        this.#stepNowMs = stepNow;
        for (const k of this.#readers.keys()) this.#notify(k, this.#level(k));
        this.#stepNowMs = null;
      }
    }
    this.#lastTickMs = now;
    this.#refresh();
  }

  /** Advances the physics by dtMs, ending at `now`. */
  #step(dtMs: number, now: number): void {
    for (const st of this.#stations.values()) {
      const duty = this.#duty(st);
      if (duty === 0) continue;
      let ml = (this.#maxFlowMlPerS * duty * dtMs) / 1000;
      if (st.tankMl > 0 && !this.#faults.has(SimFault.PUMP_DRY)) {
        ml = Math.min(ml, st.tankMl);
        st.tankMl -= ml;
      } else {
        ml = Math.min(ml, st.lineMl);
        st.lineMl -= ml;
      }
      st.jugMl += ml;
      st.pulseFrac += (ml * st.meterPulsesPerLitre) / 1000;
      while (st.pulseFrac >= 1) {
        st.pulseFrac -= 1;
        // One full pulse: a rising then a falling edge, each reported (a dead sensor reports neither).
        this.#flowLevel.set(st.flowPin, 1);
        this.#notify(st.flowPin, this.#level(st.flowPin));
        this.#flowLevel.set(st.flowPin, 0);
        this.#notify(st.flowPin, this.#level(st.flowPin));
      }
    }

    for (const sp of this.#spirals.values()) {
      if (this.output(sp.motor) !== 1 || this.#faults.has(SimFault.SPIRAL_JAM)) continue;
      sp.angle += dtMs / sp.revolutionMs;
      if (!sp.pushedThisTurn && sp.angle >= PUSH_AT_REV) {
        sp.pushedThisTurn = true;
        if (sp.stock > 0) {
          sp.stock--;
          this.#falling.push(now + FALL_MS);
          this.#physical({ kind: "product", slot: sp.slot, atMs: now });
        }
      }
      if (sp.angle >= 1) {
        sp.angle -= 1;
        sp.pushedThisTurn = false;
      }
    }

    for (let i = this.#falling.length - 1; i >= 0; i--) {
      const at = this.#falling[i]!;
      if (now >= at + BEAM_MS) {
        this.#falling.splice(i, 1);
        this.#drops++;
      }
    }
  }
}
