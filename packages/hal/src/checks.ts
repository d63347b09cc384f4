// The hardware checks. The technicians' harness runs them at the bench and the contract suite runs them in CI
// (on the sim always, on a real board when TEST_BOARD names one): a pass means the same in both places.
import type { HarnessCheck, VendEvidence, VendProgress } from "@zapvend/protocol";
import type { Clock } from "./clock.js";
import type { Hardware } from "./hardware.js";
import { calibrationPathFor, loadCalibration, saveCalibration } from "./pinmap-file.js";

export interface CheckProgress {
  check: string;
  /** 0..1 */
  fraction: number;
  detail?: string;
}

export interface CheckContext {
  hardware: Hardware;
  clock: Clock;
  signal: AbortSignal;
  /** Whether checks that move something (pump, spirals) may run; the harness asks first unless `--yes`. */
  allowMotion: boolean;
  onProgress?: (p: CheckProgress) => void;
  /**
   * The technician measures what a calibration run poured, in ml (a measuring jug); null skips. Absent: the
   * calibration check is skipped (nobody there to measure).
   */
  measureVolumeMl?: (station: string, runMs: number) => Promise<number | null>;
  /** Called before a calibration run: the technician puts an empty measuring jug under the nozzle. */
  prepareMeasurement?: (station: string) => Promise<void>;
  /** Where a calibration is saved. Default: beside the pin map when known, else not saved. */
  calibrationFile?: string | null;
  /** Volume of the priming pour, ml. Default 50. */
  primeMl?: number;
  /** Pump run time of a calibration, ms. Default 10 000 (long enough that one pulse is < 1 % of the count). */
  calibrationRunMs?: number;
}

export interface HardwareCheck {
  name: string;
  /** True when the check runs a motor or the pump. */
  moves: boolean;
  run(ctx: CheckContext): Promise<HarnessCheck>;
}

type Measured = NonNullable<HarnessCheck["measured"]>;

const pass = (name: string, detail: string, measured?: Measured): HarnessCheck => ({ name, status: "pass", detail, ...(measured ? { measured } : {}) });
const fail = (name: string, code: string | undefined, detail: string, measured?: Measured): HarnessCheck => ({
  name,
  status: "fail",
  ...(code ? { code } : {}),
  detail: detail.slice(0, 500),
  ...(measured ? { measured } : {}),
});
const skip = (name: string, detail: string): HarnessCheck => ({ name, status: "skip", detail });

function evidenceMeasured(ev: VendEvidence | undefined): Measured | undefined {
  if (!ev) return undefined;
  return ev.kind === "pour"
    ? { pouredMl: ev.pouredMl, pulses: ev.pulses, runMs: ev.runMs, targetMl: ev.targetMl }
    : { dropSeen: ev.dropSeen, homed: ev.homed, runMs: ev.runMs };
}

function failFrom(name: string, err: unknown): HarnessCheck {
  const e = err as { code?: unknown; message?: unknown; evidence?: VendEvidence };
  const code = typeof e?.code === "string" ? e.code : undefined;
  return fail(name, code, typeof e?.message === "string" ? e.message : String(err), evidenceMeasured(e?.evidence));
}

