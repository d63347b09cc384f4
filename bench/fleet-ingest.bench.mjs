// Fleet ingest: how many MQTT messages per second the fleet validates (protocol's parseMqttMessage), dedupes
// and stores in SQLite, how fast a sale reaches a console's WebSocket under load, and the memory it takes.
// The load is the fleet: 10,000 machines, telemetry every 30 s and a sale every 3 minutes each (6
// telemetry per sale), with 5 % of the sales redelivered (QoS 1 duplicates that must be stored once).
// Baseline, in the same run: the same messages applied one per transaction (no batching).
// With a broker at ZAPVEND_BENCH_MQTT_URL (or 127.0.0.1:1883) it also measures the path through the broker.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseMqttMessage, topics } from "@zapvend/protocol";
import { FleetHttpServer, FleetService, FleetStore, SqliteDb } from "@zapvend/fleet";
import { FleetLink } from "@zapvend/mqtt-bridge";
import mqtt from "mqtt";
import WebSocket from "ws";

const MACHINES = Number(process.env.ZAPVEND_BENCH_MACHINES ?? 10_000);
// Recent timestamps, so that no alert (no sales for hours) fires for the whole simulated fleet during the run.
const T0 = Date.now() - 3_600_000;
const hashOf = (s) => createHash("sha256").update(s).digest("hex");

function machineId(i) {
  return `vm-${String(i).padStart(5, "0")}`;
}

/** Raw (topic, JSON text) messages as the broker would deliver them. */
function births() {
  const out = [];
  for (let i = 0; i < MACHINES; i++) {
    const id = machineId(i);
    out.push([topics.birth(id), JSON.stringify({
      v: 1, id: `birth-${id}-1`, ts: T0, boot: 1, seq: 0, model: "bench", softwareVersion: "0.1.0",
      slots: ["A1", "A2", "A3", "A4"].map((slot) => ({ slot, name: `P ${slot}`, kind: "spiral", capacity: 10, stock: 10, price: { unit: "msat", amountMsat: "1500000" }, enabled: true })),
      capabilities: { holdInvoices: true, paymentsBackend: "sim", board: "sim" }, configVersions: { desired: 0, catalog: "x" },
    })]);
    out.push([topics.status(id), JSON.stringify({ v: 1, id: `status-${id}-1`, ts: T0, boot: 1, seq: 1, state: "online" })]);
  }
  return out;
}

/** `rounds` rounds of: every machine sends one telemetry, every sixth machine one sale (5 % sent twice). */
function traffic(rounds, startRound = 0) {
  const out = [];
  let sales = 0;
  for (let r = startRound; r < startRound + rounds; r++) {
    for (let i = 0; i < MACHINES; i++) {
      const id = machineId(i);
      const ts = T0 + r * 30_000 + i;
      out.push([topics.telemetry(id), JSON.stringify({ v: 1, id: `tel-${id}-${r}`, ts, boot: 1, seq: r, temperatureC: 5 + (i % 5), door: "closed", payments: "up", hardware: "up", uptimeMs: r * 30_000, rssMb: 80, stock: [] })]);
      if ((i + r) % 6 === 0) {
        const eid = `sale-${id}-${r}`;
        const sale = JSON.stringify({
          v: 1, id: eid, ts: ts + 1, boot: 1, seq: r, type: "sale", orderId: `ord-${id}-${r}`, slot: "A1", productName: "P A1",
          amountMsat: "1500000", fiat: { currency: "EUR", amountMinor: 150 }, paymentHash: hashOf(eid), hold: true,
          evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1500 }, settledAt: ts + 1,
        });
        out.push([topics.event(id, "sale"), sale]);
        sales++;
        if (sales % 20 === 0) out.push([topics.event(id, "sale"), sale]);
      }
    }
  }
  return out;
}

async function openFleet(dir, opts = {}) {
  const store = new FleetStore(new SqliteDb(path.join(dir, `fleet-${Math.random().toString(36).slice(2)}.db`)));
  const service = new FleetService({ store, liveIntervalMs: 250, alertIntervalMs: 3_600_000, ...opts });
  await service.start();
  return service;
}

