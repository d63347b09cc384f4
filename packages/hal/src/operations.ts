// The two operations a vend needs, each bounded (a no-progress timeout and a hard maximum run time), cancellable
// (AbortSignal), reporting progress, and stopping its actuator in `finally`, whatever ends it.
import type { VendEvidence, VendProgress } from "@zapvend/protocol";
import type { Clock, Logger } from "./clock.js";
import type { CupSensor, DropSensor, HomeSwitch } from "./drivers/digital-sensor.js";
import type { FlowMeter } from "./drivers/flow-meter.js";
import type { Pump } from "./drivers/pump.js";
import type { SpiralMotor } from "./drivers/spiral-motor.js";
import { VendError, type FaultCode } from "./errors.js";

type PourEvidence = Extract<VendEvidence, { kind: "pour" }>;
type SpiralEvidence = Extract<VendEvidence, { kind: "spiral" }>;

export interface PourOptions {
  signal: AbortSignal;
  onProgress?: (progress: VendProgress) => void;
  /** Hard limit on the pump's run time, ms. Default: twice the time the volume takes at the nominal flow, at least 10 000. */
  maxRunMs?: number;
  /** No flow pulse for this long stops the pump (dry pump, empty tank, dead sensor), ms. Default 2000. */
  noPulseMs?: number;
}

export interface SpiralOptions {
  signal: AbortSignal;
  onProgress?: (progress: VendProgress) => void;
  /** The home switch must release within this, else the spiral is jammed, ms. Default half a revolution, at least 800. */
  leaveHomeMs?: number;
  /** The home switch must come back within this after it released, ms. Default two revolutions. */
  homeTimeoutMs?: number;
  /** After homing, how long to wait for the product to cross the beam, ms. Default 1500. */
  dropWaitMs?: number;
  /** Hard limit on the whole vend, ms. Default three revolutions plus the drop wait. */
  maxRunMs?: number;
}

/** A generous nominal flow for the default time limit: slower pumps need an explicit `maxRunMs`. */
const NOMINAL_FLOW_ML_PER_S = 10;
/** Progress lines are throttled to this period. */
const PROGRESS_EVERY_MS = 100;

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Resolves the guarded section of an operation: `settle` ends it once, with a result or a coded failure, and every
 * timer and listener registered through `track` is released.
 */
function guard<T>(clock: Clock, signal: AbortSignal) {
  const disposers: Array<() => void> = [];
  let done = false;
  let resolveFn!: (v: T) => void;
  let rejectFn!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolveFn = res;
    rejectFn = rej;
  });
  const release = () => {
    done = true;
    for (const d of disposers.splice(0)) d();
  };
  return {
    promise,
    get done() {
      return done;
    },
    ok(v: T) {
      if (done) return;
      release();
      resolveFn(v);
    },
    fail(e: unknown) {
      if (done) return;
      release();
      rejectFn(e);
    },
    /** Releases every timer and listener without settling (the `finally` of an operation). */
    dispose() {
      if (!done) release();
    },
    track(dispose: () => void) {
      disposers.push(dispose);
    },
    timer(ms: number, fn: () => void): { reset(ms?: number): void } {
      let handle: unknown = clock.setTimeout(fn, ms);
      disposers.push(() => clock.clearTimeout(handle));
      return {
        reset(next = ms) {
          clock.clearTimeout(handle);
          handle = clock.setTimeout(fn, next);
        },
      };
    },
    onAbort(fn: () => void) {
      signal.addEventListener("abort", fn, { once: true });
      disposers.push(() => signal.removeEventListener("abort", fn));
    },
  };
}

export interface PourParts {
  clock: Clock;
  logger: Logger;
  pump: Pump;
  flowMeter: FlowMeter;
  cupSensor: CupSensor;
  dutyPercent: number;
  /** After the brake, the pump is let coast after this, ms. */
  brakeHoldMs: number;
}

/**
 * Pours `volumeMl` closed-loop on the flow meter. Refuses with CUP_MISSING before moving when no cup is there,
 * and stops when the cup is taken away. A flow that stops after pulses were counted is PUMP_DRY_RUN (the tank ran
 * out or the pump lost its prime: the meter evidently works); no pulse at all is FLOW_SENSOR_DEAD (a primed pump
 * that moves nothing the meter can see). Either way the pump stops at once.
 */
