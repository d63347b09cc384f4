import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HarnessReport } from "@zapvend/protocol";
import { loadPinmap, systemClock } from "@zapvend/hal";
import { FakeGpiodBinding } from "@zapvend/hal/sim";
import { runHarness, shippedPinmapsDir, type HarnessIo } from "./harness.js";

// Physics time is faked (the sim's pump and spirals run on the injected clock); setImmediate stays real so file
// I/O (pin map, report) completes between steps.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

async function harness(argv: string[], io: Partial<HarnessIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let done = false;
  const p = runHarness(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), clock: systemClock, ...io }).finally(() => {
    done = true;
  });
  while (!done) {
    await vi.advanceTimersByTimeAsync(250);
    await new Promise((r) => setImmediate(r));
  }
  return { code: await p, stdout: out.join(""), stderr: err.join("") };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "zapvend-harness-test-"));
});

describe("zapvend-harness", () => {
  it("--board sim --yes --json: every check passes, exit 0, the report on stdout and in the report file", async () => {
    const reportFile = path.join(dir, "report.json");
    const r = await harness(["--board", "sim", "--yes", "--json", "--report", reportFile]);
    expect(r.code).toBe(0);
    const report = HarnessReport.parse(JSON.parse(r.stdout));
    expect(report.board).toBe("sim");
    expect(report.checks.map((c) => c.status)).toEqual(Array(10).fill("pass"));
    expect(JSON.parse(await readFile(reportFile, "utf8"))).toEqual(report);
    // Progress goes to stderr in --json mode, one line per step.
    expect(r.stderr).toMatch(/\[ 5\/10\] pump P1 prime \.+ PASS/);
  });

  it.each([
    ["pump-dry", "pump P1 prime", "PUMP_DRY_RUN"],
    ["spiral-jam", "spiral A1 home", "SPIRAL_JAM"],
    ["drop-sensor-stuck", "drop sensor idle", "DROP_SENSOR_STUCK"],
    ["door-open", "door switch", "DOOR_OPEN"],
    ["flow-sensor-dead", "pump P1 prime", "FLOW_SENSOR_DEAD"],
  ])("--sim-fault %s fails %s with %s and exits 1", async (fault, check, code) => {
    const r = await harness(["--board", "sim", "--sim-fault", fault, "--yes", "--json", "--report", path.join(dir, "r.json")]);
    expect(r.code).toBe(1);
    const report = HarnessReport.parse(JSON.parse(r.stdout));
    expect(report.checks.find((c) => c.name === check)).toMatchObject({ status: "fail", code });
  });

  it("prints a human line per check and a summary", async () => {
    const r = await harness(["--board", "sim", "--pinmap", "snacks", "--yes", "--report", path.join(dir, "r.json")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("pin map snacks");
    expect(r.stdout).toMatch(/\[8\/9\] spiral A4 home \.+ PASS/);
    expect(r.stdout).toContain("all checks passed (9 passed, 0 skipped)");
  });

  it("without a terminal and without --yes it refuses at once instead of waiting", async () => {
    const r = await harness(["--board", "sim", "--json"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: confirmation_required: .*--yes/);
  });

  it("asks before moving anything, and runs only the still checks when the answer is no", async () => {
    const questions: string[] = [];
    const r = await harness(["--board", "sim", "--json", "--report", path.join(dir, "r.json")], {
      ask: async (q) => {
        questions.push(q);
        return "n";
      },
    });
    expect(questions).toHaveLength(1);
    expect(r.code).toBe(0);
    const report = HarnessReport.parse(JSON.parse(r.stdout));
    expect(report.checks.filter((c) => c.status === "skip").map((c) => c.name)).toEqual([
      "pump P1 prime",
      "flow meter P1 calibration",
      "spiral A1 home",
      "spiral A2 home",
      "test vend A1",
    ]);
  });

  it("saves the sim's calibration when --calibration names a file", async () => {
    const cal = path.join(dir, "cal.json");
    const r = await harness(["--board", "sim", "--pinmap", "drinks", "--yes", "--json", "--calibration", cal, "--report", path.join(dir, "r.json")]);
    expect(r.code).toBe(0);
    const saved = JSON.parse(await readFile(cal, "utf8")) as { pourStations: { P1: { pulsesPerLitre: number } } };
    expect(saved.pourStations.P1.pulsesPerLitre).toBeGreaterThan(440);
    expect(saved.pourStations.P1.pulsesPerLitre).toBeLessThan(460);
  });

  it.each([
    [["--board", "nope"], "--board must be sim, raspi, gpiod or firmata"],
    [["--board", "gpiod", "--yes"], "--pinmap is required for --board gpiod"],
    [["--board", "sim", "--sim-fault", "gremlins", "--yes"], 'unknown --sim-fault "gremlins"'],
    [["--board", "raspi", "--yes"], "--pinmap is required"],
    [["--board", "firmata", "--pinmap", "drinks", "--yes"], "--port is required"],
    [["--board", "sim", "--frobnicate"], "Unknown option"],
  ])("refuses %j with a coded error and exit 2", async (argv, message) => {
    const r = await harness(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: bad_argument: /);
    expect(r.stderr).toContain(message);
  });

  it("refuses a bad pin map naming the field, before anything moves", async () => {
    const bad = path.join(dir, "bad.json");
    await (await import("node:fs/promises")).writeFile(bad, JSON.stringify({ name: "x", pourStations: { P1: { pump: { en: 1, in1: 1, in2: 3 }, flowMeter: { pin: 4, pulsesPerLitre: 450 }, cupSensor: { pin: 5 } } }, door: { pin: 6 } }));
    const r = await harness(["--board", "sim", "--pinmap", bad, "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: bad_value: .*pourStations\.P1\.pump\.in1/);
  });

  it("on a Pi without raspi-io it says what to install", async () => {
    const r = await harness(["--board", "raspi", "--pinmap", "drinks", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: BOARD_NOT_READY: .*raspi-io/);
  });

  describe("--board gpiod over the fake binding (a Pi 5's GPIO chip and PWM, the sim's physics behind the lines)", () => {
    async function fake() {
      return new FakeGpiodBinding(await loadPinmap(path.join(shippedPinmapsDir(), "bench.json")), systemClock);
    }

    it("every check passes (the calibration needs a person with a jug, so it is skipped), exit 0", async () => {
      const binding = await fake();
      const r = await harness(["--board", "gpiod", "--pinmap", "bench", "--yes", "--json", "--calibration", path.join(dir, "cal.json"), "--report", path.join(dir, "r.json")], { gpiodBinding: binding });
      expect(r.stderr).not.toMatch(/^error/m);
      expect(r.code).toBe(0);
      const report = HarnessReport.parse(JSON.parse(r.stdout));
      expect(report.board).toBe("gpiod");
      expect(report.checks.map((c) => [c.name, c.status])).toEqual([
        ["board", "pass"],
        ["door switch", "pass"],
        ["temperature", "pass"],
        ["cup sensor P1", "pass"],
        ["pump P1 prime", "pass"],
        ["flow meter P1 calibration", "skip"],
        ["drop sensor idle", "pass"],
        ["spiral A1 home", "pass"],
        ["spiral A2 home", "pass"],
        ["test vend A1", "pass"],
      ]);
      // The harness closed the board: every line let go, the pump's PWM at duty 0 and disabled.
      expect([...binding.held.keys()]).toEqual([]);
      expect(binding.pwm.get(0)).toMatchObject({ dutyNs: 0, enabled: false });
    });

    it("a dead flow sensor on the Pi's line fails the pump check with FLOW_SENSOR_DEAD, exit 1", async () => {
      const binding = await fake();
      binding.machine.inject("flow-sensor-dead");
      const r = await harness(["--board", "gpiod", "--pinmap", "bench", "--yes", "--json", "--calibration", path.join(dir, "cal.json"), "--report", path.join(dir, "r.json")], { gpiodBinding: binding });
      expect(r.code).toBe(1);
      const report = HarnessReport.parse(JSON.parse(r.stdout));
      expect(report.checks.find((c) => c.name === "pump P1 prime")).toMatchObject({ status: "fail", code: "FLOW_SENSOR_DEAD" });
      expect(report.checks.filter((c) => c.status === "fail").map((c) => c.name)).toEqual(["pump P1 prime"]);
    });

    it("without the binding (any machine but a Pi) it says what to install", async () => {
      const r = await harness(["--board", "gpiod", "--pinmap", "bench", "--yes"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: BOARD_NOT_READY: .*@iiot2k\/gpiox/);
    });
  });
});
