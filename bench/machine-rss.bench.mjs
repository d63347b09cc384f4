// machine-rss: the resident memory of the machine daemon (`node apps/machine/dist/cli.js --config <file>`, its own
// process as in the field) on the sim board, with the sim Lightning node and a broker as other processes. Goal
// (issue 6): <= 80 MB with the sim board.
//
// Method: start the daemon (with the node flags of the systemd unit's ExecStart and its Environment= lines, as in the field), let it settle (5 s), sample VmRSS from /proc/<pid>/status every 100 ms for 3 s (idle);
// then run PURCHASES purchases through its HTTP API, one after the other, paid from the sim wallet over HTTP, with a
// kiosk-like WebSocket client connected to /ws the whole time, sampling VmRSS every 100 ms; then 3 s more after the
// load. `machine-rss-mb` is the largest sample from the start of the load to the end (after-load included); VmHWM
// (the kernel's own peak of the process, start-up included) is reported beside it, and, for where the memory goes, the
// RSS of a bare node process and of one that only imports @zapvend/machine. The snacks pin map with 500 ms
// spiral revolutions keeps the run short; memory does not depend on it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { postJson, root, round, sleep, spawnPrinting, spread, startBroker, stopChild, until, median } from "./lib.mjs";

const PURCHASES = Number(process.env.ZAPVEND_BENCH_RSS_PURCHASES ?? 60);
const GOAL_MB = 80;
const REVOLUTION_MS = 500; // short, yet reliable when the CPUs are busy (the sim's home timeout is 2 revolutions)

