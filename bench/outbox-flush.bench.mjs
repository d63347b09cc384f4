// Outbox flush after an outage: 100,000 events stored while the broker was unreachable (the machine keeps selling),
// then flushed to a real Mosquitto at QoS 1 (in order, each row deleted after its PUBACK) while a fleet-like
// subscriber receives them. Goal (issue 8): >= 5,000 events/s, with the machine's memory bounded however big the
// outbox grew. Baseline in the same run: raw mqtt.js QoS 1 publishing of the same payloads with the same window
// and no SQLite (the transport's ceiling), so the ratio shows what the outbox costs.
// A second figure, flush to fleet ack: with a fleet that acknowledges events end to end (fleet/state `acks: true`) a
// row is deleted only when the fleet's store has committed it and its `event-ack` came back; here the real fleet
// (FleetLink + FleetService on SQLite) ingests the same outbox through the same Mosquitto. The rows above stay the
// broker-PUBACK flow (no fleet announced acks), so they compare with the figures from before acks existed.
// Mosquitto: spawned on a free loopback port from /usr/sbin/mosquitto (or ZAPVEND_BENCH_MOSQUITTO).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { FleetLink, MachineBridge, outboxPayload } from "@zapvend/mqtt-bridge";
import { FleetService, FleetStore, SqliteDb } from "@zapvend/fleet";
import { topics } from "@zapvend/protocol";

const EVENTS = Number(process.env.ZAPVEND_BENCH_OUTBOX_EVENTS ?? 100_000);
const WINDOW = 256;
const GOAL_PER_S = 5_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startMosquitto(dir) {
  const bin = [process.env.ZAPVEND_BENCH_MOSQUITTO, "/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => p && existsSync(p));
  if (!bin) throw new Error("outbox-flush bench: mosquitto is not installed (Debian package `mosquitto`)");
  const port = await freePort();
  const conf = path.join(dir, "mosquitto.conf");
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, "allow_anonymous true", "max_inflight_messages 1000", "max_queued_messages 0", ""].join("\n"));
  const proc = spawn(bin, ["-c", conf], { stdio: "ignore" });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => (c.destroy(), r(true)));
      c.once("error", () => r(false));
    });
    if (ok) return { proc, url: `mqtt://127.0.0.1:${port}` };
    await new Promise((r) => setTimeout(r, 25));
  }
  proc.kill();
  throw new Error("mosquitto did not start");
}

function sale(n) {
  return {
    type: "sale", orderId: `order-${String(n).padStart(7, "0")}`, slot: "A1", productName: "Cola", amountMsat: "1500000",
    fiat: { currency: "EUR", amountMinor: 150 }, paymentHash: n.toString(16).padStart(64, "0"), hold: true,
    evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1500 }, settledAt: 1_763_600_000_000 + n,
  };
}

