// End-to-end event acknowledgements between a real MachineBridge (SQLite outbox) and the fleet (FleetLink, service,
// SQLite store) over the embedded aedes broker on a free port (each test its own broker, so no other fleet's
// retained `fleet/state` interferes): the machine deletes an event only when the fleet has committed it.
// - the in-memory broker restarted while the fleet has not re-subscribed yet: nothing is lost;
// - a fleet whose store fails on an event after the broker's PUBACK: the event arrives on resend;
// - an old fleet (no `acks` in fleet/state): delete on PUBACK, as before;
// - acks are batched per machine; a resend is stored once, with no gap and no alert;
// - a machine whose database was replaced (new installation id, boot and seqs from 1): taken as reinstalled.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { FleetLink, MachineBridge, migrateBridgeDb, startEmbeddedBroker, type EmbeddedBroker, type MachineBridgeOptions } from "@zapvend/mqtt-bridge";
import { parseFleetConfig, topics, type EventBody, type MqttMessage } from "@zapvend/protocol";
import { until } from "./__fixtures__/services.js";
import { silentLogger } from "./clock.js";
import { FleetService } from "./fleet-service.js";
import { FleetServer } from "./server.js";
import { num, SqliteDb } from "./store/db.js";
import { FleetStore, type ApplyOutcome } from "./store/fleet-store.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function sale(n: number): EventBody {
  return {
    type: "sale",
    orderId: `order-${String(n).padStart(6, "0")}`,
    slot: "A1",
    productName: "Cola",
    amountMsat: "21000",
    fiat: null,
    paymentHash: n.toString(16).padStart(64, "0"),
    hold: true,
    evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1200 },
    settledAt: Date.now(),
  };
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-acks-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function embeddedBroker(port?: number): Promise<EmbeddedBroker> {
  const b = await startEmbeddedBroker({ host: "127.0.0.1", port: port ?? 0 });
  if (port !== undefined) expect(b.port).toBe(port);
  return b;
}

function machine(url: string, machineId: string, outbox: MachineBridgeOptions["outbox"] = {}, db = new Database(":memory:")): MachineBridge {
  const applied = { slots: { A1: { enabled: true, price: { unit: "msat" as const, amountMsat: "21000" } } }, mode: "normal" as const };
  const bridge = new MachineBridge({
    machineId,
    mqtt: { url, telemetryIntervalMs: 60_000 },
    db,
    trustedKeys: [],
    birth: () => ({
      model: "acks-test",
      softwareVersion: "0.1.0",
      slots: [{ slot: "A1", name: "Cola", kind: "spiral", capacity: 1000, stock: 1000, price: { unit: "msat", amountMsat: "21000" }, enabled: true }],
      capabilities: { holdInvoices: true, paymentsBackend: "sim", board: "sim" },
      configVersions: { desired: 0, catalog: "x" },
    }),
    telemetry: () => ({ temperatureC: 6, door: "closed", payments: "up", hardware: "up", stock: [] }),
    onDesiredState: () => ({ status: "applied", ...applied }),
    appliedState: () => applied,
    commandHandlers: {},
    reconnect: { minDelayMs: 50, maxDelayMs: 200 },
    outbox,
  });
  cleanups.push(() => bridge.stop());
  return bridge;
}

