// held-to-vmc-approval: the MDB device's share of "payment held -> VEND APPROVED on the VMC's wire". Measured from the
// call of the device's `approveVend(price)` (what the controller calls once the payment is ACCEPTED) to the approval
// line `C,VEND,<price>` read whole at the VMC end of the serial line. Goal (issue 16): p99 <= 20 ms.
//
// The path is the production one: the device's checks and formatting, serialport's write and drain on a real tty,
// the kernel's pty, and at the far end the sim VMC reading with its own serialport. What it does NOT include: the
// controller's step from the backend's ACCEPTED to that call (the journal commit of `held`), which lives in h16a's
// vend seam; `settle-to-actuator` measures that step for direct-drive machines (the same journal write), so the
// end-to-end figure is about the sum of the two. The pty is socat's, which adds a user-space copy a UART does not
// have: on a Pi the wire is 115200 baud, where the ~12 bytes of an approval take ~1 ms more.
//
// Baseline in the same run: the same line written with serialport alone (no device) on the same pty, read at the
// same end: the ratio is the device's overhead over a bare write.
// Each vend is one at a time: select on the sim keypad, wait for the device's vend request, approve, wait for the
// VMC's VEND SUCCESS and the return to ENABLED, next. The VMC's r,ACK polling runs throughout, as on a machine.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { round, summarize, until } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const VENDS = Number(process.env.ZAPVEND_BENCH_MDB_VENDS ?? 300);
const WARMUP = Number(process.env.ZAPVEND_BENCH_MDB_WARMUP ?? 30);
const GOAL_P99_MS = 20;

export default async function heldToVmcApprovalBench() {
  const { openMdbDevice } = await import(path.join(root, "packages/hal/dist/mdb.js"));
  const { startSimVmc } = await import(path.join(root, "packages/hal/dist/mdb-sim.js"));
  // serialport as hal resolves it (hal's own dependency, wherever npm placed it).
  const { SerialPort } = await import(createRequire(path.join(root, "packages/hal/package.json")).resolve("serialport"));
  const vmc = await startSimVmc({ selections: [{ selection: 12, priceUnits: 150 }], vendDurationMs: 2, setupStepMs: 10, ackIntervalMs: 20, logLimit: 50 });
  // The moment each approval line is read whole at the VMC end (the sim's line event is synchronous with its read).
  let readAt;
  vmc.on("line", (l) => {
    if (l.dir === "from-host" && l.line.startsWith("C,VEND,")) readAt = performance.now();
  });
  try {
    const dev = openMdbDevice({ path: vmc.devicePath, settings: { currencyCode: 978 } });
    await dev.open();
    await dev.enable();
    await until(() => dev.state === "enabled", { what: "the reader enabled" });
    let request;
    dev.on("vend-request", (r) => (request = r));
    const samples = [];
    for (let i = 0; i < WARMUP + VENDS; i++) {
      request = undefined;
      readAt = undefined;
      vmc.select(12);
      await until(() => request, { everyMs: 1, what: "the vend request" });
      const t0 = performance.now();
      await dev.approveVend(request.priceUnits);
      await until(() => readAt, { everyMs: 0, what: "the approval at the VMC" });
      if (i >= WARMUP) samples.push(readAt - t0);
      await until(() => dev.state === "enabled" && vmc.status().phase === "enabled", { everyMs: 1, what: "the vend to end" });
    }
    if (vmc.status().counts.success !== WARMUP + VENDS) throw new Error(`expected ${WARMUP + VENDS} successful vends, the VMC counted ${vmc.status().counts.success}`);
    await dev.disable();
    await dev.close();

    // Baseline: a bare serialport write of the same line, on the same pty, read at the same end.
    const port = new SerialPort({ path: vmc.devicePath, baudRate: 115_200, autoOpen: false });
    await new Promise((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    port.on("data", () => {});
    const base = [];
    for (let i = 0; i < WARMUP + VENDS; i++) {
      readAt = undefined;
      const t0 = performance.now();
      port.write("C,VEND,1.50\n");
      await new Promise((resolve, reject) => port.drain((e) => (e ? reject(e) : resolve())));
      await until(() => readAt, { everyMs: 0, what: "the bare line at the VMC" });
      if (i >= WARMUP) base.push(readAt - t0);
    }
    await new Promise((resolve) => port.close(() => resolve()));

    const s = summarize(samples, 3);
    const b = summarize(base, 3);
    return [
      {
        name: "held-to-vmc-approval-p99-ms",
        label: "approveVend() called -> C,VEND,<price> read whole at the VMC end of the pty (device's share; the controller's ACCEPTED -> approveVend step is not included), p99",
        value: s.p99,
        unit: "ms",
        median: s.p50,
        max: s.max,
        spread: s.spread,
        samples: s.samples,
        baseline: b.p99,
        ratio: round(s.p99 / b.p99, 2),
        goal: { op: "<=", value: GOAL_P99_MS },
      },
      { name: "held-to-vmc-approval baseline: bare serialport write of C,VEND on the same pty, p99", value: b.p99, unit: "ms", median: b.p50, max: b.max, spread: b.spread, samples: b.samples },
    ];
  } finally {
    await vmc.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.table(await heldToVmcApprovalBench());
  process.exit(0);
}