async function subscriber(url, filter) {
  const client = mqtt.connect(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  await new Promise((res, rej) => (client.once("connect", res), client.once("error", rej)));
  await client.subscribeAsync(filter, { qos: 1 });
  const state = { count: 0, client };
  client.on("message", () => state.count++);
  return state;
}

const mb = (b) => Math.round((b / 2 ** 20) * 10) / 10;

/** Machine side of the flush, measured in this process: bridge + SQLite (WAL, synchronous FULL, as the controller). */
async function outboxFlush(url, dir, EVENTS, o = {}) {
  const db = new Database(path.join(dir, `machine-${EVENTS}.db`));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  const machineId = "bench-01";
  const bridge = new MachineBridge({
    machineId, mqtt: { url, telemetryIntervalMs: 3_600_000 }, db, trustedKeys: [],
    birth: () => ({ model: "bench", softwareVersion: "0", slots: [], capabilities: { holdInvoices: true, paymentsBackend: "sim", board: "sim" }, configVersions: { desired: 0, catalog: "x" } }),
    telemetry: () => ({ temperatureC: null, door: "closed", payments: "up", hardware: "up", stock: [] }),
    onDesiredState: () => ({ status: "applied", slots: {}, mode: "normal" }), appliedState: () => ({ slots: {}, mode: "normal" }),
    commandHandlers: {}, outbox: { maxInFlight: WINDOW },
  });
  // The outage: sales go on, one transaction each (as the controller writes them), broker not connected.
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const tx = db.transaction((n) => bridge.outbox.enqueue(sale(n)));
  // synchronous=FULL fsyncs each commit; batch 100 sales per transaction for the fill only, to keep the bench short.
  const fill = db.transaction((from) => { for (let n = from; n < from + 100 && n <= EVENTS; n++) bridge.outbox.enqueue(sale(n)); });
  tx(1);
  for (let n = 2; n <= EVENTS; n += 100) fill(n);
  globalThis.gc?.();
  const heapAfterFill = process.memoryUsage().heapUsed;
  const fleet = o.fleetAcks ? await realFleet(url, dir) : await subscriber(url, topics.machineFilter(machineId).replace("/#", "/event/#"));
  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  await bridge.start();
  if (o.fleetAcks) {
    // Done when every row is gone: stored by the fleet, acknowledged, deleted.
    while (bridge.counters.eventsConfirmed < EVENTS || bridge.outbox.size() > 0) await new Promise((r) => setTimeout(r, 5));
  } else {
    while (bridge.counters.eventsPublished < EVENTS || fleet.count < EVENTS) await new Promise((r) => setTimeout(r, 5));
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  if (o.fleetAcks && !bridge.waitsForFleetAcks) throw new Error("the machine did not wait for the fleet's acks");
  await bridge.stop();
  const left = bridge.outbox.size();
  const stats = o.fleetAcks ? { acks: fleet.service.ackStats.published, resends: bridge.counters.eventResends, stored: fleet.service.stats.applied } : {};
  if (o.fleetAcks) await fleet.stop();
  else await fleet.client.endAsync(true);
  db.close();
  if (left !== 0) throw new Error(`outbox not empty after the flush: ${left}`);
  return { perS: EVENTS / seconds, rssGrowthMb: mb(peakRss - rssBefore), heapFillMb: mb(heapAfterFill - heapBefore), ...stats };
}

/** The fleet as zapvend-fleet wires it (FleetLink announcing acks, FleetService on SQLite), connected. */
async function realFleet(url, dir) {
  const store = new FleetStore(new SqliteDb(path.join(dir, "fleet.db")));
  const link = new FleetLink({ mqtt: { url }, clientId: "bench-fleet", clean: true });
  const service = new FleetService({ store, link, alertIntervalMs: 3_600_000 });
  await service.start();
  await link.start((m) => service.push(m), () => void service.sendAcks());
  while (!link.connected) await new Promise((r) => setTimeout(r, 5));
  return {
    service,
    async stop() {
      await link.stop();
      await service.stop();
      await store.close();
    },
  };
}

/** Baseline: the same payload bytes through mqtt.js at QoS 1 with the same window, no SQLite. */
async function rawPublish(url) {
  const client = mqtt.connect(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  await new Promise((res, rej) => (client.once("connect", res), client.once("error", rej)));
  client.stream.setNoDelay(true);
  const fleet = await subscriber(url, "zapvend/v1/m/raw-01/event/#");
  const topic = topics.event("raw-01", "sale");
  const t0 = performance.now();
  let sent = 0;
  let acked = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < EVENTS && sent - acked < WINDOW) {
        sent++;
        const body = JSON.stringify(sale(sent));
        const payload = outboxPayload({ seq: sent, id: `00000000-0000-4000-8000-${String(sent).padStart(12, "0")}`, type: "sale", ts: Date.now(), boot: 1, body });
        client.publish(topic, payload, { qos: 1 }, () => {
          acked++;
          if (acked === EVENTS) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  while (fleet.count < EVENTS) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - t0) / 1000;
  await client.endAsync(true);
  await fleet.client.endAsync(true);
  return EVENTS / seconds;
}

export default async function outboxFlushBench() {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-outbox-bench-"));
  const broker = await startMosquitto(dir);
  try {
    const raw = await rawPublish(broker.url);
    // Memory bounded: the flush of 10x fewer events, as a baseline for the peak RSS growth.
    const small = await outboxFlush(broker.url, dir, Math.round(EVENTS / 10));
    const r = await outboxFlush(broker.url, dir, EVENTS);
    // Last: it leaves the fleet's retained state (acks: true) on this broker.
    const e2e = await outboxFlush(broker.url, dir, EVENTS, { fleetAcks: true });
    return [
      { name: "outbox-flush-events-per-s", label: `outbox flush of ${EVENTS} events to Mosquitto (QoS 1, delete after PUBACK)`, value: Math.round(r.perS), unit: "events/s", samples: 1, goal: { op: ">=", value: GOAL_PER_S } },
      { name: "outbox flush vs raw mqtt.js QoS 1 publish (same window, no SQLite)", value: Math.round(r.perS), unit: "events/s", baseline: Math.round(raw), ratio: Math.round((r.perS / raw) * 100) / 100 },
      { name: `machine RSS growth, peak during the flush of ${EVENTS} stored events (bounded: window ${WINDOW}, 512 rows read ahead)`, value: r.rssGrowthMb, unit: "MB", baseline: small.rssGrowthMb, ratio: small.rssGrowthMb > 0 ? Math.round((r.rssGrowthMb / small.rssGrowthMb) * 100) / 100 : undefined },
      { name: `machine JS heap growth while ${EVENTS} events were stored (outage)`, value: r.heapFillMb, unit: "MB" },
      {
        name: "outbox-flush-to-fleet-ack-events-per-s",
        label: `outbox flush of ${EVENTS} events until the fleet acknowledged them (FleetService on SQLite in this process; each row deleted on the fleet's event-ack; baseline: the PUBACK flow above)`,
        value: Math.round(e2e.perS), unit: "events/s", samples: 1, baseline: Math.round(r.perS), ratio: Math.round((e2e.perS / r.perS) * 100) / 100,
        acks: e2e.acks, resends: e2e.resends, stored: e2e.stored, goal: { op: ">=", value: GOAL_PER_S },
      },
    ];
  } finally {
    broker.proc.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}
