// End-to-end event acknowledgements on a real Mosquitto, the fleet being a FleetLink that "stores" what it receives
// in a set and acknowledges it with `publishEventAck` (apps/fleet runs the same against its real store): the
// machine keeps each event past the broker's PUBACK until the fleet's ack, resends when the fleet comes back online,
// and resends on an ack timeout with a capped backoff.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { topics, type EventPayload } from "@zapvend/protocol";
import { FleetLink } from "./fleet-link.js";
import { MachineBridge } from "./machine-bridge.js";
import { Mosquitto } from "./__fixtures__/mosquitto.js";
import { Recorder, until } from "./__fixtures__/subscriber.js";
import { bridgeOptions, memoryDb, operatorKey, saleBody } from "./__fixtures__/machine.js";

let broker: Mosquitto;
const cleanups: Array<() => Promise<void>> = [];
beforeAll(async () => {
  broker = await new Mosquitto().start();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await broker.dispose();
});

/** A fleet with a clean session (nothing is queued for it while it is away) that acks what it "stored". */
async function ackingFleet(machineId: string, o: { ack?: boolean } = {}) {
  const stored = new Map<number, string>();
  const link = new FleetLink({ mqtt: { url: broker.url }, clientId: `acks-fleet-${machineId}`, clean: true, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
  await link.start((m) => {
    if (m.topic.kind !== "event") return;
    const p = m.payload as EventPayload;
    stored.set(p.seq, p.id);
    if (o.ack === false) return;
    // The contiguous run from the lowest seq held, as the fleet's store computes it.
    const from = Math.min(...stored.keys());
    let upTo = from;
    while (stored.has(upTo + 1)) upTo++;
    link.publishEventAck(machineId, { from, upTo }).catch(() => {}); // a fleet stopping drops it; the machine resends
  });
  await until(() => link.connected, 5_000, "fleet connected");
  let stopped = false;
  const stop = async () => {
    if (!stopped) await link.stop();
    stopped = true;
  };
  cleanups.push(stop);
  return { stored, link, stop };
}

describe("end-to-end event acks on Mosquitto", () => {
  it("a fleet away with a clean session: the broker's PUBACK is not the end; the events come back when the fleet is online", async () => {
    const machineId = `acks-clean-${process.pid}`;
    const states = await Recorder.connect(broker.url, [topics.fleetState()]);
    cleanups.push(() => states.close());
    let fleet = await ackingFleet(machineId);
    await states.waitFor(() => states.messages.some((m) => m.payload.includes('"online"')), 5_000, "fleet online");
    expect(JSON.parse(states.messages.at(-1)!.payload)).toMatchObject({ state: "online", acks: true });

    const bridge = new MachineBridge(bridgeOptions(broker.url, machineId, operatorKey(), memoryDb(), { outbox: { ackTimeoutMs: 100, resendDelayMs: 50 } }));
    cleanups.push(() => bridge.stop());
    await bridge.start();
    await until(() => bridge.waitsForFleetAcks, 5_000, "acks: true seen");
    for (const n of [1, 2]) bridge.outbox.enqueue(saleBody(n));
    await until(() => bridge.outbox.size() === 0 && fleet.stored.size === 2, 5_000, "stored and acknowledged");

    const resendsBefore = bridge.counters.eventResends;
    await fleet.stop(); // fleet/state offline (still acks: true); its clean session is gone from the broker
    await until(() => JSON.parse(states.messages.at(-1)!.payload).state === "offline", 5_000, "fleet offline");
    for (const n of [3, 4, 5]) bridge.outbox.enqueue(saleBody(n));
    await until(() => bridge.counters.eventsPublished >= 5, 5_000, "PUBACKs");
    // No timeout resends into a broker the fleet is known to be away from.
    await new Promise((r) => setTimeout(r, 400));
    expect(bridge.outbox.sentUnconfirmed().count).toBe(3);
    expect(bridge.counters.eventResends).toBe(resendsBefore);

    fleet = await ackingFleet(machineId);
    await until(() => bridge.outbox.size() === 0, 5_000, "resent on fleet online, stored and acknowledged");
    expect([...fleet.stored.keys()].sort()).toEqual([3, 4, 5]);
    expect(bridge.counters.eventResends).toBeGreaterThan(resendsBefore);
    expect(bridge.counters.eventsConfirmed).toBe(5);
  });

  it("an ack for another installation (the machine's database was replaced) deletes nothing; one without install still confirms", async () => {
    const machineId = `acks-install-${process.pid}`;
    const fleet = await ackingFleet(machineId, { ack: false });
    const installs: Array<number | undefined> = [];
    const bridge = new MachineBridge(bridgeOptions(broker.url, machineId, operatorKey(), memoryDb(), { outbox: { ackTimeoutMs: 60_000, resendDelayMs: 60_000 } }));
    cleanups.push(() => bridge.stop());
    const wire = await Recorder.connect(broker.url, [topics.event(machineId, "sale")]);
    cleanups.push(() => wire.close());
    await bridge.start();
    await until(() => bridge.waitsForFleetAcks, 5_000, "acks: true seen");
    for (const n of [1, 2, 3, 4]) bridge.outbox.enqueue(saleBody(n));
    await until(() => fleet.stored.size === 4 && bridge.outbox.sentUnconfirmed().count === 4, 5_000, "sent");
    await wire.waitFor(() => wire.messages.length >= 4, 5_000, "events on the wire");
    for (const m of wire.messages) installs.push((JSON.parse(m.payload) as EventPayload).install);
    expect(installs).toEqual([bridge.install, bridge.install, bridge.install, bridge.install]);

    // An ack counted over the seqs of the machine's previous database: ignored. QoS 1 from one client arrives in
    // order, so once the next ack (its own installation, seq 1 only) is applied the first one was seen and ignored.
    await fleet.link.publishEventAck(machineId, { from: 1, upTo: 4, install: bridge.install === 1 ? 2 : bridge.install - 1 });
    await fleet.link.publishEventAck(machineId, { from: 1, upTo: 1, install: bridge.install });
    await until(() => bridge.counters.eventsConfirmed === 1, 5_000, "own-installation ack applied");
    expect(bridge.outbox.peek(0, 10).map((r) => r.seq)).toEqual([2, 3, 4]);

    // An ack without the field (a fleet from before installation ids) is taken as before.
    await fleet.link.publishEventAck(machineId, { from: 2, upTo: 3 });
    await until(() => bridge.counters.eventsConfirmed === 3, 5_000, "ack without install applied");
    expect(bridge.outbox.peek(0, 10).map((r) => r.seq)).toEqual([4]);
  });

  it("a fleet that announces acks but sends none: resends on the ack timeout with a capped backoff, nothing deleted", async () => {
    const machineId = `acks-silent-${process.pid}`;
    const fleet = await ackingFleet(machineId, { ack: false });
    const bridge = new MachineBridge(bridgeOptions(broker.url, machineId, operatorKey(), memoryDb(), { outbox: { ackTimeoutMs: 100, ackTimeoutMaxMs: 400, resendDelayMs: 10_000 } }));
    cleanups.push(() => bridge.stop());
    await bridge.start();
    await until(() => bridge.waitsForFleetAcks, 5_000, "acks: true seen");
    for (const n of [1, 2, 3]) bridge.outbox.enqueue(saleBody(n));
    await until(() => fleet.stored.size === 3, 5_000, "received");
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1_600));
    const elapsed = Date.now() - t0;
    // Backoff 100, 200, 400, 400 ... ms: about 5 passes in 1.6 s (16 without the backoff), each oldest first.
    expect(bridge.counters.eventResends).toBeGreaterThanOrEqual(2);
    expect(bridge.counters.eventResends).toBeLessThanOrEqual(Math.ceil(elapsed / 400) + 3);
    expect(bridge.outbox.size()).toBe(3);
    expect(bridge.counters.eventsConfirmed).toBe(0);
    // The same three events every time (the fleet dedupes by id), never a new id.
    expect(new Set(fleet.stored.values()).size).toBe(3);
  });
});
