// zapvend-harness: what a technician runs at the bench. Every check is one of hal's hardware checks (the same ones
// hal's contract suite runs in CI), printed with a progress line per step, reported as JSON on request and always
// saved as a report file the technician can send.
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type BoardConfig, type HarnessCheck } from "@zapvend/protocol";
import {
  calibrationPathFor,
  loadCalibration,
  listChecks,
  loadPinmap,
  openHardware,
  runChecks,
  systemClock,
  type CheckContext,
  type CheckProgress,
  type Clock,
  type GpiodBinding,
  type Hardware,
} from "@zapvend/hal";
import { isSimFault, SIM_FAULTS, simOf } from "@zapvend/hal/sim";
import { finishReport } from "./report.js";

/**
 * The boards the harness can open, with what each needs. A new board is one line here (and its case in hal's
 * `openHardware`).
 */
export const BOARDS = {
  sim: { help: "sim (the physics model)", needsPinmap: false, needsPort: false },
  raspi: { help: "raspi (a Pi 3/4 through raspi-io and pigpio, as root)", needsPinmap: true, needsPort: false },
  gpiod: { help: "gpiod (any Pi, the Pi 5 included, through the GPIO character device; group gpio, no root)", needsPinmap: true, needsPort: false },
  firmata: { help: "firmata (an Arduino over USB serial)", needsPinmap: true, needsPort: true },
} as const satisfies Record<BoardConfig["kind"], { help: string; needsPinmap: boolean; needsPort: boolean }>;
type BoardKind = keyof typeof BOARDS;
const BOARD_NAMES = Object.keys(BOARDS) as BoardKind[];
const isBoard = (b: string | undefined): b is BoardKind => b !== undefined && Object.hasOwn(BOARDS, b);

export const USAGE = `usage: zapvend-harness --board ${BOARD_NAMES.join("|")} [--pinmap <file|name>] [--port <device>]
                       [--sim-fault <name>]... [--calibration <file>] [--report <file>] [--yes] [--json]

  --board         ${BOARD_NAMES.map((b) => BOARDS[b].help).join(",\n                  ")}
  --pinmap        the machine's pin map; a bare name (drinks, snacks, bench) is one of hardware/pinmaps/.
                  Default for sim: bench (one pour station, two spirals)
  --port          the Arduino's serial port for firmata, e.g. /dev/ttyACM0
  --sim-fault     start the sim with a fault: ${SIM_FAULTS.join(", ")} (repeatable)
  --calibration   where the flow-meter calibration is saved. Default: beside the pin map (<pinmap>.calibration.json);
                  on the sim, not saved unless given
  --report        where the JSON report is saved. Default: a file under ${path.join(tmpdir(), "zapvend-harness")}
  --yes           do not ask before moving anything (pump, spirals); the calibration needs a person with a
                  measuring jug and is skipped (the sim measures with its own jug)
  --json          print the report as JSON on stdout (progress goes to stderr)

A machine with its own vending controller: zapvend-harness --board mdb --port <device> (--board mdb --help).

Exit status: 0 when every check passes, 1 when any fails, 2 when the harness could not run.`;

/** The world the harness talks to: injected so tests drive it without a terminal. */
export interface HarnessIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** A line typed by the technician, or null at end of input. Absent: nobody can answer. */
  ask?: (question: string) => Promise<string | null>;
  clock?: Clock;
  signal?: AbortSignal;
  /** The gpiod board's binding (tests: `FakeGpiodBinding`); default the real one. */
  gpiodBinding?: GpiodBinding;
}

export class UsageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

interface Options {
  board: BoardConfig["kind"];
  pinmapFile: string;
  port?: string;
  simFaults: string[];
  calibrationFile: string | null;
  reportFile?: string;
  yes: boolean;
  json: boolean;
}

/** The shipped pin maps, found from the harness's own location in the repository (src/ or dist/). */
export function shippedPinmapsDir(): string {
  return fileURLToPath(new URL("../../../hardware/pinmaps/", import.meta.url));
}

export function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        board: { type: "string" },
        pinmap: { type: "string" },
        port: { type: "string" },
        "sim-fault": { type: "string", multiple: true },
        calibration: { type: "string" },
        report: { type: "string" },
        yes: { type: "boolean", short: "y" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError("bad_argument", (err as Error).message);
  }
  if (values.help) throw new UsageError("help", USAGE);
  const board = values.board;
  if (!isBoard(board)) {
    throw new UsageError("bad_argument", `--board must be ${BOARD_NAMES.slice(0, -1).join(", ")} or ${BOARD_NAMES.at(-1)}${board === undefined ? "" : `, not "${board}"`}`);
  }
  const simFaults = values["sim-fault"] ?? [];
  if (simFaults.length > 0 && board !== "sim") throw new UsageError("bad_argument", "--sim-fault is for --board sim only");
  for (const f of simFaults) {
    if (!isSimFault(f)) throw new UsageError("bad_argument", `unknown --sim-fault "${f}" (known: ${SIM_FAULTS.join(", ")})`);
  }
  let pinmapFile = values.pinmap;
  if (pinmapFile === undefined) {
    if (BOARDS[board].needsPinmap) throw new UsageError("bad_argument", `--pinmap is required for --board ${board}: the pin map of the machine on the bench`);
    pinmapFile = "bench";
  }
  if (/^[a-z0-9-]+$/.test(pinmapFile)) pinmapFile = path.join(shippedPinmapsDir(), `${pinmapFile}.json`);
  if (BOARDS[board].needsPort && !values.port) throw new UsageError("bad_argument", `--port is required for --board ${board}, e.g. /dev/ttyACM0`);
  return {
    board,
    pinmapFile,
    ...(values.port ? { port: values.port } : {}),
    simFaults,
    calibrationFile: values.calibration ?? (board === "sim" ? null : calibrationPathFor(pinmapFile)),
    ...(values.report ? { reportFile: values.report } : {}),
    yes: values.yes ?? false,
    json: values.json ?? false,
  };
}

