import { readFile } from "node:fs/promises";
import type { BoardConfig, Calibration, FaultCode, Pinmap, VendEvidence } from "@zapvend/protocol";
import { silentLogger, systemClock, type Clock, type Logger } from "./clock.js";
import { CupSensor, DoorSwitch, DropSensor, HomeSwitch } from "./drivers/digital-sensor.js";
import { FlowMeter } from "./drivers/flow-meter.js";
import { Pump } from "./drivers/pump.js";
import { SpiralMotor } from "./drivers/spiral-motor.js";
import { Thermometer, type ReadTextFile } from "./drivers/thermometer.js";
import { HalInputError, HardwareError, VendError } from "./errors.js";
import { TypedEmitter } from "./events.js";
import type { BoardIo } from "./io.js";
import type { GpiodBinding } from "./boards/gpiod/binding.js";
import { pour, runPumpFor, vendSpiral, type PourOptions, type PourParts, type SpiralOptions, type SpiralParts } from "./operations.js";
import { applyCalibration, calibrationPathFor, loadCalibration, loadPinmap } from "./pinmap-file.js";
import type { SimBoard } from "./sim/board.js";
import type { SimOptions } from "./sim/machine.js";
import { simMachines } from "./sim/registry.js";

export type DoorState = "open" | "closed";

export interface HardwareFault {
  code: FaultCode;
  message: string;
  /** The slot the fault belongs to, when it belongs to one. */
  slot?: string;
}

export interface HardwareStatus {
  /** The board is up and nothing disconnected. */
  ready: boolean;
  /** "open" also while the door switch has not reported yet: a machine does not assume it is closed. */
  door: DoorState;
  temperatureC: number | null;
  /** Faults standing now: latched by a failed vend until the same slot vends again, or cleared by a technician. */
  faults: HardwareFault[];
}

export type HardwareEvents = {
  door: [door: DoorState];
  /** A fault was raised (a failed actuation, a lost board, the drop beam broken while idle). */
  fault: [fault: HardwareFault];
  /**
   * A standing fault ended: the drop beam read clear again while idle, a good vend cleared its slot or the drop beam
   * fault, or `clearFaults()` removed it. `status().faults` no longer lists it when this is emitted.
   */
  "fault-cleared": [fault: HardwareFault];
  temperature: [temperatureC: number];
};

/** Live readings of every sensor, for the harness and the service menu. `null`: not reported yet. */
export interface SensorReadings {
  door: boolean | null;
  drop: boolean | null;
  cups: Record<string, boolean | null>;
  homes: Record<string, boolean | null>;
  flowPulses: Record<string, number>;
}

export interface HalPourOptions extends PourOptions {
  /** Which pour station, e.g. "P1". Default: the pin map's first. */
  station?: string;
}

export interface Hardware {
  readonly board: BoardConfig["kind"];
  readonly pinmap: Pinmap;
  /** Pours closed-loop on the flow meter. Rejects with a `VendError` that carries the partial evidence. */
  pour(volumeMl: number, opts: HalPourOptions): Promise<VendEvidence>;
  /** One revolution of a spiral, confirmed by the drop sensor. Rejects with a `VendError` carrying the evidence. */
  vendSpiral(slot: string, opts: SpiralOptions): Promise<VendEvidence>;
  status(): HardwareStatus;
  on<K extends keyof HardwareEvents>(event: K, listener: (...args: HardwareEvents[K]) => void): () => void;
  off<K extends keyof HardwareEvents>(event: K, listener: (...args: HardwareEvents[K]) => void): void;
  // Technician operations (harness, service menu):
  /** Turns a spiral once home -> home without asking for a product (a drop may still happen). */
  cycleSpiral(slot: string, opts: SpiralOptions): Promise<VendEvidence>;
  /** Runs a pump for a fixed time and counts its pulses (priming, calibration). */
  runPump(station: string, runMs: number, opts: { signal: AbortSignal }): Promise<{ pulses: number; runMs: number }>;
  /** Uses a new flow-meter constant from now on (after a calibration). */
  setPulsesPerLitre(station: string, pulsesPerLitre: number): void;
  sensors(): SensorReadings;
  readTemperatureC(): Promise<number | null>;
  clearFaults(): void;
  /** Stops everything, drives every output to its safe level and releases the board. */
  close(): Promise<void>;
}

