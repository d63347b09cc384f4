// Integration on a real Mosquitto: a broker restart in the middle of a flush, an outage with sales going on, and a
// machine killed with SIGKILL. A fleet-like subscriber with a persistent session (clean: false, QoS 1) dedupes by
// event id, as the fleet's ingest does.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { topics } from "@zapvend/protocol";
import type { Clock } from "./clock.js";
import { MachineBridge } from "./machine-bridge.js";
import { Mosquitto } from "./__fixtures__/mosquitto.js";
import { Recorder, until } from "./__fixtures__/subscriber.js";
import { bridgeOptions, memoryDb, operatorKey, saleBody } from "./__fixtures__/machine.js";

let broker: Mosquitto;
const cleanups: Array<() => Promise<void>> = [];
beforeAll(async () => {
  broker = await new Mosquitto({ persistence: true }).start();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  // A test that failed during its outage must not leave the next one without a broker.
  if (!broker.running) await broker.start();
});
afterAll(async () => {
  await broker.dispose();
});

/**
 * Machine time that the test moves forward by hand, with real timers underneath (the broker and the sockets are
 * real, so reconnect delays are real but short). It lets five minutes of sales happen in a second of wall time.
 */
function steppedClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  };
}

interface EventSeen {
  id: string;
  seq: number;
  orderId: string;
  ts: number;
}

/** What a deduping fleet ingest keeps: the first copy of each id, in arrival order. */
function dedupe(rec: Recorder, machineId: string): { unique: EventSeen[]; copies: number } {
  const seen = new Set<string>();
  const unique: EventSeen[] = [];
  const all = rec.json<EventSeen>(topics.event(machineId, "sale"));
  for (const e of all) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    unique.push(e);
  }
  return { unique, copies: all.length };
}

function fleetSubscriber(machineId: string): Promise<Recorder> {
  return Recorder.connect(broker.url, [`zapvend/v1/m/${machineId}/event/#`], { clientId: `fleet-${machineId}`, clean: false });
}