function parseAll(raw) {
  const out = [];
  for (const [t, p] of raw) {
    const r = parseMqttMessage(t, p);
    if (!r.ok) throw new Error(`bench message refused: ${r.error.message}`);
    out.push(r.value);
  }
  return out;
}

/**
 * Validate + store `raw` through the service's queue; returns messages per second of wall-clock time, and per second
 * of this process's CPU time (user + system, all its threads): the latter moves much less when other work shares the
 * machine's cores.
 */
async function ingestRate(service, raw) {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (const [t, p] of raw) {
    const r = parseMqttMessage(t, p);
    if (r.ok) service.push(r.value);
  }
  await service.drained();
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { rate: raw.length / s, perCpuS: raw.length / ((used.user + used.system) / 1e6) };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function brokerUp(url) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 1883) });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

export default async function fleetIngestBench() {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-bench-fleet-"));
  const rows = [];
  try {
    const boot = births();
    // Three measured runs, each on a fresh database holding the fleet's births, after one warm-up run.
    const batched = [];
    const batchedCpu = [];
    let dupCheck = null;
    const phase = (name) => console.error(`bench: fleet-ingest: ${name} (${Math.round(process.uptime())} s)`);
    phase("batched ingest");
    for (let run = 0; run < 4; run++) {
      const service = await openFleet(dir);
      await service.ingest(parseAll(boot));
      const raw = traffic(6, 1);
      const { rate, perCpuS } = await ingestRate(service, raw);
      if (run > 0) batched.push(rate);
      if (run > 0) batchedCpu.push(perCpuS);
      if (run === 3) {
        const n = (await service.store.db.all("SELECT COUNT(*) AS n FROM ledger"))[0].n;
        const sent = raw.filter(([t]) => t.endsWith("/event/sale")).length;
        dupCheck = { stored: Number(n), sent, duplicates: service.stats.duplicates };
      }
      await service.stop();
      await service.store.close();
    }
    // Baseline: one transaction per message, on a smaller slice (it is much slower).
    phase("baseline");
    const single = [];
    for (let run = 0; run < 3; run++) {
      const service = await openFleet(dir, { maxBatch: 1 });
      await service.ingest(parseAll(boot));
      const raw = traffic(1, 1);
      const start = process.hrtime.bigint();
      for (const [t, p] of raw) {
        const r = parseMqttMessage(t, p);
        if (r.ok) await service.ingest([r.value]);
      }
      single.push(raw.length / (Number(process.hrtime.bigint() - start) / 1e9));
      await service.stop();
      await service.store.close();
    }
    const b = median(batched);
    const base = median(single);
    rows.push({ name: "fleet-ingest-events-per-s", label: `fleet ingest into SQLite, ${MACHINES} machines, validated + deduplicated (baseline: one transaction per message)`, value: Math.round(b), unit: "msg/s", median: Math.round(b), spread: Math.round(Math.max(...batched) - Math.min(...batched)), samples: batched.length, baseline: Math.round(base), ratio: Number((b / base).toFixed(2)), goal: { op: ">=", value: 20_000 } });
    const c = median(batchedCpu);
    rows.push({ name: "fleet ingest per CPU-second (same runs; msg / (user + system CPU s) of the process, less sensitive to a shared machine)", value: Math.round(c), unit: "msg/cpu-s", median: Math.round(c), spread: Math.round(Math.max(...batchedCpu) - Math.min(...batchedCpu)), samples: batchedCpu.length });
    rows.push({ name: "fleet ingest: sales stored once despite redeliveries", value: dupCheck.stored, unit: "rows", baseline: dupCheck.sent - dupCheck.duplicates, ratio: dupCheck.stored === dupCheck.sent - dupCheck.duplicates ? 1 : 0 });

    // Live latency: a console on the WebSocket while 20,000 msg/s arrive for 5 s; time from a sale's arrival at
    // the fleet to its push on the socket.
    phase("live latency");
    const raw = traffic(10, 100);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const service = await openFleet(dir);
    await service.ingest(parseAll(boot));
    const http = new FleetHttpServer({ service, port: 0 });
    await http.start();
    // The console's socket needs credentials since issue #15: a viewer token (checked once, at the upgrade).
    const { secret } = await http.auth.createToken("bench-console", "viewer", { actor: "bench", address: null });
    const ws = new WebSocket(http.url.replace("http", "ws") + "/ws", { perMessageDeflate: false, headers: { authorization: `Bearer ${secret}` } });
    const pushedAt = new Map();
    const latencies = [];
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === "sale") {
        const t = pushedAt.get(m.sale.eventId);
        if (t !== undefined) latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    });
    await new Promise((r) => ws.once("open", r));
    const perTick = 200;
    const tickMs = 10;
    let peakRss = process.memoryUsage().rss;
    let i = 0;
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        for (let k = 0; k < perTick && i < raw.length; k++, i++) {
          const [t, p] = raw[i];
          const r = parseMqttMessage(t, p);
          if (!r.ok) continue;
          if (r.value.topic.kind === "event") pushedAt.set(r.value.payload.id, process.hrtime.bigint());
          service.push(r.value);
        }
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (i >= raw.length || i >= 100_000) {
          clearInterval(timer);
          resolve();
        }
      }, tickMs);
    });
    await service.drained();
    await new Promise((r) => setTimeout(r, 500));
    rows.push({ name: "fleet-console-live-p99-ms", label: "console live update (sale -> WebSocket) at ~20,000 msg/s, p99", value: Number(pct(latencies, 99).toFixed(1)), unit: "ms", median: Number(median(latencies).toFixed(1)), spread: Number((pct(latencies, 95) - pct(latencies, 5)).toFixed(1)), samples: latencies.length, goal: { op: "<=", value: 1000 } });
    rows.push({ name: "fleet-memory-mb", label: "fleet memory under load (peak RSS growth of the bench process once the load was generated)", value: Math.round((peakRss - rssBefore) / 2 ** 20), unit: "MB", goal: { op: "<=", value: 400 } });
    rows.push({ name: "bench process peak RSS (fleet + generator + its 100k prepared messages)", value: Math.round(peakRss / 2 ** 20), unit: "MB" });
    ws.close();
    await http.stop();
    await service.stop();
    await service.store.close();

    // Through a real broker: one publisher connection per 1,000 machines, QoS 1 events and QoS 0 telemetry.
    const brokerUrl = process.env.ZAPVEND_BENCH_MQTT_URL ?? "mqtt://127.0.0.1:1883";
    phase("through the broker");
    if (await brokerUp(brokerUrl)) {
      const svc = await openFleet(dir);
      await svc.ingest(parseAll(boot));
      const link = new FleetLink({ mqtt: { url: brokerUrl }, clientId: `zapvend-bench-fleet-${process.pid}`, clean: true });
      await link.start((m) => svc.push(m));
      while (!link.connected) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      const load = traffic(2, 200);
      const pubs = await Promise.all(
        Array.from({ length: 10 }, (_, k) => new Promise((resolve) => {
          const c = mqtt.connect(brokerUrl, { protocolVersion: 4, clientId: `zapvend-bench-gen-${process.pid}-${k}` });
          c.once("connect", () => resolve(c));
        })),
      );
      const before = svc.stats.received;
      const start = process.hrtime.bigint();
      let n = 0;
      for (const [t, p] of load) {
        const c = pubs[n++ % pubs.length];
        c.publish(t, p, { qos: t.includes("/event/") ? 1 : 0 });
      }
      const deadline = Date.now() + 60_000;
      while (svc.stats.received - before < load.length * 0.99 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await svc.drained();
      const got = svc.stats.received - before;
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      rows.push({ name: `fleet ingest through the broker (${brokerUrl}), 10 publisher connections`, value: Math.round(got / s), unit: "msg/s", delivered: `${got}/${load.length}` });
      await Promise.all(pubs.map((c) => new Promise((r) => c.end(false, {}, r))));
      await link.stop();
      await svc.stop();
      await svc.store.close();
    } else {
      rows.push({ name: `fleet ingest through a broker: skipped, nothing at ${brokerUrl}`, value: null, unit: "msg/s" });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && process.argv[1].endsWith("fleet-ingest.bench.mjs")) {
  const rows = await fleetIngestBench();
  console.table(rows);
  writeFileSync(path.join(tmpdir(), "fleet-ingest-bench.json"), JSON.stringify(rows, null, 2));
}