export async function pour(parts: PourParts, volumeMl: number, opts: PourOptions): Promise<PourEvidence> {
  const { clock, pump, flowMeter, cupSensor } = parts;
  const startMs = clock.now();
  const startPulses = flowMeter.pulses;
  const evidence = (): PourEvidence => {
    const pulses = flowMeter.pulses - startPulses;
    return { kind: "pour", targetMl: volumeMl, pouredMl: round1(flowMeter.millilitres(pulses)), pulses, runMs: Math.max(0, Math.round(clock.now() - startMs)) };
  };
  const failure = (code: FaultCode, message: string) => new VendError(code, message, evidence());

  if (opts.signal.aborted) throw failure("ABORTED", "the pour was cancelled before it started");
  if (cupSensor.active !== true) throw failure("CUP_MISSING", "no cup under the nozzle");

  const noPulseMs = opts.noPulseMs ?? 2_000;
  const maxRunMs = opts.maxRunMs ?? Math.max(10_000, Math.ceil((volumeMl / NOMINAL_FLOW_ML_PER_S) * 2_000));
  const g = guard<PourEvidence>(clock, opts.signal);
  let lastProgressMs = -Infinity;
  // Stop on the very edge that settles the pour (not a microtask later), and again in `finally` for any other exit.
  g.track(() => stopPump(parts));

  g.onAbort(() => g.fail(failure("ABORTED", "the pour was cancelled")));
  g.timer(maxRunMs, () => g.fail(failure("MAX_RUN_TIME", `the pour did not finish within ${maxRunMs} ms`)));
  const noPulse = g.timer(noPulseMs, () => {
    const seen = flowMeter.pulses - startPulses;
    g.fail(
      seen > 0
        ? failure("PUMP_DRY_RUN", `the flow stopped after ${seen} pulses: the pump runs dry or the tank is empty`)
        : failure("FLOW_SENSOR_DEAD", `no flow pulse within ${noPulseMs} ms of starting the pump`),
    );
  });
  g.track(cupSensor.onChange((present) => {
    if (!present) g.fail(failure("CUP_MISSING", "the cup was taken away during the pour"));
  }));
  g.track(flowMeter.onPulse(() => {
    noPulse.reset();
    const ev = evidence();
    if (ev.pouredMl >= volumeMl) {
      g.ok(ev);
      return;
    }
    const now = clock.now();
    if (opts.onProgress && now - lastProgressMs >= PROGRESS_EVERY_MS) {
      lastProgressMs = now;
      safeProgress(parts.logger, opts.onProgress, { kind: "pour", pouredMl: ev.pouredMl, targetMl: volumeMl });
    }
  }));

  try {
    pump.forward(parts.dutyPercent);
    parts.logger.info("pump started", { targetMl: volumeMl, dutyPercent: parts.dutyPercent });
    const ev = await g.promise;
    safeProgress(parts.logger, opts.onProgress, { kind: "pour", pouredMl: ev.pouredMl, targetMl: volumeMl });
    return ev;
  } finally {
    g.dispose(); // whatever ended the pour, no timer or listener outlives it
    stopPump(parts);
    parts.logger.info("pump stopped", evidence());
  }
}

function stopPump(parts: PourParts): void {
  if (parts.pump.state !== "forward") return;
  parts.pump.brake();
  // Hold the brake long enough to stop the impeller, then let go: at rest nothing is driven.
  parts.clock.setTimeout(() => {
    if (parts.pump.state === "brake") parts.pump.coast();
  }, parts.brakeHoldMs);
}

/** Runs the pump for a fixed time (calibration, priming) and returns the pulses counted. Bounded and cancellable. */
export async function runPumpFor(parts: PourParts, runMs: number, signal: AbortSignal): Promise<{ pulses: number; runMs: number }> {
  const { clock, pump, flowMeter } = parts;
  const startPulses = flowMeter.pulses;
  const startMs = clock.now();
  if (signal.aborted) throw new VendError("ABORTED", "cancelled before it started");
  const g = guard<void>(clock, signal);
  g.track(() => stopPump(parts));
  g.onAbort(() => g.fail(new VendError("ABORTED", "cancelled")));
  g.timer(runMs, () => g.ok());
  try {
    pump.forward(parts.dutyPercent);
    await g.promise;
  } finally {
    g.dispose();
    stopPump(parts);
  }
  return { pulses: flowMeter.pulses - startPulses, runMs: clock.now() - startMs };
}