export interface OpenHardwareOptions {
  board: BoardConfig;
  /** The pin map; default: loaded from `board.pinmap`, with the calibration file beside it applied. */
  pinmap?: Pinmap;
  /** Applied over the pin map's pulses-per-litre. Default: none when `pinmap` is given, else the file beside the pin map. */
  calibration?: Calibration | null;
  clock?: Clock;
  logger?: Logger;
  /** Physics and scripted state of the sim board (ignored by the others); `board.simFaults` are added to its faults. */
  sim?: SimOptions;
  /**
   * The gpiod board's binding (ignored by the others). Default: the real one over the optional dependency
   * @iiot2k/gpiox; tests pass `FakeGpiodBinding` of `@zapvend/hal/sim`.
   */
  gpiodBinding?: GpiodBinding;
  /** How often the temperature is read, ms. Default 10 000. */
  temperaturePollMs?: number;
  /** Injected file reader for the DS18B20's sysfs file. */
  readTextFile?: ReadTextFile;
  /**
   * While nothing actuates, a drop beam that reads broken for this long without a break raises the machine fault
   * `DROP_SENSOR_STUCK` (a product stuck in the chute, dirt on the lens), so the machine stops selling before a
   * buyer pays. A falling product breaks the beam for well under a second. Also the time the beam must read clear
   * before a `DROP_SENSOR_STUCK` latched by a failed vend is cleared by the watch, ms. Default 3000.
   */
  dropIdleStuckMs?: number;
  /** The beam must read clear this long while idle before the watch clears the fault it raised itself, ms. Default 1000. */
  dropIdleClearMs?: number;
}

/** Largest single pour: protocol's VendEvidence bounds `targetMl` to 5 l. */
export const MAX_POUR_ML = 5_000;
/** L298N brake held this long after a pour, then the pump coasts. */
const BRAKE_HOLD_MS = 200;

function ns(logger: Logger, name: string): Logger {
  return {
    info: (m, f) => logger.info(m, { ns: name, ...f }),
    warn: (m, f) => logger.warn(m, { ns: name, ...f }),
    error: (m, f) => logger.error(m, { ns: name, ...f }),
  };
}

/**
 * Opens the board the config names (sim in-process; raspi and firmata imported only when chosen), drives every
 * output to its safe level, and returns the machine's hardware.
 */
export async function openHardware(opts: OpenHardwareOptions): Promise<Hardware> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const dropWatch = { stuckMs: opts.dropIdleStuckMs ?? 3_000, clearMs: opts.dropIdleClearMs ?? 1_000 };
  for (const [name, ms] of [["dropIdleStuckMs", dropWatch.stuckMs], ["dropIdleClearMs", dropWatch.clearMs]] as const) {
    if (!Number.isFinite(ms) || ms < 0 || ms > 3_600_000) throw new HalInputError("out_of_range", `${name} must be from 0 to 3600000 ms, got ${String(ms)}`, name);
  }
  let pinmap = opts.pinmap;
  let calibration = opts.calibration;
  if (!pinmap) {
    pinmap = await loadPinmap(opts.board.pinmap);
    if (calibration === undefined) calibration = await loadCalibration(calibrationPathFor(opts.board.pinmap));
  }
  pinmap = applyCalibration(pinmap, calibration);

  let board: BoardIo;
  switch (opts.board.kind) {
    case "sim": {
      const { openSimBoard } = await import("./sim/board.js");
      board = await openSimBoard(pinmap, clock, { ...opts.sim, faults: [...opts.board.simFaults, ...(opts.sim?.faults ?? [])] });
      break;
    }
    case "raspi": {
      const { openRaspiBoard } = await import("./boards/raspi.js");
      board = await openRaspiBoard(pinmap, clock);
      break;
    }
    case "firmata": {
      const { openFirmataBoard } = await import("./boards/firmata.js");
      board = await openFirmataBoard(pinmap, clock, opts.board.port);
      break;
    }
    case "gpiod": {
      const { openGpiodBoard } = await import("./boards/gpiod/board.js");
      board = await openGpiodBoard(pinmap, clock, { logger, ...(opts.gpiodBinding ? { binding: opts.gpiodBinding } : {}) });
      break;
    }
  }
  let hw: MachineHardware;
  try {
    hw = new MachineHardware(board, pinmap, clock, logger, opts.readTextFile ?? board.readTextFile ?? ((p) => readFile(p, "utf8")), opts.temperaturePollMs ?? 10_000, dropWatch);
  } catch (err) {
    // A sensor line the board refused (held by another program): let go of what the board already took.
    await board.close().catch(() => undefined);
    throw err;
  }
  if (board.kind === "sim") simMachines.set(hw, (board as SimBoard).machine);
  hw.start();
  return hw;
}

