// zapvend-harness --board mdb against the sim VMC through a real pty, as a technician runs it.
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HarnessReport } from "@zapvend/protocol";
import { startSimVmc, type SimVmc } from "@zapvend/hal/mdb-sim";
import { runHarness } from "./harness.js";

let vmc: SimVmc | undefined;
afterEach(async () => {
  await vmc?.close();
  vmc = undefined;
});

describe("zapvend-harness --board mdb", () => {
  it("the interface answers, the VMC enables the reader, the test vend of the chosen selection ends in VEND SUCCESS", async () => {
    vmc = await startSimVmc({ vendDurationMs: 50, setupStepMs: 20, ackIntervalMs: 50 });
    const sim = vmc;
    const reportFile = path.join(await mkdtemp(path.join(tmpdir(), "zapvend-harness-mdb-")), "report.json");
    let stdout = "";
    let stderr = "";
    const code = await runHarness(["--board", "mdb", "--port", sim.devicePath, "--selection", "11", "--yes", "--json", "--report", reportFile], {
      stdout: (t) => (stdout += t),
      stderr: (t) => {
        stderr += t;
        // The technician reads the prompt and presses the selection on the keypad.
        if (/Press selection 11/.test(t)) sim.select(11);
      },
    });
    expect(code, stderr).toBe(0);
    const report = HarnessReport.parse(JSON.parse(stdout));
    expect(report.board).toBe("mdb");
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ["MDB interface answers", "pass"],
      ["VMC polls the reader", "pass"],
      ["VMC enables the reader", "pass"],
      ["test vend selection 11", "pass"],
    ]);
    expect(JSON.parse(await readFile(reportFile, "utf8"))).toEqual(report);
    expect(stderr).toMatch(/\[4\/4\] test vend selection 11 \.+ PASS/);
    expect(sim.status().counts).toMatchObject({ approved: 1, success: 1 });
    // It leaves the slave off, so the VMC does not sell through a reader nobody drives.
    expect(sim.lines().filter((l) => l.dir === "from-host").at(-1)?.line).toBe("C,0");
  });

  it("a port with nothing behind it: the first check fails with a code, the rest are skipped, exit 1", async () => {
    const out: string[] = [];
    const code = await runHarness(["--board", "mdb", "--port", "/dev/zapvend-no-such-port", "--yes", "--json", "--report", path.join(tmpdir(), `zv-mdb-${process.pid}.json`)], {
      stdout: (t) => out.push(t),
      stderr: () => {},
    });
    expect(code).toBe(1);
    const report = HarnessReport.parse(JSON.parse(out.join("")));
    expect(report.checks.map((c) => [c.status, c.code])).toEqual([
      ["fail", "MDB_PORT_CLOSED"],
      ["skip", undefined],
      ["skip", undefined],
      ["skip", undefined],
    ]);
  });

  it("refuses without --port, and without a terminal or --yes", async () => {
    const err: string[] = [];
    expect(await runHarness(["--board", "mdb"], { stdout: () => {}, stderr: (t) => err.push(t) })).toBe(2);
    expect(err.join("")).toMatch(/--port is required/);
    expect(await runHarness(["--board", "mdb", "--port", "/dev/null"], { stdout: () => {}, stderr: (t) => err.push(t) })).toBe(2);
    expect(err.join("")).toMatch(/confirmation_required/);
  });
});
