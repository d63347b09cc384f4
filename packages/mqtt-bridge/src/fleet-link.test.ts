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

    await fleet.publishDesired("fleet-m1", { version: 2, slots: { A1: { enabled: false } } });
    await until(() => got.some((m) => m.topic.kind === "reported"), 5_000, "reported at the fleet");
    expect(got.find((m) => m.topic.kind === "reported")!.payload).toMatchObject({ version: 2, status: "applied" });

    const rogue = await Recorder.connect(broker.url, []);
    cleanups.push(() => rogue.close());
    await rogue.client.publishAsync(topics.telemetry("fleet-m1"), "{\"v\":1", { qos: 1 });
    await until(() => fleet.invalidMessages === 1, 5_000, "garbage dropped");
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
