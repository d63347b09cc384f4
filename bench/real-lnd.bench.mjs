// Real LND on regtest (issue 14): a snacks machine (the daemon in this process, the sim board) sells through the
// regtest operator's LND, and the buyer's LND pays over the one-hop channel. Two figures:
//   pay-to-motor-real-lnd-p99-ms:  from the buyer node's pay call (POST /v2/router/send sent) to the spiral motor pin
//                                  high. The whole path: buyer LND -> HTLC over the channel -> operator LND holds it
//                                  -> ACCEPTED on the invoice stream -> adapter -> monitor lookup -> controller -> pin.
//                                  Goal 500 ms p99.
//   lnd-accepted-to-motor-p99-ms:  zapvend's own share: from the adapter receiving ACCEPTED on LND's subscribe stream
//                                  (the adapter's hint, emitted right after it parsed the line) to the pin. Goal 20 ms.
// Runs only when the regtest network is available: a running `npm run regtest` (.zapvend/regtest/env.json), else it
// starts one for the run (scripts/lightning/regtest.mjs) when the binaries are built; without them it reports a skip.
// Marks: performance.now() in this process; the adapter's hint by wrapping LndBackend.prototype.emit, the pin by
// wrapping SimMachine.prototype.write (both in this process only; nothing in the product is changed).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { round, sleep, startBroker, summarize, until } from "./lib.mjs";
import { lndStream } from "../scripts/lightning/rest.mjs";
import { lightningBinaries } from "../scripts/lightning/versions.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PURCHASES = Number(process.env.ZAPVEND_BENCH_LND_VENDS ?? 40);
const WARMUP = 5;
const GAP_MS = 150;