/** The key of the machine-wide drop beam fault in the fault map (no slot). */
const DROP_STUCK_KEY = "DROP_SENSOR_STUCK:";

interface DropWatchTiming {
  /** Broken this long while idle raises DROP_SENSOR_STUCK; clear this long clears a vend-latched one. */
  stuckMs: number;
  /** Clear this long while idle clears the DROP_SENSOR_STUCK the watch raised itself. */
  clearMs: number;
}

interface Station {
  pump: Pump;
  flowMeter: FlowMeter;
  cup: CupSensor;
  dutyPercent: number;
}
interface SpiralUnit {
  motor: SpiralMotor;
  home: HomeSwitch;
  revolutionMs: number;
}

class MachineHardware extends TypedEmitter<HardwareEvents> implements Hardware {
  readonly board: BoardConfig["kind"];
  readonly #stations = new Map<string, Station>();
  readonly #spirals = new Map<string, SpiralUnit>();
  readonly #door: DoorSwitch;
  readonly #drop: DropSensor | null;
  readonly #thermometer: Thermometer;
  readonly #faults = new Map<string, HardwareFault>();
  readonly #closing = new AbortController();
  #busy: string | null = null;
  #disconnected = false;
  #closed = false;
  #tempTimer: unknown = null;
  #lastTempC: number | null = null;
  readonly #unsubs: Array<() => void> = [];
  /** The idle watch of the drop beam: one timer, armed for the reading the beam shows now (see #watchDrop). */
  #dropTimer: unknown = null;
  /** Who raised the standing DROP_SENSOR_STUCK: the idle watch or a vend that found the beam broken. */
  #dropStuckBy: "idle" | "vend" | null = null;