/** The fleet as the server wires it (link -> service.push, acks on reconnect), on a store the test may subclass. */
async function fleet(url: string, o: { store?: FleetStore; eventAcks?: boolean; eventAckIntervalMs?: number; clientId?: string } = {}) {
  const store = o.store ?? new FleetStore(new SqliteDb(path.join(tempDir(), "fleet.db")));
  const link = new FleetLink({ mqtt: { url }, clientId: o.clientId ?? `acks-fleet-${Math.random().toString(16).slice(2)}`, eventAcks: o.eventAcks ?? true, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
  const service = new FleetService({ store, link, log: silentLogger, liveIntervalMs: 50, alertIntervalMs: 3_600_000, ...(o.eventAckIntervalMs ? { eventAckIntervalMs: o.eventAckIntervalMs } : {}) });
  await service.start();
  await link.start(
    (m) => service.push(m),
    () => void service.sendAcks(),
  );
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await link.stop();
    await service.stop();
    await store.close();
  };
  cleanups.push(stop);
  await until("fleet connected", () => link.connected);
  return { store, link, service, stop };
}

async function ledger(store: FleetStore, machineId: string): Promise<string[]> {
  const rows = await store.db.all("SELECT order_id FROM ledger WHERE machine_id = ? AND kind = 'sale' ORDER BY seq", [machineId]);
  return rows.map((r) => String(r.order_id));
}

async function eventSeqs(store: FleetStore, machineId: string): Promise<number[]> {
  return (await store.db.all("SELECT seq FROM events WHERE machine_id = ? ORDER BY seq", [machineId])).map((r) => num(r.seq));
}

/** Events stored once each, seqs 1..n with no gap, and no events-missing alert open. */
async function expectComplete(service: FleetService, machineId: string, n: number): Promise<void> {
  const orders = Array.from({ length: n }, (_, i) => `order-${String(i + 1).padStart(6, "0")}`);
  expect(await ledger(service.store, machineId)).toEqual(orders);
  expect(await eventSeqs(service.store, machineId)).toEqual(orders.map((_, i) => i + 1));
  expect((await service.store.getMachine(machineId))!.missingEvents).toBe(0);
  expect(await service.store.gaps(machineId)).toEqual([]);
  await service.tick(true);
  const alerts = await service.store.listAlerts({ includeCleared: true, machineId });
  expect(alerts.filter((a) => a.kind === "events-missing")).toEqual([]);
}

/** A plain subscriber counting what crosses the broker. */
async function spy(url: string, filter: string): Promise<Array<{ topic: string; payload: Record<string, unknown> }>> {
  const got: Array<{ topic: string; payload: Record<string, unknown> }> = [];
  const c = mqtt.connect(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  c.on("error", () => {});
  await new Promise<void>((resolve, reject) => (c.once("connect", () => resolve()), c.once("error", reject)));
  await c.subscribeAsync(filter, { qos: 1 });
  c.on("message", (topic, payload) => payload.length > 0 && got.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> }));
  cleanups.push(() => c.endAsync(true));
  return got;
}