async function regtestEnv() {
  for (const f of [".zapvend/regtest/env.json", ".zapvend/regtest-test/env.json"]) {
    const p = path.join(root, f);
    if (!existsSync(p)) continue;
    const env = JSON.parse(readFileSync(p, "utf8"));
    try {
      const r = await fetch(`${env.controlUrl}/env`, { signal: AbortSignal.timeout(3_000) });
      if (r.ok) return { env, stop: async () => undefined };
    } catch {
      // stale file
    }
  }
  if (lightningBinaries().missing) return undefined;
  const dir = path.join(root, ".zapvend/regtest-bench");
  const child = spawn(process.execPath, [path.join(root, "scripts/lightning/regtest.mjs"), "--dir", dir, "--parent-pid", String(process.pid)], { stdio: ["ignore", "pipe", "inherit"] });
  const envPath = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /READY (.+)\n/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`the regtest network exited (${code})`)));
  });
  return {
    env: JSON.parse(readFileSync(envPath, "utf8")),
    stop: async () => {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}

export default async function realLndBench() {
  const net = await regtestEnv();
  if (!net) {
    console.error("bench: real-lnd: skipped: the regtest binaries are not built (node scripts/lightning/build.mjs)");
    return [{ name: "pay-to-motor-real-lnd-p99-ms", value: null, unit: "ms", skipped: "regtest binaries not built" }];
  }
  const { env } = net;
  const [{ Machine, createLogger }, { LndBackend }, { SimMachine }, { parseMachineConfig }] = await Promise.all([
    import("@zapvend/machine"),
    import("@zapvend/payments"),
    import("@zapvend/hal/sim"),
    import("@zapvend/protocol"),
  ]);
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-bench-lnd-"));
  const broker = await startBroker(dir);
  const buyer = {
    name: "buyer",
    restUrl: env.buyer.restUrl,
    certPem: readFileSync(env.buyer.tlsCertPath, "utf8"),
    macaroonHex: readFileSync(env.buyer.adminMacaroonPath).toString("hex"),
  };

  // Marks.
  const marks = new Map();
  let current = null;
  const emit = LndBackend.prototype.emit;
  LndBackend.prototype.emit = function (hint) {
    if (hint.type === "invoice" && hint.state === "accepted") {
      const m = marks.get(hint.paymentHash);
      if (m && m.accepted === undefined) m.accepted = performance.now();
    }
    return emit.call(this, hint);
  };
  const pm = JSON.parse(readFileSync(path.join(root, "hardware/pinmaps/snacks.json"), "utf8"));
  for (const s of Object.values(pm.spirals)) s.revolutionMs = 500;
  const pinmapPath = path.join(dir, "snacks-fast.json");
  writeFileSync(pinmapPath, JSON.stringify(pm));
  const write = SimMachine.prototype.write;
  SimMachine.prototype.write = function (pin, kind, value) {
    const r = write.call(this, pin, kind, value);
    if (current && current.pinHigh === undefined && this.output(pm.spirals[current.slot].motor) > 0) current.pinHigh = performance.now();
    return r;
  };

  const slots = Object.keys(pm.spirals);
  const total = PURCHASES + WARMUP;
  const parsed = parseMachineConfig({
    machineId: `bench-lnd-${process.pid}`,
    http: { host: "127.0.0.1", port: 0 },
    mqtt: { url: broker.url, telemetryIntervalMs: 60_000 },
    board: { kind: "sim", pinmap: pinmapPath },
    payments: { backend: { kind: "lnd", url: env.operator.restUrl, macaroonPath: env.operator.macaroonPath, tlsCertPath: env.operator.tlsCertPath }, network: "regtest", invoiceExpirySec: 120 },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" } },
    catalog: slots.map((slot) => ({ slot, name: `Crisps ${slot}`, kind: "spiral", price: { unit: "msat", amountMsat: "10000" }, stock: total + 5, capacity: 10_000 })),
    dataDir: path.join(dir, "data"),
  });
  if (!parsed.ok) throw new Error(parsed.error.message);
  const machine = new Machine(parsed.value, { logger: createLogger("machine:bench-lnd", { write: () => undefined }) });
  const states = new Map();
  machine.on("order", (o) => {
    if (["completed", "refunded", "credited", "expired"].includes(o.state)) states.get(o.orderId)?.(o.state);
  });
  const samples = [];
  const failed = [];
  try {
    const url = await machine.start();
    await until(async () => (await (await fetch(`${url}/api/health`)).json()).selling, { timeoutMs: 60_000, what: "machine selling on LND" });
    console.error(`bench: real-lnd: ${WARMUP} warm-up + ${PURCHASES} purchases over the regtest channel`);
    for (let i = 0; i < total; i++) {
      const slot = slots[i % slots.length];
      const created = await fetch(`${url}/api/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slot }) });
      const body = await created.json();
      if (created.status !== 201) throw new Error(`order ${i}: ${created.status} ${JSON.stringify(body)}`);
      const m = { slot };
      marks.set(body.paymentHash, m);
      current = m;
      const ended = new Promise((resolve) => states.set(body.orderId, resolve));
      m.pay = performance.now();
      const paid = lndStream(buyer, "POST", "/v2/router/send", { payment_request: body.bolt11, timeout_seconds: 60, fee_limit_sat: "10", no_inflight_updates: true });
      const final = await Promise.race([ended, sleep(60_000).then(() => "timeout")]);
      const p = await paid.catch((e) => ({ status: `error ${e.message}` }));
      if (final !== "completed" || p?.status !== "SUCCEEDED") failed.push(`${i}: ${final} / ${p?.status}`);
      else if (m.pinHigh === undefined || m.accepted === undefined) failed.push(`${i}: missing mark`);
      else if (i >= WARMUP) samples.push(m);
      await sleep(GAP_MS);
    }
  } finally {
    LndBackend.prototype.emit = emit;
    SimMachine.prototype.write = write;
    await machine.stop();
    broker.stop();
    await net.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (failed.length) console.error(`bench: real-lnd: ${failed.length} purchase(s) not measured: ${failed.slice(0, 5).join("; ")}`);
  const whole = summarize(samples.map((m) => m.pinHigh - m.pay));
  const share = summarize(samples.map((m) => m.pinHigh - m.accepted));
  const lnd = summarize(samples.map((m) => m.accepted - m.pay));
  return [
    { name: "pay-to-motor-real-lnd-p99-ms", label: "buyer LND pay call -> spiral motor pin high, one-hop regtest channel, p99", value: round(whole.p99, 2), unit: "ms", median: round(whole.p50, 2), spread: whole.spread, samples: whole.samples, max: whole.max, notMeasured: failed.length, goal: { op: "<=", value: 500 } },
    { name: "lnd-accepted-to-motor-p99-ms", label: "ACCEPTED on LND's invoice stream (adapter) -> spiral motor pin high, p99", value: round(share.p99, 2), unit: "ms", median: round(share.p50, 2), spread: share.spread, samples: share.samples, max: share.max, goal: { op: "<=", value: 20 } },
    { name: "real-lnd step: pay call -> ACCEPTED at the adapter (both LND, the channel, the stream)", value: round(lnd.p50, 2), unit: "ms", median: round(lnd.p50, 2), p99: round(lnd.p99, 2), samples: lnd.samples },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.table(await realLndBench());
  process.exit(0);
}
