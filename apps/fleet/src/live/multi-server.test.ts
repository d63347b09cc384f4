// Two fleet servers on one PostgreSQL (TEST_PG_URL, a schema of their own) and one broker (a private Mosquitto for
// this file), splitting the machines' messages with a shared subscription (issue #18, "Several fleet servers"):
// - a sale ingested by server A reaches a console (WebSocket) connected to server B within 1 s, and B's sales API
//   (and B's pick list, once h19d's branch is merged) counts it; the same the other way round;
// - telemetry (shared, so one server only ingests each sample) and the alert it raises reach both consoles;
// - the alert is told to the webhook once, though both servers evaluate every machine's alerts;
// - a command and a desired state sent through A reach a console on B (every live message type crosses).
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import pg from "pg";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseFleetConfig, parseFleetWsMessage, topics, type FleetWsMessage, type MqttMessage, type Sale } from "@zapvend/protocol";
import { bearer } from "../__fixtures__/auth.js";
import { startReceiver, type Receiver } from "../__fixtures__/http-receiver.js";
import { birth, sale, status, telemetry } from "../__fixtures__/messages.js";
import { fileBroker, missingService, reachable, until } from "../__fixtures__/services.js";
import { pgUrl, PG_SKIP_REASON } from "../__fixtures__/stores.js";
import { silentLogger } from "../clock.js";
import { FleetServer } from "../server.js";
import { LIVE_TOPIC } from "./live-relay.js";

const brokerUrl = await fileBroker();
const SKIP =
  missingService("two fleet servers", await reachable(brokerUrl), `no MQTT broker at ${brokerUrl} (start mosquitto or set TEST_MQTT_URL)`) ??
  missingService("two fleet servers", pgUrl !== undefined, PG_SKIP_REASON);

/** The raw topic a machine publishes a fixture message on. */
function topicOf(m: MqttMessage): string {
  const t = m.topic as { kind: string; machineId: string; eventType?: string };
  if (t.kind === "event") return topics.event(t.machineId, t.eventType as never);
  if (t.kind === "status") return topics.status(t.machineId);
  if (t.kind === "birth") return topics.birth(t.machineId);
  if (t.kind === "telemetry") return topics.telemetry(t.machineId);
  throw new Error(`no topic for ${t.kind}`);
}

interface Console {
  messages: Array<{ at: number; msg: FleetWsMessage }>;
  close(): void;
}

async function openConsole(server: FleetServer, auth: Record<string, string>): Promise<Console> {
  const ws = new WebSocket(server.url.replace("http", "ws") + "/ws", { headers: auth });
  const messages: Console["messages"] = [];
  ws.on("message", (data) => {
    const r = parseFleetWsMessage(String(data));
    if (!r.ok) throw new Error(`bad live message: ${r.error.message}`);
    messages.push({ at: Date.now(), msg: r.value });
  });
  await until("console hello", () => messages.some((m) => m.msg.type === "hello"));
  return { messages, close: () => ws.close() };
}

