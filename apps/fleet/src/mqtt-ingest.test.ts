// The fleet against a real broker (Mosquitto in CI, `TEST_MQTT_URL` or 127.0.0.1:1883): a machine publishes as
// the bridge would, the fleet ingests, dedupes, answers on HTTP, signs a command the machine can verify, and
// keeps its retained online/offline state.
import { bearer } from "./__fixtures__/auth.js";
import { generateKeyPairSync, verify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalJson, parseFleetConfig, topics, type MqttMessage } from "@zapvend/protocol";
import { birth, commandResult, sale, status, telemetry } from "./__fixtures__/messages.js";
import { fileBroker, missingService, reachable, until } from "./__fixtures__/services.js";
import { silentLogger } from "./clock.js";
import { FleetServer } from "./server.js";

const brokerUrl = await fileBroker();
const SKIP = missingService("fleet mqtt", await reachable(brokerUrl), `no MQTT broker at ${brokerUrl} (start mosquitto or set TEST_MQTT_URL)`);

function wire(msg: MqttMessage): [string, string] {
  const t = msg.topic;
  const topic =
    t.kind === "event" ? topics.event(t.machineId, t.eventType)
    : t.kind === "command-result" ? topics.commandResult(t.machineId, t.command)
    : t.kind === "status" ? topics.status(t.machineId)
    : t.kind === "birth" ? topics.birth(t.machineId)
    : t.kind === "telemetry" ? topics.telemetry(t.machineId)
    : t.kind === "reported" ? topics.reported(t.machineId)
    : "";
  return [topic, JSON.stringify(msg.payload)];
}

describe.skipIf(SKIP !== null)(`fleet over a real MQTT broker${SKIP ? ` (${SKIP})` : ""}`, () => {
  const id = `it-${process.pid}-${Date.now().toString(36)}`;
  let dir: string;
  let auth: Record<string, string> = {};
  let server: FleetServer;
  let machine: MqttClient;
  let publicKeyPem: string;
  const received: Array<{ topic: string; payload: Record<string, unknown> }> = [];

  const pub = (msg: MqttMessage, retain = false) => {
    const [topic, payload] = wire(msg);
    return new Promise<void>((resolve, reject) => machine.publish(topic, payload, { qos: 1, retain }, (e) => (e ? reject(e) : resolve())));
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "zapvend-fleet-mqtt-"));
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    publicKeyPem = publicKey.export({ format: "pem", type: "spki" }).toString();
    writeFileSync(path.join(dir, "key.pem"), privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    const cfg = parseFleetConfig({
      http: { host: "127.0.0.1", port: 0 },
      mqtt: { url: brokerUrl },
      database: path.join(dir, "fleet.db"),
      operatorKey: { keyId: "it-operator", privateKeyPath: path.join(dir, "key.pem") },
    });
    if (!cfg.ok) throw new Error(cfg.error.message);
    // The machine subscribes before the fleet starts, so it sees this fleet's online announcement as it is
    // published: the retained fleet/state is shared by every fleet on the broker, and another suite's fleet that
    // stops in between would leave "offline" there for a late subscriber.
    machine = mqtt.connect(brokerUrl, { protocolVersion: 4, clientId: `${id}-machine` });
    await new Promise<void>((r) => machine.once("connect", () => r()));
    machine.on("message", (topic, payload) => {
      if (payload.length) received.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> });
    });
    await new Promise<void>((r) => machine.subscribe([`zapvend/v1/m/${id}/cmd/+`, topics.fleetState()], { qos: 1 }, () => r()));
    received.length = 0; // whatever was retained before this fleet started
    server = new FleetServer({ config: cfg.value, log: silentLogger, linkOptions: { clientId: `${id}-fleet`, clean: true } });
    await server.start();
    auth = await bearer(server.auth);
    await until("fleet connected", async () => server.link.connected);
  });

  afterAll(async () => {
    await server?.stop();
    // Clear this test's retained messages so the broker is left as found.
    for (const t of [topics.status(id), topics.birth(id), topics.desired(id)]) await new Promise<void>((r) => machine.publish(t, "", { qos: 1, retain: true }, () => r()));
    await new Promise<void>((r) => machine.end(false, {}, () => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("ingests a machine, stores a redelivered sale once, and refuses a payload protocol rejects", async () => {
    await pub(birth(id, { slots: [{ slot: "A1", stock: 6 }] }), true);
    await pub(status(id, "online", { boot: 1, seq: 1 }), true);
    await pub(telemetry(id, { ts: Date.now() - 60_000, temperatureC: 5 }));
    const s = sale(id, { seq: 1, slot: "A1", settledAt: Date.now() });
    await pub(s);
    await pub(s);
    await new Promise<void>((r) => machine.publish(topics.event(id, "sale"), JSON.stringify({ v: 1, amountMsat: 1500 }), { qos: 1 }, () => r()));
    await pub(sale(id, { seq: 2, slot: "A1", settledAt: Date.now() }));

    const m = await until("machine with two sales", async () => {
      const list = (await (await fetch(`${server.url}/api/machines`, { headers: auth })).json()) as Array<{ id: string; status: string; stock: Array<{ stock: number }> }>;
      const x = list.find((y) => y.id === id);
      return x && x.stock[0]?.stock === 4 ? x : undefined;
    });
    expect(m.status).toBe("online");
    const sales = (await (await fetch(`${server.url}/api/sales?machine=${id}`, { headers: auth })).json()) as unknown[];
    expect(sales).toHaveLength(2);
    expect(server.service.stats.duplicates).toBeGreaterThanOrEqual(1);
  });

  it("publishes its retained online state and a signed command the machine can verify, then stores the result", async () => {
    const online = await until("fleet state online", async () => received.find((r) => r.topic === topics.fleetState() && r.payload.state === "online"));
    expect(online.payload.v).toBe(1);
    const res = await fetch(`${server.url}/api/machines/${id}/commands/test-vend`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ args: { slot: "A1" } }) });
    expect(res.status).toBe(202);
    const { rid } = (await res.json()) as { rid: string };
    const cmd = await until("command at the machine", async () => received.find((r) => r.topic === topics.command(id, "test-vend")));
    const { sig, ...unsigned } = cmd.payload;
    expect(verify(null, Buffer.from(canonicalJson(unsigned)), publicKeyPem, Buffer.from(String(sig), "base64url"))).toBe(true);
    expect(unsigned).toMatchObject({ rid, aud: id, name: "test-vend" });

    await pub(commandResult(id, "test-vend", rid, { data: { dropSeen: true } }));
    const done = await until("command result stored", async () => {
      const list = (await (await fetch(`${server.url}/api/machines/${id}/commands`, { headers: auth })).json()) as Array<{ rid: string; status: string }>;
      return list.find((c) => c.rid === rid && c.status === "ok");
    });
    expect(done.status).toBe("ok");
  });
});