const MARK = { pass: "PASS", fail: "FAIL", skip: "skip" } as const;

function formatResult(index: number, total: number, r: HarnessCheck): string {
  const n = String(total).length;
  const head = `[${String(index).padStart(n)}/${total}] ${r.name} `.padEnd(40, ".");
  return `${head} ${MARK[r.status]}${r.code ? ` ${r.code}` : ""}  ${r.detail}`;
}

function bar(fraction: number, width = 20): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

/** Runs the harness; returns the exit status. Never throws for a refusal: it prints `error: <code>: <message>`. */
export async function runHarness(argv: string[], io: HarnessIo): Promise<number> {
  // A machine with its own VMC has no pin map: its checks and options are the MDB interface's (mdb.ts).
  const boardAt = argv.indexOf("--board");
  if (argv[boardAt + 1] === "mdb" || argv.includes("--board=mdb")) return (await import("./mdb.js")).runMdbHarness(argv, io);
  let opts: Options;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError && err.code === "help") {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    io.stderr(`error: ${(err as UsageError).code ?? "bad_argument"}: ${(err as Error).message}\n${err instanceof UsageError ? "(zapvend-harness --help for usage)\n" : ""}`);
    return 2;
  }
  const say = opts.json ? io.stderr : io.stdout;
  const clock = io.clock ?? systemClock;
  const signal = io.signal ?? new AbortController().signal;

  // Ask before anything moves. Without a terminal and without --yes, refuse instead of waiting for an answer
  // that cannot come.
  let allowMotion = opts.yes;
  if (!allowMotion) {
    if (!io.ask) {
      io.stderr("error: confirmation_required: these checks run the pump and turn the spirals; there is no terminal to confirm on, so pass --yes to run them\n");
      return 2;
    }
    const answer = await io.ask("These checks run the pump and turn every spiral. Hands and cups clear? Continue [y/N] ");
    allowMotion = /^y(es)?$/i.test((answer ?? "").trim());
    if (!allowMotion) say("Motion declined: only the checks that move nothing will run.\n");
  }

  let hw: Hardware;
  try {
    const pinmap = await loadPinmap(opts.pinmapFile);
    const calibration = opts.board === "sim" ? null : await loadCalibration(calibrationPathFor(opts.pinmapFile));
    hw = await openHardware({
      board: { kind: opts.board, pinmap: opts.pinmapFile, simFaults: opts.simFaults, ...(opts.port ? { port: opts.port } : {}) },
      pinmap,
      calibration,
      clock,
      ...(io.gpiodBinding ? { gpiodBinding: io.gpiodBinding } : {}),
    });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    io.stderr(`error: ${e.code ?? "open_failed"}: ${e.message ?? String(err)}\n`);
    return 2;
  }

  let results: HarnessCheck[] = [];
  try {
    say(`zapvend-harness: ${opts.board} board, pin map ${hw.pinmap.name} (${opts.pinmapFile})${opts.simFaults.length ? `, sim faults: ${opts.simFaults.join(", ")}` : ""}\n`);
    const sim = simOf(hw);
    const ctx: CheckContext = {
      hardware: hw,
      clock,
      signal,
      allowMotion,
      calibrationFile: opts.calibrationFile,
      onProgress: (p: CheckProgress) => say(`      ${p.check} ${bar(p.fraction)}${p.detail ? ` ${p.detail}` : ""}\n`),
    };
    if (sim) {
      // The sim measures with its own jug: the calibration runs unattended and checks the whole path.
      ctx.prepareMeasurement = async (station) => sim.emptyJug(station);
      ctx.measureVolumeMl = async (station) => Math.round(sim.jugMl(station) * 10) / 10;
    } else if (io.ask && !opts.yes) {
      const ask = io.ask;
      ctx.prepareMeasurement = async (station) => {
        await ask(`Put an empty measuring jug under ${station}'s nozzle and press Enter `);
      };
      ctx.measureVolumeMl = async (station) => {
        for (;;) {
          const line = await ask(`How many ml did ${station} pour into the jug? (empty to skip) `);
          if (line === null || line.trim() === "") return null;
          const ml = Number(line.trim().replace(",", "."));
          if (Number.isFinite(ml) && ml > 0 && ml < 10_000) return ml;
          say("  a volume in ml, e.g. 512\n");
        }
      };
    }
    let i = 0;
    const total = listChecks(hw).length;
    results = await runChecks(ctx, (r) => say(`${formatResult(++i, total, r)}\n`));
  } finally {
    await hw.close();
  }

  return finishReport({ board: opts.board, results, reportFile: opts.reportFile, json: opts.json, nowMs: clock.now(), say, stdout: io.stdout, stderr: io.stderr });
}