describe.skipIf(SKIP !== null)(`two fleet servers, one PostgreSQL, one broker${SKIP ? ` (${SKIP})` : ""}`, () => {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const schema = `zapvend_multi_${tag.replace(/-/g, "_")}`;
  const machineId = `ms-${tag}`;
  let dir: string;
  let receiver: Receiver;
  let a: FleetServer;
  let b: FleetServer;
  let authA: Record<string, string>;
  let authB: Record<string, string>;
  let machine: mqtt.MqttClient;
  /** When each server's service emitted each sale (the ingesting server's side of the latency). */
  const ingested = new Map<string, { server: "A" | "B"; at: number }>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "zapvend-multi-"));
    writeFileSync(path.join(dir, "key.pem"), generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    receiver = await startReceiver();
    const url = new URL(pgUrl!);
    url.searchParams.set("schema", schema);
    const cfg = parseFleetConfig({
      http: { host: "127.0.0.1", port: 0 },
      mqtt: { url: brokerUrl },
      database: url.toString(),
      operatorKey: { keyId: "op", privateKeyPath: path.join(dir, "key.pem") },
      sharedSubscriptionGroup: `it-${tag}`.slice(0, 32).toLowerCase(),
      notifications: {
        channels: { hook: { type: "webhook", url: `${receiver.url}/hook`, secret: "a-secret-for-two-servers" } },
        groups: { technicians: ["hook"] },
        routes: [{ kinds: ["door-open"], to: ["technicians"] }],
      },
    });
    if (!cfg.ok) throw new Error(cfg.error.message);
    const make = (name: string) =>
      new FleetServer({ config: cfg.value, log: silentLogger, linkOptions: { clientId: `${machineId}-${name}`, clean: true, reconnect: { minDelayMs: 50, maxDelayMs: 500 } } });
    a = make("a");
    await a.start();
    b = make("b");
    await b.start();
    await until("both servers on the broker", () => a.link.connected && b.link.connected && a.live?.connected && b.live?.connected);
    for (const [name, s] of [["A", a], ["B", b]] as const) s.service.on("sale", (x: Sale) => ingested.set(x.eventId, { server: name, at: Date.now() }));
    authA = await bearer(a.auth);
    authB = await bearer(b.auth);
    machine = await mqtt.connectAsync(brokerUrl, { clientId: `${machineId}-machine`, protocolVersion: 4, clean: true });
    const publish = async (m: MqttMessage, retain = false) => machine.publishAsync(topicOf(m), JSON.stringify(m.payload), { qos: 1, retain });
    await publish(birth(machineId), true);
    await publish(status(machineId, "online", { boot: 1, seq: 1, ts: Date.now() }), true);
    await until("the machine known to both", async () => (await a.service.store.getMachine(machineId)) && (await b.service.store.getMachine(machineId)));
  });

  afterAll(async () => {
    await machine?.endAsync();
    await a?.stop();
    await b?.stop();
    await receiver?.close();
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows a sale ingested by one server on the consoles of both, within 1 s, and in both servers' sales API", async () => {
    const onA = await openConsole(a, authA);
    const onB = await openConsole(b, authB);
    const saleIds = (c: Console) => new Set(c.messages.flatMap((m) => (m.msg.type === "sale" ? [m.msg.sale.eventId] : [])));
    // One sale first, not timed: the first message through a fresh process pays for compiling the relay's path
    // (a few hundred ms on a loaded machine); the figure asked for is the steady state.
    const warm = sale(machineId, { seq: 9, settledAt: Date.now() });
    await machine.publishAsync(topicOf(warm), JSON.stringify(warm.payload), { qos: 1 });
    await expect.poll(() => saleIds(onA).has(warm.payload.id) && saleIds(onB).has(warm.payload.id)).toBe(true);
    // The broker hands each message of the shared subscription to one server: enough sales that both get some.
    const sent: string[] = [];
    for (let i = 0; i < 8; i++) {
      const m = sale(machineId, { seq: 10 + i, settledAt: Date.now(), amountMsat: String(1_000_000 + i * 1000) });
      sent.push(m.payload.id);
      await machine.publishAsync(topicOf(m), JSON.stringify(m.payload), { qos: 1 });
    }
    await expect.poll(() => sent.filter((id) => ingested.has(id)).length).toBe(sent.length);
    await expect.poll(() => sent.filter((id) => saleIds(onA).has(id) && saleIds(onB).has(id)).length).toBe(sent.length);
    const byA = sent.filter((id) => ingested.get(id)!.server === "A");
    const byB = sent.filter((id) => ingested.get(id)!.server === "B");
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
    // Each sale once on each console (the relay does not echo a server's own messages back to it).
    for (const c of [onA, onB]) expect(c.messages.filter((m) => m.msg.type === "sale").length).toBe(sent.length + 1);
    // Latency: from the ingesting server's commit to the other server's console.
    const latency = (ids: string[], other: Console) => ids.map((id) => other.messages.find((m) => m.msg.type === "sale" && m.msg.sale.eventId === id)!.at - ingested.get(id)!.at);
    const all = [...latency(byA, onB), ...latency(byB, onA)];
    const worst = Math.max(...all);
    console.log(`[multi-server] ${byA.length} sale(s) ingested by A, ${byB.length} by B; latency to the other server's console ${all.join(", ")} ms`);
    expect(worst).toBeLessThan(1_000);
    // B's API answers from the shared store: A's sales are there.
    const listed = (await (await fetch(`${b.url}/api/sales?machine=${machineId}`, { headers: authB })).json()) as Sale[];
    expect(new Set(listed.map((s) => s.eventId))).toEqual(new Set([warm.payload.id, ...sent]));
    // The pick list computed on B counts A's sales (h19d's GET /api/picklist; until that branch is merged the route
    // does not exist here and this part says so instead of asserting).
    const pick = await fetch(`${b.url}/api/picklist?machines=${machineId}`, { headers: authB });
    if (pick.status === 404) {
      console.warn("[multi-server] GET /api/picklist not on this branch yet (h19d): pick list assertion not run");
    } else {
      expect(pick.status).toBe(200);
      const list = (await pick.json()) as { machines: Array<{ machineId: string; lines: Array<{ slot: string; sold: number }> }> };
      // Every sale of this test (the warm-up and the 8, on A and on B) was of A1, now: all inside the window.
      expect(list.machines.find((m) => m.machineId === machineId)?.lines.find((l) => l.slot === "A1")?.sold).toBe(sent.length + 1);
    }
    onA.close();
    onB.close();
  });

  it("relays telemetry and the alert it raises; the alert's webhook goes once", async () => {
    const onA = await openConsole(a, authA);
    const onB = await openConsole(b, authB);
    const m = telemetry(machineId, { seq: 30, ts: Date.now(), door: "open", temperatureC: 5.5 });
    await machine.publishAsync(topicOf(m), JSON.stringify(m.payload), { qos: 1 });
    const doorAlert = (c: Console) => c.messages.find((x) => x.msg.type === "alert" && x.msg.alert.kind === "door-open" && x.msg.alert.machineId === machineId);
    const sample = (c: Console) => c.messages.find((x) => x.msg.type === "telemetry" && x.msg.machineId === machineId && x.msg.sample.temperatureC === 5.5);
    for (const c of [onA, onB]) {
      await expect.poll(() => sample(c) !== undefined).toBe(true);
      await expect.poll(() => doorAlert(c) !== undefined).toBe(true);
    }
    // Both servers evaluate every machine's alerts now: the one already open is not raised again by either.
    await Promise.all([a.service.tick(true), b.service.tick(true)]);
    await a.notifier.idle();
    await b.notifier.idle();
    await expect.poll(() => receiver.requests.length).toBe(1);
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ event: "raised", alerts: [{ kind: "door-open", machineId }] });
    const open = await a.service.store.openAlerts();
    expect(open.filter((x) => x.kind === "door-open" && x.machineId === machineId)).toHaveLength(1);
    onA.close();
    onB.close();
  });

  it("relays a command and a desired state sent through server A to a console on server B", async () => {
    const onB = await openConsole(b, authB);
    const post = (method: string, p: string, body: unknown) =>
      fetch(`${a.url}${p}`, { method, headers: { ...authA, "content-type": "application/json", origin: a.url }, body: JSON.stringify(body) });
    const cmd = await post("POST", `/api/machines/${machineId}/commands/rebirth`, { args: {} });
    expect(cmd.status).toBe(202);
    const { rid } = (await cmd.json()) as { rid: string };
    const desired = await post("PUT", `/api/machines/${machineId}/desired`, { mode: "maintenance" });
    expect(desired.status).toBe(202);
    await expect.poll(() => onB.messages.some((m) => m.msg.type === "command" && m.msg.command.rid === rid)).toBe(true);
    await expect.poll(() => onB.messages.some((m) => m.msg.type === "desired" && m.msg.machineId === machineId && m.msg.desired.mode === "maintenance")).toBe(true);
    onB.close();
  });

  it("hands a console nothing that is not a console message from the relay topic", async () => {
    const onB = await openConsole(b, authB);
    const before = b.live!.stats.refused;
    const rogue = [{ v: 1, origin: "rogue", msg: { type: "hello", machines: [], alerts: [] } }, { v: 1, origin: "rogue", msg: { type: "sale", sale: { machineId: "x" } } }, "not json"];
    for (const r of rogue) await machine.publishAsync(LIVE_TOPIC, typeof r === "string" ? r : JSON.stringify(r), { qos: 1 });
    await expect.poll(() => b.live!.stats.refused - before).toBe(3);
    const health = (await (await fetch(`${b.url}/api/health`, { headers: authB })).json()) as { live: { connected: boolean; refused: number } };
    expect(health.live).toMatchObject({ connected: true, refused: before + 3 });
    expect(onB.messages.filter((m) => m.msg.type !== "hello" && m.msg.type !== "machine" && m.msg.type !== "telemetry")).toEqual([]);
    onB.close();
  });
});
