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
  fault: [fault: HardwareFault];
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
  /** How often the temperature is read, ms. Default 10 000. */
  temperaturePollMs?: number;
  /** Injected file reader for the DS18B20's sysfs file. */
  readTextFile?: ReadTextFile;
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
  }
  const hw = new MachineHardware(board, pinmap, clock, logger, opts.readTextFile ?? ((p) => readFile(p, "utf8")), opts.temperaturePollMs ?? 10_000);
  if (board.kind === "sim") simMachines.set(hw, (board as SimBoard).machine);
  hw.start();
  return hw;
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

  constructor(
    private readonly io: BoardIo,
    readonly pinmap: Pinmap,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readTextFile: ReadTextFile,
    private readonly temperaturePollMs: number,
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
      this.#raise({ code: "BOARD_DISCONNECTED", message: `the board went away${args[0] instanceof Error ? `: ${args[0].message}` : ""}` });
      this.#closing.abort(); // a running actuation stops (its finally writes the safe levels, best effort)
    };
    for (const ev of ["close", "disconnect", "error"]) this.io.io.on(ev, onLost);
    if (this.#thermometer.present) this.#pollTemperature();
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

  #clearSlot(slot: string): void {
    for (const [k, f] of this.#faults) if (f.slot === slot) this.#faults.delete(k);
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
    try {
      const result = await fn(AbortSignal.any([signal, this.#closing.signal]));
      this.#clearSlot(slot);
      return result;
    } catch (err) {
      if (err instanceof VendError && err.code !== "ABORTED" && err.code !== "BOARD_NOT_READY") {
        this.#raise({ code: err.code, message: err.message, slot });
      }
      throw err;
    } finally {
      this.#busy = null;
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

  clearFaults(): void {
    this.#faults.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    if (this.#tempTimer !== null) this.clock.clearTimeout(this.#tempTimer);
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