  constructor(
    private readonly io: BoardIo,
    readonly pinmap: Pinmap,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readTextFile: ReadTextFile,
    private readonly temperaturePollMs: number,
    private readonly dropWatch: DropWatchTiming,
  ) {
    super(logger);
    this.board = io.kind;
    const now = () => clock.now();
    // Outputs first: each driver drives its pins to the safe level as it is made.
    for (const [slot, s] of Object.entries(pinmap.pourStations)) {
      this.#stations.set(slot, {
        pump: new Pump(io, s.pump),
        flowMeter: new FlowMeter(io, s.flowMeter.pin, s.flowMeter.pulsesPerLitre),
        cup: new CupSensor(io, s.cupSensor, now),
        dutyPercent: s.dutyPercent,
      });
    }
    for (const [slot, s] of Object.entries(pinmap.spirals)) {
      this.#spirals.set(slot, { motor: new SpiralMotor(io, s.motor), home: new HomeSwitch(io, s.home, now), revolutionMs: s.revolutionMs });
    }
    this.#drop = pinmap.dropSensor ? new DropSensor(io, pinmap.dropSensor, now) : null;
    this.#door = new DoorSwitch(io, pinmap.door, now);
    this.#thermometer = new Thermometer(io, pinmap.thermometer, readTextFile);
  }

  start(): void {
    this.#unsubs.push(this.#door.onChange((closed) => {
      const door: DoorState = closed ? "closed" : "open";
      this.logger.info("door", { door });
      this.emit("door", door);
    }));
    const onLost = (...args: unknown[]) => {
      if (this.#disconnected || this.#closed) return;
      this.#disconnected = true;
      this.#watchDrop(); // nothing to watch on a board that is gone
      this.#raise({ code: "BOARD_DISCONNECTED", message: `the board went away${args[0] instanceof Error ? `: ${args[0].message}` : ""}` });
      this.#closing.abort(); // a running actuation stops (its finally writes the safe levels, best effort)
    };
    for (const ev of ["close", "disconnect", "error"]) this.io.io.on(ev, onLost);
    if (this.#thermometer.present) this.#pollTemperature();
    if (this.#drop) {
      this.#unsubs.push(this.#drop.onChange(() => this.#watchDrop()));
      // A beam already broken at boot (the sim and Firmata report the first reading while the sensor is made) is
      // found within the debounce; a board that reports later arrives through onChange.
      this.#watchDrop();
    }
  }

  /**
   * The drop beam while nothing actuates. Real vending firmware checks its sensors before it takes money: a beam
   * that reads broken with nothing vending (a product stuck in the chute, dirt on the lens) would fail the next
   * buyer's vend before the motor turns. Called on every beam edge and whenever an actuation starts or ends; each
   * call drops the running timer and arms one for the reading the beam shows now, so a timer fires only after the
   * beam held that reading, idle, for its whole time. An actuation's own tail never counts: the watch restarts from
   * the moment the actuation ended, on the beam as it reads then.
   *
   * - broken for `stuckMs` with no DROP_SENSOR_STUCK standing: raise it (machine fault, no slot);
   * - clear for `clearMs` when the watch raised it, or for `stuckMs` when a failed vend latched it: clear it.
   */
  #watchDrop(): void {
    if (this.#dropTimer !== null) {
      this.clock.clearTimeout(this.#dropTimer);
      this.#dropTimer = null;
    }
    const drop = this.#drop;
    if (!drop || drop.active === null || this.#busy !== null || this.#closed || this.#disconnected) return;
    const standing = this.#faults.has(DROP_STUCK_KEY);
    if (drop.active && !standing) {
      this.#dropTimer = this.clock.setTimeout(() => {
        this.#dropTimer = null;
        if (drop.active !== true || this.#busy !== null || this.#closed || this.#disconnected || this.#faults.has(DROP_STUCK_KEY)) return;
        this.#raise({ code: "DROP_SENSOR_STUCK", message: "the drop beam reads broken with nothing vending: clear the chute, clean the lens" });
        this.#dropStuckBy = "idle";
      }, this.dropWatch.stuckMs);
    } else if (!drop.active && standing) {
      const ms = this.#dropStuckBy === "idle" ? this.dropWatch.clearMs : this.dropWatch.stuckMs;
      this.#dropTimer = this.clock.setTimeout(() => {
        this.#dropTimer = null;
        if (drop.active !== false || this.#busy !== null || this.#closed || this.#disconnected) return;
        this.logger.info("drop beam clear again", { clearMs: ms, raisedBy: this.#dropStuckBy });
        this.#clearFault(DROP_STUCK_KEY);
      }, ms);
    }
  }

  #pollTemperature(): void {
    void this.#thermometer.read().then((c) => {
      if (this.#closed) return;
      if (c !== null && (this.#lastTempC === null || Math.abs(c - this.#lastTempC) >= 0.1)) {
        this.#lastTempC = c;
        this.emit("temperature", c);
      }
      this.#tempTimer = this.clock.setTimeout(() => this.#pollTemperature(), this.temperaturePollMs);
    });
  }

  #raise(fault: HardwareFault): void {
    this.#faults.set(`${fault.code}:${fault.slot ?? ""}`, fault);
    this.logger.warn("fault", { ...fault });
    this.emit("fault", fault);
  }

  /** Removes one standing fault and says so ("fault-cleared"). */
  #clearFault(key: string): void {
    const fault = this.#faults.get(key);
    if (!fault) return;
    this.#faults.delete(key);
    if (key === DROP_STUCK_KEY) this.#dropStuckBy = null;
    this.emit("fault-cleared", { ...fault });
  }

  #clearSlot(slot: string): void {
    for (const [k, f] of [...this.#faults]) if (f.slot === slot) this.#clearFault(k);
  }

  /** The slot a failure is latched on, or undefined when it is a part every slot shares (a machine fault). */
  #faultSlot(code: string, slot: string): string | undefined {
    // The drop beam is one sensor under every spiral: stuck, it fails every spiral's vend, not only this one's.
    return code === "DROP_SENSOR_STUCK" ? undefined : slot;
  }

  #station(name: string | undefined): [string, Station] {
    const slot = name ?? this.#stations.keys().next().value;
    const st = slot === undefined ? undefined : this.#stations.get(slot);
    if (slot === undefined || !st) {
      throw new HalInputError("bad_value", `no pour station ${name ?? ""} in the pin map (stations: ${[...this.#stations.keys()].join(", ") || "none"})`, "station");
    }
    return [slot, st];
  }

  #spiral(slot: string): SpiralUnit {
    const sp = this.#spirals.get(slot);
    if (!sp) throw new HalInputError("bad_value", `no spiral ${slot} in the pin map (spirals: ${[...this.#spirals.keys()].join(", ") || "none"})`, "slot");
    return sp;
  }

  /** One actuation at a time: the supply is sized for one motor, and two vends at once could not be told apart. */
  async #exclusive<T>(what: string, slot: string, fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    if (this.#closed || this.#disconnected) throw new VendError("BOARD_NOT_READY", "the hardware is closed or disconnected");
    if (this.#busy) throw new VendError("BOARD_NOT_READY", `the hardware is busy (${this.#busy})`);
    this.#busy = `${what} ${slot}`;
    this.#watchDrop(); // the beam is the vend's while it runs
    try {
      const result = await fn(AbortSignal.any([signal, this.#closing.signal]));
      this.#clearSlot(slot);
      // A spiral turned with the beam clear before it: the drop sensor works again.
      if (what !== "pour" && what !== "run") this.#clearFault(DROP_STUCK_KEY);
      return result;
    } catch (err) {
      if (err instanceof VendError && err.code !== "ABORTED" && err.code !== "BOARD_NOT_READY") {
        const faultSlot = this.#faultSlot(err.code, slot);
        this.#raise({ code: err.code, message: err.message, ...(faultSlot !== undefined ? { slot: faultSlot } : {}) });
        if (err.code === "DROP_SENSOR_STUCK") this.#dropStuckBy = "vend";
      }
      throw err;
    } finally {
      this.#busy = null;
      this.#watchDrop(); // idle again: the watch starts over on the beam as it reads now
    }
  }

  #pourParts(st: Station): PourParts {
    return { clock: this.clock, logger: ns(this.logger, "hal:pump"), pump: st.pump, flowMeter: st.flowMeter, cupSensor: st.cup, dutyPercent: st.dutyPercent, brakeHoldMs: BRAKE_HOLD_MS };
  }

  #spiralParts(sp: SpiralUnit): SpiralParts {
    if (!this.#drop) throw new HalInputError("missing_field", "the pin map has no drop sensor", "dropSensor");
    return { clock: this.clock, logger: ns(this.logger, "hal:spiral"), motor: sp.motor, home: sp.home, drop: this.#drop, revolutionMs: sp.revolutionMs };
  }

  async pour(volumeMl: number, opts: HalPourOptions): Promise<VendEvidence> {
    if (!Number.isInteger(volumeMl) || volumeMl < 1 || volumeMl > MAX_POUR_ML) {
      throw new HalInputError("out_of_range", `volumeMl must be a whole number of ml from 1 to ${MAX_POUR_ML}, got ${String(volumeMl)}`, "volumeMl");
    }
    const [slot, st] = this.#station(opts.station);
    return this.#exclusive("pour", slot, (signal) => pour(this.#pourParts(st), volumeMl, { ...opts, signal }), opts.signal);
  }

  async vendSpiral(slot: string, opts: SpiralOptions): Promise<VendEvidence> {
    const parts = this.#spiralParts(this.#spiral(slot));
    return this.#exclusive("vend", slot, (signal) => vendSpiral(parts, { ...opts, signal }), opts.signal);
  }

  async cycleSpiral(slot: string, opts: SpiralOptions): Promise<VendEvidence> {
    const parts = this.#spiralParts(this.#spiral(slot));
    return this.#exclusive("cycle", slot, (signal) => vendSpiral(parts, { ...opts, signal }, false), opts.signal);
  }

  async runPump(station: string, runMs: number, opts: { signal: AbortSignal }): Promise<{ pulses: number; runMs: number }> {
    if (!Number.isInteger(runMs) || runMs < 100 || runMs > 60_000) {
      throw new HalInputError("out_of_range", `runMs must be from 100 to 60000, got ${String(runMs)}`, "runMs");
    }
    const [slot, st] = this.#station(station);
    return this.#exclusive("run", slot, (signal) => runPumpFor(this.#pourParts(st), runMs, signal), opts.signal);
  }

  setPulsesPerLitre(station: string, pulsesPerLitre: number): void {
    if (!Number.isFinite(pulsesPerLitre) || pulsesPerLitre < 50 || pulsesPerLitre > 100_000) {
      throw new HalInputError("out_of_range", `pulsesPerLitre must be from 50 to 100000, got ${String(pulsesPerLitre)}`, "pulsesPerLitre");
    }
    this.#station(station)[1].flowMeter.pulsesPerLitre = pulsesPerLitre;
  }

  sensors(): SensorReadings {
    const cups: Record<string, boolean | null> = {};
    const flowPulses: Record<string, number> = {};
    for (const [slot, st] of this.#stations) {
      cups[slot] = st.cup.active;
      flowPulses[slot] = st.flowMeter.pulses;
    }
    const homes: Record<string, boolean | null> = {};
    for (const [slot, sp] of this.#spirals) homes[slot] = sp.home.active;
    return { door: this.#door.active, drop: this.#drop?.active ?? null, cups, homes, flowPulses };
  }

  async readTemperatureC(): Promise<number | null> {
    return this.#thermometer.present ? this.#thermometer.read() : null;
  }

  status(): HardwareStatus {
    return {
      ready: !this.#closed && !this.#disconnected,
      door: this.#door.active === true ? "closed" : "open",
      temperatureC: this.#thermometer.present ? this.#thermometer.lastC : null,
      faults: [...this.#faults.values()].map((f) => ({ ...f })),
    };
  }

  /**
   * The technician clears the latched faults. A drop beam that still reads broken with nothing falling stays a fault:
   * clearing it would only let the next buyer pay for a vend that fails before the motor turns.
   */
  clearFaults(): void {
    const keepStuck = this.#drop?.active === true && this.#busy === null;
    const stuckEnds = this.#faults.has(DROP_STUCK_KEY) && !keepStuck;
    for (const key of [...this.#faults.keys()]) if (!(key === DROP_STUCK_KEY && keepStuck)) this.#clearFault(key);
    // Only when the beam fault ended (its clear timer has nothing left to clear): re-arming otherwise would restart
    // a running debounce of a beam that is breaking right now.
    if (stuckEnds) this.#watchDrop();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    if (this.#tempTimer !== null) this.clock.clearTimeout(this.#tempTimer);
    if (this.#dropTimer !== null) this.clock.clearTimeout(this.#dropTimer);
    this.#dropTimer = null;
    // Safe levels: every pump coasting with nothing driven, every spiral motor off. Best effort on a board that is
    // already gone.
    for (const st of this.#stations.values()) {
      try {
        st.pump.coast();
      } catch (err) {
        this.logger.error("could not stop a pump", { error: String(err) });
      }
      st.flowMeter.dispose();
      st.cup.dispose();
    }
    for (const sp of this.#spirals.values()) {
      try {
        sp.motor.off();
      } catch (err) {
        this.logger.error("could not stop a spiral", { error: String(err) });
      }
      sp.home.dispose();
    }
    this.#drop?.dispose();
    this.#door.dispose();
    for (const u of this.#unsubs.splice(0)) u();
    this.removeAllListeners();
    await this.io.close();
  }
}

export { HardwareError };