/** Every check for this machine's pin map, in the order a technician works through them. */
export function listChecks(hw: Hardware): HardwareCheck[] {
  const checks: HardwareCheck[] = [];
  const stations = Object.keys(hw.pinmap.pourStations);
  const spirals = Object.keys(hw.pinmap.spirals);

  checks.push({
    name: "board",
    moves: false,
    run: async (ctx) => {
      const s = ctx.hardware.status();
      return s.ready ? pass("board", `${hw.board} board ready`, { board: hw.board }) : fail("board", "BOARD_NOT_READY", "the board is not ready");
    },
  });
  checks.push({
    name: "door switch",
    moves: false,
    run: async (ctx) => {
      const closed = ctx.hardware.sensors().door;
      if (closed === null) return fail("door switch", "BOARD_NOT_READY", "the door switch has not reported");
      return closed ? pass("door switch", "door closed", { doorClosed: true }) : fail("door switch", "DOOR_OPEN", "the door is open: close it to finish the check", { doorClosed: false });
    },
  });
  checks.push({
    name: "temperature",
    moves: false,
    run: async (ctx) => {
      if (!hw.pinmap.thermometer && hw.board !== "sim") return skip("temperature", "no thermometer in the pin map");
      const c = await ctx.hardware.readTemperatureC();
      if (c === null) return hw.pinmap.thermometer ? fail("temperature", "BOARD_NOT_READY", "no reading from the thermometer") : skip("temperature", "no thermometer in the pin map");
      if (c < -30 || c > 70) return fail("temperature", "TEMPERATURE_OUT_OF_RANGE", `${c} °C is not a plausible cabinet temperature: check the sensor`, { temperatureC: c });
      return pass("temperature", `${c} °C`, { temperatureC: c });
    },
  });

  for (const st of stations) {
    checks.push({
      name: `cup sensor ${st}`,
      moves: false,
      run: async (ctx) => {
        const cup = ctx.hardware.sensors().cups[st];
        if (cup === null || cup === undefined) return fail(`cup sensor ${st}`, "BOARD_NOT_READY", "the cup sensor has not reported");
        return cup ? pass(`cup sensor ${st}`, "cup present", { cupPresent: true }) : fail(`cup sensor ${st}`, "CUP_MISSING", "no cup seen: put a cup (or the measuring jug) under the nozzle", { cupPresent: false });
      },
    });
    checks.push({
      name: `pump ${st} prime`,
      moves: true,
      run: async (ctx) => {
        const name = `pump ${st} prime`;
        const primeMl = ctx.primeMl ?? 50;
        try {
          const ev = await ctx.hardware.pour(primeMl, {
            station: st,
            signal: ctx.signal,
            onProgress: (p) => {
              if (p.kind === "pour") ctx.onProgress?.({ check: name, fraction: Math.min(1, p.pouredMl / p.targetMl), detail: `${p.pouredMl} ml` });
            },
          });
          return pass(name, `poured ${ev.kind === "pour" ? ev.pouredMl : 0} ml`, evidenceMeasured(ev));
        } catch (err) {
          return failFrom(name, err);
        }
      },
    });
    checks.push({
      name: `flow meter ${st} calibration`,
      moves: true,
      run: async (ctx) => {
        const name = `flow meter ${st} calibration`;
        if (!ctx.measureVolumeMl) return skip(name, "needs a technician with a measuring jug: run the harness interactively (without --yes) to calibrate");
        const runMs = ctx.calibrationRunMs ?? 10_000;
        let pulses: number;
        try {
          await ctx.prepareMeasurement?.(st);
          ctx.onProgress?.({ check: name, fraction: 0, detail: `pumping for ${runMs / 1000} s` });
          pulses = (await ctx.hardware.runPump(st, runMs, { signal: ctx.signal })).pulses;
          ctx.onProgress?.({ check: name, fraction: 1 });
        } catch (err) {
          return failFrom(name, err);
        }
        if (pulses === 0) return fail(name, "FLOW_SENSOR_DEAD", `no pulse in ${runMs} ms of pumping`, { pulses });
        const measuredMl = await ctx.measureVolumeMl(st, runMs);
        if (measuredMl === null) return skip(name, "no volume given: calibration not changed");
        if (!Number.isFinite(measuredMl) || measuredMl <= 0) return fail(name, undefined, `the measured volume must be a positive number of ml, got ${measuredMl}`);
        const pulsesPerLitre = Math.round((pulses * 1000 * 10) / measuredMl) / 10;
        if (pulsesPerLitre < 50 || pulsesPerLitre > 100_000) {
          return fail(name, undefined, `${pulses} pulses for ${measuredMl} ml is ${pulsesPerLitre} pulses/l, outside 50..100000: measure again`, { pulses, measuredMl });
        }
        ctx.hardware.setPulsesPerLitre(st, pulsesPerLitre);
        const file = ctx.calibrationFile;
        if (file) {
          const current = (await loadCalibration(file)) ?? { pourStations: {} };
          current.pourStations[st] = { pulsesPerLitre, calibratedAt: Math.round(ctx.clock.now()) };
          await saveCalibration(file, current);
        }
        return pass(name, `${pulsesPerLitre} pulses/l${file ? `, saved to ${file}` : " (not saved: no calibration file)"}`, {
          pulses,
          measuredMl,
          pulsesPerLitre,
          ...(file ? { file } : {}),
        });
      },
    });
  }

  if (spirals.length > 0) {
    checks.push({
      name: "drop sensor idle",
      moves: false,
      run: async (ctx) => {
        const broken = ctx.hardware.sensors().drop;
        if (broken === null) return fail("drop sensor idle", "BOARD_NOT_READY", "the drop sensor has not reported");
        return broken ? fail("drop sensor idle", "DROP_SENSOR_STUCK", "the beam reads broken with nothing falling: clean the lens, clear the chute") : pass("drop sensor idle", "beam clear");
      },
    });
  }
  for (const sp of spirals) {
    checks.push({
      name: `spiral ${sp} home`,
      moves: true,
      run: async (ctx) => {
        const name = `spiral ${sp} home`;
        try {
          const ev = await ctx.hardware.cycleSpiral(sp, { signal: ctx.signal, onProgress: spiralProgress(ctx, name) });
          return pass(name, "one revolution, back on the home switch", evidenceMeasured(ev));
        } catch (err) {
          return failFrom(name, err);
        }
      },
    });
  }
  const first = spirals[0];
  if (first !== undefined) {
    checks.push({
      name: `test vend ${first}`,
      moves: true,
      run: async (ctx) => {
        const name = `test vend ${first}`;
        try {
          const ev = await ctx.hardware.vendSpiral(first, { signal: ctx.signal, onProgress: spiralProgress(ctx, name) });
          return pass(name, "the product crossed the drop beam", evidenceMeasured(ev));
        } catch (err) {
          return failFrom(name, err);
        }
      },
    });
  }
  return checks;
}

function spiralProgress(ctx: CheckContext, name: string) {
  const fractions = { turning: 0.2, "waiting-drop": 0.8, done: 1 } as const;
  return (p: VendProgress) => {
    if (p.kind === "spiral") ctx.onProgress?.({ check: name, fraction: fractions[p.phase], detail: p.phase });
  };
}

/**
 * Runs every check in order, reporting each result as it lands. A check that moves something is reported as
 * skipped when motion is not allowed; an unexpected error fails its check, not the run.
 */
export async function runChecks(ctx: CheckContext, onResult?: (result: HarnessCheck) => void): Promise<HarnessCheck[]> {
  const results: HarnessCheck[] = [];
  for (const check of listChecks(ctx.hardware)) {
    let result: HarnessCheck;
    if (check.moves && !ctx.allowMotion) result = skip(check.name, "not run: it moves hardware (confirm, or pass --yes)");
    else if (ctx.signal.aborted) result = skip(check.name, "not run: cancelled");
    else {
      try {
        result = await check.run(ctx);
      } catch (err) {
        result = failFrom(check.name, err);
      }
    }
    results.push(result);
    onResult?.(result);
  }
  return results;
}

export { calibrationPathFor };