export interface SpiralParts {
  clock: Clock;
  logger: Logger;
  motor: SpiralMotor;
  home: HomeSwitch;
  drop: DropSensor;
  revolutionMs: number;
}

/**
 * One revolution: home -> leave -> home, then the product must have crossed the drop beam. A spiral that never
 * leaves home is jammed (SPIRAL_JAM); one that leaves and does not come back is SPIRAL_HOME_TIMEOUT; a beam broken
 * before the motor starts is DROP_SENSOR_STUCK (nothing moves); a revolution with no drop is DROP_NOT_SEEN.
 * `requireDrop: false` cycles the spiral to home without asking for a product (harness).
 */
export async function vendSpiral(parts: SpiralParts, opts: SpiralOptions, requireDrop = true): Promise<SpiralEvidence> {
  const { clock, motor, home, drop, revolutionMs } = parts;
  const startMs = clock.now();
  let dropSeen = false;
  let homed = false;
  const evidence = (): SpiralEvidence => ({ kind: "spiral", dropSeen, homed, runMs: Math.max(0, Math.round(clock.now() - startMs)) });
  const failure = (code: FaultCode, message: string) => new VendError(code, message, evidence());
  const progress = (phase: "turning" | "waiting-drop" | "done") => safeProgress(parts.logger, opts.onProgress, { kind: "spiral", phase });

  if (opts.signal.aborted) throw failure("ABORTED", "the vend was cancelled before it started");
  if (drop.active === true) throw failure("DROP_SENSOR_STUCK", "the drop beam reads broken before the spiral turned");
  if (home.active === null) throw failure("BOARD_NOT_READY", "the home switch has not reported yet");

  const leaveHomeMs = opts.leaveHomeMs ?? Math.max(800, Math.round(revolutionMs / 2));
  const homeTimeoutMs = opts.homeTimeoutMs ?? revolutionMs * 2;
  const dropWaitMs = opts.dropWaitMs ?? 1_500;
  const maxRunMs = opts.maxRunMs ?? revolutionMs * 3 + dropWaitMs;
  const g = guard<SpiralEvidence>(clock, opts.signal);
  // A spiral parked off home (power cut mid-turn) has nothing to leave: it only has to come back.
  let left = home.active === false;
  g.track(() => {
    if (motor.running) motor.off();
  });

  g.onAbort(() => g.fail(failure("ABORTED", "the vend was cancelled")));
  g.timer(maxRunMs, () => g.fail(failure("MAX_RUN_TIME", `the vend did not finish within ${maxRunMs} ms`)));
  // One timer per phase: leaving home, coming back, then the drop wait after homing.
  const phase = g.timer(left ? homeTimeoutMs : leaveHomeMs, () => {
    if (homed) g.fail(failure("DROP_NOT_SEEN", `no product crossed the drop beam within ${dropWaitMs} ms of homing`));
    else if (left) g.fail(failure("SPIRAL_HOME_TIMEOUT", `the spiral did not come back home within ${homeTimeoutMs} ms`));
    else g.fail(failure("SPIRAL_JAM", `the spiral did not leave its home switch within ${leaveHomeMs} ms`));
  });
  const finishAfterHome = () => {
    if (!requireDrop || dropSeen) g.ok(evidence());
  };
  g.track(drop.onChange((broken) => {
    if (!broken) return;
    dropSeen = true;
    if (homed) finishAfterHome();
  }));
  g.track(home.onChange((atHome) => {
    if (!atHome && !left) {
      left = true;
      phase.reset(homeTimeoutMs);
    } else if (atHome && left && !homed) {
      homed = true;
      if (motor.running) motor.off(); // stop on the switch edge, not on the next timer: the spiral must park on its cam
      progress("waiting-drop");
      phase.reset(dropWaitMs);
      finishAfterHome();
    }
  }));
  try {
    progress("turning");
    motor.on();
    parts.logger.info("spiral started");
    const ev = await g.promise;
    progress("done");
    return ev;
  } finally {
    g.dispose();
    if (motor.running) motor.off();
    parts.logger.info("spiral stopped", evidence());
  }
}

function safeProgress(logger: Logger, onProgress: ((p: VendProgress) => void) | undefined, p: VendProgress): void {
  if (!onProgress) return;
  try {
    onProgress(p);
  } catch (err) {
    logger.error("progress listener threw", { error: String(err) });
  }
}