describe("outbox through broker failures (real Mosquitto)", () => {
  it("a broker restart mid-flush: every event arrives, once after dedupe, in sequence order", async () => {
    const machineId = `restart-${process.pid}`;
    const fleet = await fleetSubscriber(machineId);
    cleanups.push(() => fleet.close());
    const db = memoryDb();
    const bridge = new MachineBridge(bridgeOptions(broker.url, machineId, operatorKey(), db, { outbox: { maxInFlight: 64 } }));
    cleanups.push(() => bridge.stop());
    await bridge.start();
    await until(() => bridge.connected, 5_000, "connected");
    const total = 3_000;
    db.transaction(() => {
      for (let i = 1; i <= total; i++) bridge.outbox.enqueue(saleBody(i));
    })();
    await until(() => bridge.counters.eventsPublished >= 300, 10_000, "flush under way");
    await broker.restart();
    await fleet
      .waitFor(() => dedupe(fleet, machineId).unique.length === total, 20_000, "all events after the restart")
      .catch((err: Error) => {
        throw new Error(`${err.message}: fleet has ${dedupe(fleet, machineId).unique.length}, bridge connected=${bridge.connected} outbox=${bridge.outbox.size()} acked=${bridge.counters.eventsPublished} fleetConnected=${fleet.client.connected}`);
      });
    const { unique } = dedupe(fleet, machineId);
    expect(unique.map((e) => e.orderId)).toEqual(Array.from({ length: total }, (_, i) => `order-${String(i + 1).padStart(6, "0")}`));
    expect(unique.every((e, i) => i === 0 || e.seq > unique[i - 1]!.seq)).toBe(true);
    await until(() => bridge.outbox.size() === 0, 5_000, "outbox empty");
  });

  it("an outage of five minutes of machine time with a sale every 3 s: all arrive after the broker is back, in order", async () => {
    // The outage is compressed: the broker is really down (its process stopped) for about a second of wall time,
    // while the machine's clock is stepped 3 s per sale over 100 sales, i.e. 300 s = 5 minutes of machine time.
    const machineId = `outage-${process.pid}`;
    const fleet = await fleetSubscriber(machineId);
    cleanups.push(() => fleet.close());
    const clock = steppedClock(1_700_000_000_000);
    const db = memoryDb();
    const bridge = new MachineBridge(bridgeOptions(broker.url, machineId, operatorKey(), db, { clock }));
    cleanups.push(() => bridge.stop());
    await bridge.start();
    await until(() => bridge.connected, 5_000, "connected");
    for (let i = 1; i <= 10; i++) bridge.outbox.enqueue(saleBody(i));
    await fleet.waitFor(() => dedupe(fleet, machineId).unique.length === 10, 10_000, "before the outage");
    // The broker forwards before it acknowledges: wait for the PUBACKs so the outage starts with an empty outbox.
    await until(() => bridge.outbox.size() === 0, 5_000, "outbox empty before the outage");

    await broker.stop();
    await until(() => !bridge.connected, 5_000, "machine sees the outage");
    const outageStart = clock.now();
    for (let i = 11; i <= 110; i++) {
      clock.advance(3_000);
      db.transaction(() => bridge.outbox.enqueue(saleBody(i)))();
      await new Promise((r) => setImmediate(r));
    }
    expect(clock.now() - outageStart).toBe(300_000);
    expect(bridge.outbox.size()).toBe(100); // nothing lost, nothing handed to mqtt.js while offline
    await broker.start();

    await fleet
      .waitFor(() => dedupe(fleet, machineId).unique.length === 110, 20_000, "events after the outage")
      .catch((err: Error) => {
        throw new Error(`${err.message}: fleet has ${dedupe(fleet, machineId).unique.length}, bridge connected=${bridge.connected} outbox=${bridge.outbox.size()} acked=${bridge.counters.eventsPublished} fleetConnected=${fleet.client.connected}`);
      });
    const { unique } = dedupe(fleet, machineId);
    expect(unique.map((e) => e.orderId)).toEqual(Array.from({ length: 110 }, (_, i) => `order-${String(i + 1).padStart(6, "0")}`));
    expect(unique.every((e, i) => i === 0 || e.seq === unique[i - 1]!.seq + 1)).toBe(true); // no gap
    // The sale's own timestamp is when it happened (machine time), not when it reached the fleet.
    expect(unique[109]!.ts - unique[10]!.ts).toBe(297_000);
    await until(() => bridge.outbox.size() === 0, 5_000, "outbox empty");
  });

  it("telemetry taken while the broker is down is never queued: after the outage only fresh readings arrive", async () => {
    const machineId = `telemetry-${process.pid}`;
    const rec = await Recorder.connect(broker.url, [topics.telemetry(machineId)]);
    cleanups.push(() => rec.close());
    let reading = 0;
    const bridge = new MachineBridge(
      bridgeOptions(broker.url, machineId, operatorKey(), memoryDb(), {
        mqtt: { url: broker.url, telemetryIntervalMs: 100 },
        telemetry: () => ({ temperatureC: ++reading, door: "closed", payments: "up", hardware: "up", stock: [] }),
      }),
    );
    cleanups.push(() => bridge.stop());
    await bridge.start();
    await rec.waitFor(() => rec.on(topics.telemetry(machineId)).length >= 2, 5_000, "telemetry before");
    await broker.stop();
    await until(() => !bridge.connected, 5_000, "outage seen");
    const lastBefore = reading;
    await new Promise((r) => setTimeout(r, 600)); // several periods of the 100 ms interval while offline
    const offlineReadings = reading - lastBefore;
    await broker.start();
    await until(() => bridge.connected, 10_000, "reconnected");
    const firstAfter = reading;
    await rec.waitFor(() => rec.json<{ temperatureC: number }>(topics.telemetry(machineId)).some((t) => t.temperatureC > firstAfter), 5_000, "telemetry after");
    // Nothing taken during the outage was sent (the provider is not even called while offline).
    expect(offlineReadings).toBe(0);
    // ... and what arrives after the outage was read after reconnecting (firstAfter may be the reconnect's own).
    const after = rec.json<{ temperatureC: number }>(topics.telemetry(machineId)).map((t) => t.temperatureC).filter((t) => t > lastBefore);
    expect(after.length).toBeGreaterThan(0);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(firstAfter);
  });

  it("a machine killed with SIGKILL is marked lost by its will, with the boot of that run", async () => {
    const machineId = `killed-${process.pid}`;
    const rec = await Recorder.connect(broker.url, [topics.status(machineId)]);
    cleanups.push(() => rec.close());
    const dir = mkdtempSync(path.join(tmpdir(), "zapvend-kill-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const dbFile = path.join(dir, "machine.db");
    const here = path.dirname(fileURLToPath(import.meta.url));
    const tsx = createRequire(import.meta.url).resolve("tsx");
    const run = async () => {
      const child = spawn(process.execPath, ["--import", tsx, path.join(here, "__fixtures__/machine-child.ts"), broker.url, machineId, dbFile, operatorKey().publicKey], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      cleanups.push(async () => void child.kill("SIGKILL"));
      const boot = await new Promise<number>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /ready boot=(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once("exit", (code) => reject(new Error(`machine child exited early (${code})`)));
      });
      return { child, boot };
    };
    const first = await run();
    first.child.kill("SIGKILL");
    await rec.waitFor(() => rec.json<{ state: string }>(topics.status(machineId)).some((s) => s.state === "lost"), 15_000, "lost");
    const statuses = rec.json<{ state: string; boot: number }>(topics.status(machineId));
    expect(statuses.map((s) => [s.state, s.boot])).toEqual([
      ["online", first.boot],
      ["lost", first.boot],
    ]);
    // The next start counts up from the persisted counter, and its sale left in the outbox is resent.
    const second = await run();
    expect(second.boot).toBe(first.boot + 1);
    second.child.kill("SIGKILL");
    const db = new Database(dbFile, { readonly: true });
    cleanups.push(async () => void db.close());
    expect((db.prepare("SELECT value FROM bridge_meta WHERE key = 'boot'").get() as { value: number }).value).toBe(second.boot);
    // The will carries the installation id with the boot, as every status of this database does.
    const install = (db.prepare("SELECT value FROM bridge_meta WHERE key = 'install'").get() as { value: number }).value;
    expect(rec.json<{ state: string; install: number }>(topics.status(machineId)).map((s) => [s.state, s.install]).slice(0, 2)).toEqual([
      ["online", install],
      ["lost", install],
    ]);
    // Two machine processes start through tsx (it compiles the fixture): on a loaded CI machine each start took
    // well over 10 s, past the suite's 30 s.
  }, 120_000);
});