function statusKb(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

function sampler(pid, everyMs = 100) {
  const samples = [];
  const take = () => samples.push(statusKb(pid, "VmRSS") / 1024);
  take();
  const t = setInterval(take, everyMs);
  return { samples, stop: () => (clearInterval(t), take(), samples) };
}

/** One daemon, started with `nodeFlags`, measured idle and through the purchases. */
async function measure(nodeFlags, env) {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-bench-rss-"));
  const broker = await startBroker(dir);
  const procs = [];
  try {
    const sim = await spawnPrinting("sim-lightning", [path.join(root, "packages/payments/dist/sim-node-cli.js"), "--port", "0"], "sim-lightning", { logFile: path.join(dir, "sim.log") });
    procs.push(sim.proc);
    const pm = JSON.parse(readFileSync(path.join(root, "hardware/pinmaps/snacks.json"), "utf8"));
    for (const s of Object.values(pm.spirals)) s.revolutionMs = REVOLUTION_MS;
    writeFileSync(path.join(dir, "snacks-fast.json"), JSON.stringify(pm));
    const slots = ["A1", "A2", "A3", "A4"];
    const config = {
      machineId: `bench-rss-${process.pid}`,
      http: { host: "127.0.0.1", port: 0 },
      mqtt: { url: broker.url, telemetryIntervalMs: 10_000 },
      board: { kind: "sim", pinmap: path.join(dir, "snacks-fast.json") },
      payments: { backend: { kind: "sim", url: sim.url }, network: "regtest", invoiceExpirySec: 180 },
      pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" }, maxRateAgeSec: 600 },
      catalog: slots.map((slot, i) => ({ slot, name: `Product ${slot}`, kind: "spiral", price: { unit: "fiat", currency: "EUR", amountMinor: 150 + 10 * i }, stock: 1_000, capacity: 1_000 })),
      dataDir: path.join(dir, "machine"),
    };
    const configFile = path.join(dir, "machine.json");
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const m = await spawnPrinting("machine", [...nodeFlags, path.join(root, "apps/machine/dist/cli.js"), "--config", configFile], `kiosk ${config.machineId}`, { logFile: path.join(dir, "machine.log"), env });
    procs.push(m.proc);
    const pid = m.proc.pid;
    await until(async () => (await (await fetch(`${m.url}/api/health`)).json()).selling, { timeoutMs: 15_000, what: "machine selling" });
    const startupHwm = statusKb(pid, "VmHWM") / 1024;

    await sleep(5_000);
    const idle = sampler(pid);
    await sleep(3_000);
    const idleSamples = idle.stop();

    const ws = new WebSocket(m.url.replace("http", "ws") + "/ws");
    await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
    let pushes = 0;
    ws.on("message", () => pushes++);
    const load = sampler(pid);
    const t0 = performance.now();
    const failed = [];
    for (let i = 0; i < PURCHASES; i++) {
      // Slots in turn; one the machine took out of order (a vend the sim refused on a busy machine) is skipped.
      let created;
      for (let k = 0; k < slots.length; k++) {
        created = await postJson(`${m.url}/api/orders`, { slot: slots[(i + k) % slots.length] });
        if (created.status !== 409 || created.body?.error?.code !== "slot_disabled") break;
      }
      if (created.status !== 201) throw new Error(`order ${i}: ${created.status} ${JSON.stringify(created.body)}`);
      // The wallet's call returns once the machine settled, i.e. after the vend.
      const paid = await postJson(`${sim.url}/wallet/pay`, { bolt11: created.body.bolt11 });
      if (paid.status !== 200) {
        // A refunded vend (the wallet is told the payee cancelled) still exercises the daemon; count it, go on.
        const order = await (await fetch(`${m.url}/api/orders/${created.body.orderId}`)).json();
        failed.push(`${order.state}: ${order.failure?.code ?? paid.body?.error?.code}`);
        if (failed.length > Math.max(2, PURCHASES / 10)) throw new Error(`too many failed purchases: ${failed.join(", ")}`);
      } else {
        await until(async () => (await (await fetch(`${m.url}/api/orders/${created.body.orderId}`)).json()).state === "completed", { timeoutMs: 10_000, what: `order ${i} completed` });
      }
      await sleep(150); // the falling product breaks the beam for a moment after the vend; a buyer is slower than that
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    await sleep(3_000);
    const loadSamples = load.stop();
    ws.close();
    return { idleSamples, loadSamples, hwm: statusKb(pid, "VmHWM") / 1024, startupHwm, loadSeconds, pushes, failed };
  } finally {
    for (const p of procs.reverse()) await stopChild(p);
    broker.stop();
    if (process.env.ZAPVEND_BENCH_KEEP) console.error(`bench: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** VmRSS of a node process (the unit's flags and environment) that only imports `specifier` (or nothing), 1 s after: the code's share of the RSS. */
function importFootprintMb(specifier, nodeFlags, env) {
  const code = `${specifier ? `await import(${JSON.stringify(specifier)});` : ""}
    await new Promise((r) => setTimeout(r, 1000));
    const s = (await import("node:fs")).readFileSync("/proc/self/status", "utf8");
    process.stdout.write(String(Number(/VmRSS:\\s+(\\d+)/.exec(s)[1]) / 1024));`;
  const out = spawnSync(process.execPath, [...nodeFlags, "--input-type=module", "-e", code], { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });
  if (out.status !== 0) throw new Error(`import footprint of ${specifier ?? "node"}: ${out.stderr}`);
  return Number(out.stdout);
}

/** The node flags the field runs the daemon with: those of ExecStart in the systemd unit, before the script. */
function fieldNodeFlags(unit = readUnit()) {
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1].trim().split(/\s+/);
  const script = exec?.findIndex((a) => a.endsWith("apps/machine/dist/cli.js")) ?? -1;
  if (!exec || script < 1) throw new Error("machine-rss: no ExecStart running apps/machine/dist/cli.js in zapvend-machine.service");
  return exec.slice(1, script);
}

function readUnit() {
  return readFileSync(path.join(root, "hardware/pi-setup/zapvend-machine.service"), "utf8");
}

/** The environment the field runs the daemon with: the unit's `Environment=NAME=value` lines (MALLOC_ARENA_MAX matters). */
function fieldEnv(unit = readUnit()) {
  const env = {};
  for (const m of unit.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(\S*)\s*$/gm)) env[m[1]] = m[2];
  return env;
}

export default async function machineRssBench() {
  const nodeFlags = fieldNodeFlags();
  const env = fieldEnv();
  const plain = await measure(nodeFlags, env);
  const peak = Math.max(...plain.loadSamples);
  const idle = median(plain.idleSamples);
  // Where it goes: a bare node process, and one that only imports the daemon's modules (nothing started), 5 each.
  const bare = Array.from({ length: 5 }, () => importFootprintMb(null, nodeFlags, env));
  const imports = Array.from({ length: 5 }, () => importFootprintMb("@zapvend/machine", nodeFlags, env));
  return [
    { name: "machine-rss-mb", nodeFlags, env, label: `machine daemon VmRSS, largest sample during and 3 s after ${PURCHASES} purchases (sim board, sim node, kiosk WebSocket); baseline: idle`, value: round(peak, 1), unit: "MB", median: round(median(plain.loadSamples), 1), spread: round(spread(plain.loadSamples), 1), samples: plain.loadSamples.length, baseline: round(idle, 1), ratio: round(peak / idle, 2), goal: { op: "<=", value: GOAL_MB } },
    { name: "machine-rss-idle-mb", label: "machine daemon VmRSS idle (selling, no purchase yet; 3 s of samples after 5 s)", value: round(idle, 1), unit: "MB", median: round(idle, 1), spread: round(spread(plain.idleSamples), 1), samples: plain.idleSamples.length, goal: { op: "<=", value: GOAL_MB } },
    { name: "machine-rss-hwm-mb", label: "machine daemon VmHWM (kernel peak RSS since start, start-up included)", value: round(plain.hwm, 1), unit: "MB", startupHwmMb: round(plain.startupHwm, 1) },
    { name: "machine-rss breakdown: bare node process", value: round(median(bare), 1), unit: "MB", median: round(median(bare), 1), spread: round(spread(bare), 1), samples: bare.length },
    { name: "machine-rss breakdown: node + import @zapvend/machine (nothing started)", value: round(median(imports), 1), unit: "MB", median: round(median(imports), 1), spread: round(spread(imports), 1), samples: imports.length, baseline: round(median(bare), 1), ratio: round(median(imports) / median(bare), 2) },
    { name: "machine-rss purchases/s (context only)", value: round(PURCHASES / plain.loadSeconds, 2), unit: "purchases/s", samples: PURCHASES, wsMessages: plain.pushes, failedPurchases: plain.failed },
  ];
}
