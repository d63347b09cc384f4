// The harness's MDB checks over the sim VMC through a real pty: the same checks a technician runs at the machine.
// Against a real interface and VMC (serialport's TEST_PORT pattern), with someone at the keypad:
//   TEST_MDB_PORT=/dev/serial0 TEST_MDB_SELECTION=12 npx vitest run src/mdb/checks.contract.test.ts
// (TEST_MDB_VEND=1 also runs the free test vend: press the selection when the prompt appears on stderr.)
import { afterEach, describe, expect, it } from "vitest";
import { HarnessCheck } from "@zapvend/protocol";
import { startSimVmc, type SimVmc, type SimVmcOptions } from "../mdb-sim/index.js";
import { runMdbChecks } from "./checks.js";
import { openMdbDevice } from "./device.js";
import type { MdbCashlessDevice } from "./types.js";

const open: Array<{ vmc: SimVmc; dev: MdbCashlessDevice }> = [];
afterEach(async () => {
  for (const { vmc, dev } of open.splice(0)) {
    await dev.close();
    await vmc.close();
  }
});

async function setup(opts: SimVmcOptions = {}) {
  const vmc = await startSimVmc({ vendDurationMs: 50, setupStepMs: 20, ackIntervalMs: 50, ...opts });
  const dev = openMdbDevice({ path: vmc.devicePath, settings: { currencyCode: 978 } });
  open.push({ vmc, dev });
  return { vmc, dev };
}

/** The technician presses once the machine shows it is ready again (the denied vend's session has ended). */
async function pressWhenReady(vmc: SimVmc, selection: number): Promise<void> {
  await expect.poll(() => vmc.status().phase).toBe("enabled");
  vmc.select(selection);
}

describe("MDB harness checks on the sim VMC", () => {
  it("all pass: the interface answers, the VMC polls and enables the reader, the test vend ends in VEND SUCCESS", async () => {
    const { vmc, dev } = await setup();
    const prompts: string[] = [];
    const results = await runMdbChecks({
      device: dev,
      allowVend: true,
      testSelection: 12,
      // The technician at the keypad: first the wrong button (denied), then the right one.
      onPrompt: (t) => {
        prompts.push(t);
        if (prompts.length === 1) vmc.select(11);
        else if (prompts.length === 2) void pressWhenReady(vmc, 12);
      },
    });
    for (const r of results) HarnessCheck.parse(r);
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ["MDB interface answers", "pass"],
      ["VMC polls the reader", "pass"],
      ["VMC enables the reader", "pass"],
      ["test vend selection 12", "pass"],
    ]);
    expect(results[3]!.measured).toMatchObject({ selection: 12, price: "2.50" });
    expect(prompts[1]).toMatch(/selection 11 pressed: denied/);
    expect(vmc.status().counts).toMatchObject({ denied: 1, approved: 1, success: 1 });
  });

  it("without confirmation the test vend is skipped and nothing is approved", async () => {
    const { vmc, dev } = await setup();
    const results = await runMdbChecks({ device: dev, allowVend: false });
    expect(results.map((r) => r.status)).toEqual(["pass", "pass", "pass", "skip"]);
    expect(vmc.status().counts.approved).toBe(0);
  });

  it("a VEND FAILURE fails the test vend with MDB_VEND_FAILED", async () => {
    const { vmc, dev } = await setup();
    vmc.failNext();
    const results = await runMdbChecks({ device: dev, allowVend: true, onPrompt: () => vmc.select(10) });
    expect(results[3]).toMatchObject({ status: "fail", code: "MDB_VEND_FAILED" });
  });

  it("a machine out of order fails 'VMC enables the reader' with MDB_READER_DISABLED", async () => {
    const { vmc, dev } = await setup();
    vmc.setInService(false);
    const results = await runMdbChecks({ device: dev, allowVend: true, enableTimeoutMs: 500 });
    expect(results.map((r) => [r.status, r.code])).toEqual([
      ["pass", undefined],
      ["pass", undefined],
      ["fail", "MDB_READER_DISABLED"],
      ["skip", undefined],
    ]);
  });
});

describe.runIf(process.env.TEST_MDB_PORT)("MDB harness checks on a real interface", () => {
  it("every check passes", { timeout: 300_000 }, async () => {
    const dev = openMdbDevice({ path: process.env.TEST_MDB_PORT!, settings: { currencyCode: Number(process.env.TEST_MDB_CURRENCY ?? 978) } });
    try {
      const results = await runMdbChecks({
        device: dev,
        allowVend: process.env.TEST_MDB_VEND === "1",
        ...(process.env.TEST_MDB_SELECTION ? { testSelection: Number(process.env.TEST_MDB_SELECTION) } : {}),
        onPrompt: (t) => process.stderr.write(`>>> ${t}\n`),
      });
      expect(results.filter((r) => r.status === "fail")).toEqual([]);
    } finally {
      await dev.disable().catch(() => undefined);
      await dev.close();
    }
  });
});