describe("end-to-end event acknowledgements", () => {
  it("the embedded broker restarts and the machine flushes before the fleet re-subscribed: after the fleet returns every event is stored exactly once", async () => {
    const port = await freePort();
    let broker = await embeddedBroker(port);
    cleanups.push(() => broker.close());
    const dir = tempDir();
    const { privateKey } = generateKeyPairSync("ed25519");
    writeFileSync(path.join(dir, "key.pem"), privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    const cfg = parseFleetConfig({ http: { host: "127.0.0.1", port: 0 }, mqtt: { url: broker.url }, database: path.join(dir, "fleet.db"), operatorKey: { keyId: "op", privateKeyPath: path.join(dir, "key.pem") } });
    if (!cfg.ok) throw new Error(cfg.error.message);
    // The fleet reconnects slower than the machine (1.5 to 3 s), as in the chaos run that lost a sale.
    const server = new FleetServer({ config: cfg.value, log: silentLogger, linkOptions: { clientId: `acks-restart-${process.pid}`, clean: false, reconnect: { minDelayMs: 3_000, maxDelayMs: 3_000 } } });
    await server.start();
    cleanups.push(() => server.stop());
    await until("fleet connected", () => server.link.connected);

    const machineId = `ack-restart-${process.pid}`;
    // A long ack timeout: what brings the events back here is the fleet announcing itself online.
    const bridge = machine(broker.url, machineId, { ackTimeoutMs: 60_000, resendDelayMs: 200 });
    let connects = 0;
    bridge.on("connected", () => connects++);
    await bridge.start();
    await until("the fleet's acks: true seen", () => bridge.waitsForFleetAcks);
    for (const n of [1, 2, 3]) bridge.outbox.enqueue(sale(n));
    await until("3 sales stored and acknowledged", async () => (await ledger(server.service.store, machineId)).length === 3 && bridge.outbox.size() === 0);

    await broker.close();
    broker = await embeddedBroker(port);
    await until("machine reconnected to the new broker", () => connects === 2 && bridge.connected);
    for (const n of [4, 5, 6, 7, 8]) bridge.outbox.enqueue(sale(n));
    await until("the new broker took the 5 sales (PUBACK)", () => bridge.outbox.sentUnconfirmed().count === 5);
    // The scenario: the broker acknowledged them while no fleet was subscribed; they must still be kept.
    expect(server.link.connected).toBe(false);
    expect(bridge.outbox.size()).toBe(5);

    await until("every sale stored and acknowledged", async () => (await ledger(server.service.store, machineId)).length === 8 && bridge.outbox.size() === 0, 20_000);
    await expectComplete(server.service, machineId, 8);
    expect(bridge.counters.eventResends).toBeGreaterThanOrEqual(1);
  }, 40_000);

  it("a fleet whose store fails after the broker's PUBACK (before its commit) gets the event on resend", async () => {
    const broker = await embeddedBroker();
    cleanups.push(() => broker.close());
    /** A store that fails the writes of batches holding sale 1, twice (the batch, then its one-by-one retry). */
    class FailingStore extends FleetStore {
      failures = 2;
      override async applyBatch(items: ReadonlyArray<{ msg: MqttMessage; receivedAt: number }>): Promise<ApplyOutcome[]> {
        if (this.failures > 0 && items.some(({ msg }) => msg.topic.kind === "event" && (msg.payload as { orderId?: string }).orderId === "order-000001")) {
          this.failures--;
          throw new Error("disk I/O error (test)");
        }
        return super.applyBatch(items);
      }
    }
    const store = new FailingStore(new SqliteDb(path.join(tempDir(), "fleet.db")));
    const f = await fleet(broker.url, { store });
    const machineId = "ack-flaky-01";
    const db = new Database(":memory:");
    const bridge = machine(broker.url, machineId, { ackTimeoutMs: 300, ackTimeoutMaxMs: 600 }, db);
    await bridge.start();
    await until("the fleet's acks: true seen", () => bridge.waitsForFleetAcks);
    // The first event of the machine fails: the fleet's lowest stored seq is then 2, and its acks must not cover 1.
    db.transaction(() => [1, 2, 3].forEach((n) => bridge.outbox.enqueue(sale(n))))();
    await until("sales 2 and 3 acknowledged, sale 1 kept", () => store.failures === 0 && bridge.counters.eventsConfirmed >= 2, 10_000);
    await until("sale 1 resent, stored and acknowledged", async () => (await ledger(store, machineId)).length === 3 && bridge.outbox.size() === 0, 10_000);
    await expectComplete(f.service, machineId, 3);
    expect(f.service.stats.failed).toBeGreaterThanOrEqual(1);
    expect(bridge.counters.eventResends).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it("with an old fleet (no acks in fleet/state) a machine deletes an event on PUBACK, as before", async () => {
    const broker = await embeddedBroker();
    cleanups.push(() => broker.close());
    const acks = await spy(broker.url, "zapvend/v1/m/+/event-ack");
    const states = await spy(broker.url, topics.fleetState());
    const f = await fleet(broker.url, { eventAcks: false });
    const machineId = "ack-old-01";
    // This machine had seen a fleet with acks before (persisted): the old fleet's state turns that off.
    const db = new Database(":memory:");
    const bridge = machine(broker.url, machineId, { ackTimeoutMs: 300 }, db);
    bridge.outbox.open();
    db.prepare("INSERT INTO bridge_meta (key, value) VALUES ('fleet_acks', 1)").run();
    await bridge.start();
    expect(bridge.waitsForFleetAcks).toBe(true);
    await until("the old fleet's state seen", () => !bridge.waitsForFleetAcks);
    for (const n of [1, 2, 3]) bridge.outbox.enqueue(sale(n));
    await until("stored at the fleet", async () => (await ledger(f.store, machineId)).length === 3);
    await until("outbox empty", () => bridge.outbox.size() === 0);
    expect(states.length).toBeGreaterThan(0);
    for (const s of states) expect(s.payload).not.toHaveProperty("acks");
    // Nobody stores what follows (the fleet is gone): PUBACK is still the end of an event's way.
    await f.stop();
    for (const n of [4, 5]) bridge.outbox.enqueue(sale(n));
    await until("deleted after PUBACK", () => bridge.counters.eventsPublished === 5 && bridge.outbox.size() === 0);
    expect(acks).toEqual([]);
    expect(bridge.counters.eventsConfirmed).toBe(0);
  }, 30_000);

  it("acks are batched per machine: a few acks for hundreds of events, each after the commit", async () => {
    const broker = await embeddedBroker();
    cleanups.push(() => broker.close());
    const machineId = "ack-batch-01";
    const acks = await spy(broker.url, topics.eventAck(machineId));
    const f = await fleet(broker.url);
    const db = new Database(":memory:");
    const bridge = machine(broker.url, machineId, { ackTimeoutMs: 30_000 }, db);
    await bridge.start();
    await until("the fleet's acks: true seen", () => bridge.waitsForFleetAcks);
    const N = 400;
    for (let k = 0; k < 4; k++) {
      db.transaction(() => {
        for (let n = k * 100 + 1; n <= k * 100 + 100; n++) bridge.outbox.enqueue(sale(n));
      })();
    }
    await until("every event acknowledged", () => bridge.outbox.size() === 0 && bridge.counters.eventsConfirmed === N, 20_000);
    await until("acks seen by the spy", () => acks.length === f.service.ackStats.published);
    expect(await ledger(f.store, machineId)).toHaveLength(N);
    // At most one ack per machine per 250 ms: hundreds of events, a handful of acks.
    expect(acks.length).toBeGreaterThanOrEqual(1);
    expect(acks.length).toBeLessThanOrEqual(10);
    const ups = acks.map((a) => a.payload.upTo as number);
    expect(ups).toEqual([...ups].sort((a, b) => a - b));
    expect(acks.at(-1)!.payload).toMatchObject({ from: 1, upTo: N });
    expect(f.service.ackStats.failed).toBe(0);
  }, 30_000);

  it("a machine whose database was replaced (new installation, boot 1 after 57) with acks on: every event stored, the console shows the new machine", async () => {
    const broker = await embeddedBroker();
    cleanups.push(() => broker.close());
    const machineId = "ack-reinstall-01";
    const acks = await spy(broker.url, topics.eventAck(machineId));
    const f = await fleet(broker.url);
    // The first installation, at its 57th start.
    const db1 = new Database(":memory:");
    migrateBridgeDb(db1);
    db1.prepare("INSERT INTO bridge_meta (key, value) VALUES ('boot', 56)").run();
    const first = machine(broker.url, machineId, { ackTimeoutMs: 300 }, db1);
    await first.start();
    expect(first.boot).toBe(57);
    await until("the fleet's acks: true seen", () => first.waitsForFleetAcks);
    for (const n of [1, 2, 3, 4, 5]) first.outbox.enqueue(sale(n));
    await until("5 sales stored and acknowledged", async () => (await ledger(f.store, machineId)).length === 5 && first.outbox.size() === 0);
    await first.stop();
    await until("offline at boot 57", async () => (await f.store.getMachine(machineId))?.status === "offline");
    expect((await f.store.getMachine(machineId))!.stock[0]!.stock).toBe(995);

    // The SD card is replaced: a new database, so boot 1, seqs from 1 and a new installation id.
    const second = machine(broker.url, machineId, { ackTimeoutMs: 300, ackTimeoutMaxMs: 600 });
    await second.start();
    expect(second.boot).toBe(1);
    expect(second.install).not.toBe(first.install);
    await until("the reinstalled machine online at boot 1", async () => {
      const m = await f.store.getMachine(machineId);
      return m?.status === "online" && m.boot === 1 && m.stock[0]!.stock === 1000;
    });
    // The old installation's will, delivered late (boot 57 > 1): ignored. A probe from the same client follows it,
    // so once the probe is stored the will was applied before it.
    const raw = mqtt.connect(broker.url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
    raw.on("error", () => {});
    cleanups.push(() => raw.endAsync(true));
    await new Promise<void>((resolve) => raw.once("connect", () => resolve()));
    const env = { v: 1, ts: Date.now(), seq: 0 };
    await raw.publishAsync(topics.status(machineId), JSON.stringify({ ...env, id: "late-will-0001", boot: 57, install: first.install, state: "lost" }), { qos: 1 });
    await raw.publishAsync(topics.status("ack-probe-01"), JSON.stringify({ ...env, id: "probe-0001", boot: 1, state: "online" }), { qos: 1 });
    await until("probe stored", async () => (await f.store.getMachine("ack-probe-01")) !== null);
    expect((await f.store.getMachine(machineId))!.status).toBe("online");

    const acksBefore = acks.length;
    for (const n of [6, 7, 8]) second.outbox.enqueue(sale(n));
    await until("the 3 new sales stored and acknowledged", async () => (await ledger(f.store, machineId)).length === 8 && second.outbox.size() === 0, 10_000);
    expect(await eventSeqs(f.store, machineId)).toEqual([1, 1, 2, 2, 3, 3, 4, 5]);
    expect(second.counters.eventsConfirmed).toBe(3);
    // What GET /api/machines shows.
    const m = (await f.store.listMachines()).find((x) => x.id === machineId)!;
    expect(m).toMatchObject({ status: "online", boot: 1, missingEvents: 0 });
    expect(m.stock[0]!.stock).toBe(997);
    expect(await f.store.gaps(machineId)).toEqual([]);
    // Every ack names the installation it counts; the new one's never reach past its own seqs.
    expect(acks.slice(0, acksBefore).every((a) => a.payload.install === first.install)).toBe(true);
    const newAcks = acks.slice(acksBefore);
    expect(newAcks.length).toBeGreaterThan(0);
    for (const a of newAcks) expect(a.payload).toMatchObject({ install: second.install, from: 1 });
    expect(Math.max(...newAcks.map((a) => a.payload.upTo as number))).toBe(3);
  }, 30_000);

  it("a resent event is stored once: no second ledger row, no gap, no alert", async () => {
    const broker = await embeddedBroker();
    cleanups.push(() => broker.close());
    // Slow acks (2 s) against a short machine ack timeout (300 ms): the machine resends what the fleet already has.
    const f = await fleet(broker.url, { eventAckIntervalMs: 2_000 });
    const machineId = "ack-dup-01";
    const bridge = machine(broker.url, machineId, { ackTimeoutMs: 300, ackTimeoutMaxMs: 300 });
    await bridge.start();
    await until("the fleet's acks: true seen", () => bridge.waitsForFleetAcks);
    bridge.outbox.enqueue(sale(1));
    await until("first ack at once", () => bridge.outbox.size() === 0);
    for (const n of [2, 3, 4]) bridge.outbox.enqueue(sale(n));
    await until("duplicates reached the fleet", () => f.service.stats.duplicates >= 3, 10_000);
    await until("acknowledged", () => bridge.outbox.size() === 0, 10_000);
    await expectComplete(f.service, machineId, 4);
    expect((await f.store.getMachine(machineId))!.stock.find((s) => s.slot === "A1")!.stock).toBe(996);
  }, 30_000);
});

describe("event ack batching (service, manual clock, recording link)", () => {
  it("one ack per machine right after the first commit, then at most one per interval; link down holds them; a redelivery is acked again", async () => {
    const { RecordingLink } = await import("./__fixtures__/recording-link.js");
    const { event } = await import("./__fixtures__/messages.js");
    let now = 1_000_000;
    const timers: Array<{ at: number; fn: () => void }> = [];
    const clock = {
      now: () => now,
      setInterval: () => 0,
      clearInterval: () => {},
      setTimeout: (fn: () => void, ms: number) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        return t;
      },
      clearTimeout: (h: unknown) => {
        const i = timers.indexOf(h as (typeof timers)[number]);
        if (i >= 0) timers.splice(i, 1);
      },
    };
    const advance = async (ms: number) => {
      now += ms;
      for (const t of timers.filter((x) => x.at <= now)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
      await service.sendAcks(); // joins the run a timer started
    };
    const store = new FleetStore(new SqliteDb(path.join(tempDir(), "fleet.db")));
    const link = new RecordingLink();
    const service = new FleetService({ store, link, clock, log: silentLogger, eventAckIntervalMs: 250 });
    await service.start();
    cleanups.push(async () => {
      await service.stop();
      await store.close();
    });
    const door = (m: string, seq: number, id?: string) => event(m, "door", { seq, body: { open: false }, ...(id ? { id } : {}) });
    const acksOf = (m: string) => link.acks.filter((a) => a.topic === topics.eventAck(m)).map((a) => a.payload);

    // First commit: one ack per machine at once, whatever the number of events.
    await service.ingest([door("m-a", 1), door("m-a", 2), door("m-b", 1), door("m-a", 3)]);
    await service.sendAcks();
    expect(acksOf("m-a")).toMatchObject([{ from: 1, upTo: 3 }]);
    expect(acksOf("m-b")).toMatchObject([{ from: 1, upTo: 1 }]);
    expect(acksOf("m-a")[0]).not.toHaveProperty("seqs");

    // Within the interval: no ack yet; beyond a gap, the seqs are listed.
    await service.ingest([door("m-a", 4, "door-m-a-0004")]);
    await service.ingest([door("m-a", 6), door("m-a", 7)]);
    await service.sendAcks();
    expect(acksOf("m-a")).toHaveLength(1);
    await advance(250);
    expect(acksOf("m-a")).toHaveLength(2);
    expect(acksOf("m-a")[1]).toMatchObject({ from: 1, upTo: 4, seqs: [6, 7] });
    expect(acksOf("m-b")).toHaveLength(1); // nothing new for m-b, no ack

    // A redelivery (the machine resent it) is acknowledged again; the link down holds the ack until it is back.
    link.connected = false;
    await advance(300);
    await service.ingest([door("m-a", 4, "door-m-a-0004")]);
    await advance(300);
    expect(acksOf("m-a")).toHaveLength(2);
    link.connected = true;
    await advance(300);
    expect(acksOf("m-a")).toHaveLength(3);
    expect(acksOf("m-a")[2]).toMatchObject({ from: 1, upTo: 4 });
    expect(service.ackStats).toEqual({ published: 4, failed: 0 });
  });

  it("a reinstalled machine: the ack names the new installation and covers only its events, not the old 1..N", async () => {
    const { RecordingLink } = await import("./__fixtures__/recording-link.js");
    const { birth, event } = await import("./__fixtures__/messages.js");
    const lines: Array<{ msg: string; fields: Record<string, unknown> | undefined }> = [];
    const clock = { now: () => 5_000_000, setInterval: () => 0, clearInterval: () => {}, setTimeout: () => 0, clearTimeout: () => {} };
    const store = new FleetStore(new SqliteDb(path.join(tempDir(), "fleet.db")));
    const link = new RecordingLink();
    // Interval 0: every commit is acknowledged at once.
    const service = new FleetService({ store, link, clock, log: (_ns, msg, fields) => lines.push({ msg, fields }), eventAckIntervalMs: 0 });
    await service.start();
    cleanups.push(async () => {
      await service.stop();
      await store.close();
    });
    const OLD = 1_111;
    const NEW = 2_222;
    const door = (machineId: string, seq: number, install?: number) => event(machineId, "door", { seq, body: { open: false, ...(install ? { install } : {}) } });
    const withInstall = (msg: MqttMessage, install: number): MqttMessage => ({ ...msg, payload: { ...msg.payload, install } }) as MqttMessage;
    const acks = () => link.acks.filter((a) => a.topic === topics.eventAck("m-r")).map((a) => a.payload);

    await service.ingest([withInstall(birth("m-r", { boot: 57 }), OLD), ...[1, 2, 3, 4, 5].map((seq) => door("m-r", seq, OLD))]);
    await service.sendAcks();
    expect(acks()).toEqual([expect.objectContaining({ from: 1, upTo: 5, install: OLD })]);

    // Reinstalled: new events 1, 2 and 4 (3 not here yet) and a late one of the old installation.
    await service.ingest([withInstall(birth("m-r", { boot: 1 }), NEW), door("m-r", 1, NEW), door("m-r", 2, NEW), door("m-r", 4, NEW), door("m-r", 6, OLD)]);
    await service.sendAcks();
    expect(acks()).toHaveLength(2);
    expect(acks()[1]).toMatchObject({ from: 1, upTo: 2, seqs: [4], install: NEW });
    expect(lines.filter((l) => l.msg.startsWith("machine reinstalled"))).toEqual([
      { msg: "machine reinstalled: m-r", fields: expect.objectContaining({ level: "info", machineId: "m-r", install: NEW, previousInstall: OLD, boot: 1 }) },
    ]);
    // Only an event of the old installation: nothing is acknowledged to the new one.
    await service.ingest([door("m-r", 7, OLD)]);
    await service.sendAcks();
    expect(acks()).toHaveLength(2);
    await service.ingest([door("m-r", 3, NEW)]);
    await service.sendAcks();
    expect(acks()[2]).toMatchObject({ from: 1, upTo: 4, install: NEW });
    // A machine that sends no installation id is acknowledged as before, without one.
    await service.ingest([door("m-plain", 1)]);
    await service.sendAcks();
    expect(link.acks.at(-1)).toMatchObject({ topic: topics.eventAck("m-plain"), payload: { from: 1, upTo: 1 } });
    expect(link.acks.at(-1)!.payload).not.toHaveProperty("install");
  });
});
