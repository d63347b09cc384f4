// FleetLink against a real Mosquitto and a real MachineBridge: the fleet's view of a machine, a signed command
// executed end to end, a signed desired state applied, garbage dropped, and the fleet's will.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { topics, type MqttMessage } from "@zapvend/protocol";
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

describe("FleetLink", () => {
  it("sees a machine's messages validated, runs a signed command and a desired state end to end, drops garbage", async () => {
    const key = operatorKey();
    const got: MqttMessage[] = [];
    const fleet = new FleetLink({ mqtt: { url: broker.url }, clientId: "fleet-test", boot: 3, operatorKey: key, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
    cleanups.push(() => fleet.stop());
    await fleet.start((m) => got.push(m));
    await until(() => fleet.connected, 5_000, "fleet connected");
    await new Promise((r) => setTimeout(r, 100)); // SUBACK

    const ran: string[] = [];
    const bridge = new MachineBridge(bridgeOptions(broker.url, "fleet-m1", key, memoryDb(), { commandHandlers: { restock: (a) => { ran.push(String(a.slot)); return { ok: 1 }; } } }));
    cleanups.push(() => bridge.stop());
    await bridge.start();
    await until(() => got.some((m) => m.topic.kind === "birth"), 5_000, "birth at the fleet");
    await new Promise((r) => setTimeout(r, 100));
    bridge.outbox.enqueue(saleBody(1));
    await until(() => got.some((m) => m.topic.kind === "event"), 5_000, "sale at the fleet");

    const sent = await fleet.sendCommand("fleet-m1", "restock", { slot: "A1", stock: 10 }, { ctr: 1 });
    await until(() => got.some((m) => m.topic.kind === "command-result"), 5_000, "result at the fleet");
    const res = got.find((m) => m.topic.kind === "command-result")!.payload as { rid: string; status: string };
    expect(res).toMatchObject({ rid: sent.rid, status: "ok" });
    expect(ran).toEqual(["A1"]);

    // Signed for this machine (aud) and its installation as its birth told the fleet.
    const install = (got.find((m) => m.topic.kind === "birth")!.payload as { install?: number }).install;
    expect(install).toBe(bridge.install);
    await fleet.publishDesired("fleet-m1", { version: 2, slots: { A1: { enabled: false } }, install: install! });
    await until(() => got.some((m) => m.topic.kind === "reported"), 5_000, "reported at the fleet");
    expect(got.find((m) => m.topic.kind === "reported")!.payload).toMatchObject({ version: 2, status: "applied" });

    const rogue = await Recorder.connect(broker.url, []);
    cleanups.push(() => rogue.close());
    await rogue.client.publishAsync(topics.telemetry("fleet-m1"), "{\"v\":1", { qos: 1 });
    await until(() => fleet.invalidMessages === 1, 5_000, "garbage dropped");
    expect([...fleet.refused.values()]).toEqual([1]);
  });

  it("splits the machines' events between fleet servers of one shared group; each still gets every retained state", async () => {
    const key = operatorKey();
    const got: Record<string, MqttMessage[]> = { a: [], b: [] };
    const connects: Record<string, number> = { a: 0, b: 0 };
    let boot = 0;
    const links = (["a", "b"] as const).map((n) => {
      const l = new FleetLink({ mqtt: { url: broker.url }, clientId: `fleet-share-${n}`, clean: true, boot: () => boot, sharedSubscriptionGroup: "fleet-it", operatorKey: key, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
      cleanups.push(() => l.stop());
      return l;
    });
    const rec = await Recorder.connect(broker.url, [topics.fleetState()]);
    cleanups.push(() => rec.close());
    boot = 7; // known only after construction, as the fleet reads it from its database at start
    await links[0]!.start((m) => got.a!.push(m), () => connects.a!++);
    await links[1]!.start((m) => got.b!.push(m), () => connects.b!++);
    // `connected` is true at CONNACK; the onConnect callback runs later, once the subscriptions were granted and
    // the online state published: wait for that, then check it ran exactly once per server.
    await until(() => links.every((l) => l.connected) && connects.a! > 0 && connects.b! > 0, 5_000, "both connected and subscribed");
    expect(connects).toEqual({ a: 1, b: 1 });
    await rec.waitFor(() => rec.json<{ state: string; boot: number }>(topics.fleetState()).some((s) => s.state === "online" && s.boot === 7), 5_000, "online with boot 7");
    await new Promise((r) => setTimeout(r, 100)); // SUBACK

    const bridge = new MachineBridge(bridgeOptions(broker.url, "share-m1", key, memoryDb()));
    cleanups.push(() => bridge.stop());
    await bridge.start();
    for (let i = 1; i <= 40; i++) bridge.outbox.enqueue(saleBody(i));
    const events = () => [...got.a!, ...got.b!].filter((m) => m.topic.kind === "event");
    await until(() => new Set(events().map((m) => m.payload.id)).size === 40, 10_000, "40 sales at the fleet servers");
    await new Promise((r) => setTimeout(r, 200)); // a duplicate delivery would show up by now
    // Each event reached exactly one server, and both took a share.
    expect(events()).toHaveLength(40);
    expect(got.a!.filter((m) => m.topic.kind === "event").length).toBeGreaterThan(0);
    expect(got.b!.filter((m) => m.topic.kind === "event").length).toBeGreaterThan(0);
    // Retained state is not shared out: both servers know the machine's status and birth.
    for (const n of ["a", "b"]) {
      expect(got[n]!.some((m) => m.topic.kind === "status")).toBe(true);
      expect(got[n]!.some((m) => m.topic.kind === "birth")).toBe(true);
    }
    // A server that starts later still gets the retained ones (a shared subscription alone would not).
    const late: MqttMessage[] = [];
    const l3 = new FleetLink({ mqtt: { url: broker.url }, clientId: "fleet-share-c", clean: true, sharedSubscriptionGroup: "fleet-it" });
    cleanups.push(() => l3.stop());
    await l3.start((m) => late.push(m));
    await until(() => late.some((m) => m.topic.kind === "birth") && late.some((m) => m.topic.kind === "status"), 5_000, "retained birth and status at a late server");
    // Leave the broker as found.
    await bridge.stop();
    const c = await Recorder.connect(broker.url, []);
    for (const t of [topics.status("share-m1"), topics.birth("share-m1")]) await c.client.publishAsync(t, "", { qos: 1, retain: true });
    await c.close();
  });

  it("announces itself retained online; its will sets offline when it vanishes", async () => {
    const rec = await Recorder.connect(broker.url, [topics.fleetState()]);
    cleanups.push(() => rec.close());
    const fleet = new FleetLink({ mqtt: { url: broker.url }, clientId: "fleet-will" });
    await fleet.start(() => {});
    await rec.waitFor(() => rec.json<{ state: string }>(topics.fleetState()).some((s) => s.state === "online"), 5_000, "online");
    // Vanish without DISCONNECT, as a crashed server would.
    fleet["conn"]!.client.stream.destroy();
    fleet["conn"]!.client.end(true);
    await rec.waitFor(() => rec.json<{ state: string }>(topics.fleetState()).at(-1)?.state === "offline", 10_000, "offline by will");
    await fleet.stop();
  });
});
