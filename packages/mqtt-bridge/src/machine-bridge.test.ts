// Integration: a MachineBridge against a real Mosquitto, observed by a plain subscriber (bytes on the wire) and by
// the rows left in SQLite.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseMqttMessage, topics } from "@zapvend/protocol";
import { MachineBridge } from "./machine-bridge.js";
import { Mosquitto } from "./__fixtures__/mosquitto.js";
import { Recorder, until } from "./__fixtures__/subscriber.js";
import { bridgeOptions, memoryDb, operatorKey, saleBody, signedCommand, signedDesired, type OperatorKeyPair } from "./__fixtures__/machine.js";

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

let n = 0;
async function setup(over: Parameters<typeof bridgeOptions>[4] = {}, key: OperatorKeyPair = operatorKey()) {
  const machineId = `m-${process.pid}-${++n}`;
  const rec = await Recorder.connect(broker.url, [topics.machineFilter(machineId)]);
  cleanups.push(() => rec.close());
  const db = memoryDb();
  const bridge = new MachineBridge(bridgeOptions(broker.url, machineId, key, db, over));
  cleanups.push(() => bridge.stop());
  await bridge.start();
  await rec.waitFor(() => rec.on(topics.birth(machineId)).length > 0, 10_000, "birth");
  // The inbox subscription is sent right after CONNACK; give Mosquitto its SUBACK before the tests publish commands.
  await until(() => Object.keys(bridge["conn"]!.client.messageIdToTopic).length === 0, 5_000, "suback");
  return { machineId, rec, db, bridge, key };
}

describe("MachineBridge on Mosquitto", () => {
  it("publishes retained status online with the boot counter, retained birth, and telemetry at QoS 0", async () => {
    const { machineId, rec, bridge } = await setup();
    const status = rec.on(topics.status(machineId));
    expect(status[0]).toMatchObject({ retain: false, qos: 1 }); // live delivery to an existing subscriber
    // The installation id goes with the boot counter: the fleet orders boots within one installation.
    expect(bridge.install).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(status[0]!.payload)).toMatchObject({ v: 1, state: "online", boot: 1, install: bridge.install });
    const birth = rec.on(topics.birth(machineId))[0]!;
    expect(parseMqttMessage(birth.topic, birth.payload).ok).toBe(true);
    expect(JSON.parse(birth.payload)).toMatchObject({ model: "zapvend-test", boot: bridge.boot, install: bridge.install, slots: [{ slot: "A1" }] });
    await rec.waitFor(() => rec.on(topics.telemetry(machineId)).length > 0, 5_000, "telemetry");
    const tele = rec.on(topics.telemetry(machineId))[0]!;
    expect(tele.qos).toBe(0);
    expect(parseMqttMessage(tele.topic, tele.payload).ok).toBe(true);

    // A late subscriber gets the retained status and birth.
    const late = await Recorder.connect(broker.url, [topics.status(machineId), topics.birth(machineId)]);
    cleanups.push(() => late.close());
    await late.waitFor(() => late.messages.length >= 2, 5_000, "retained");
    expect(late.messages.every((m) => m.retain)).toBe(true);
  });

  it("a clean stop publishes offline; service mode publishes service", async () => {
    const { machineId, rec, bridge } = await setup();
    bridge.setServiceMode(true);
    await rec.waitFor(() => rec.json<{ state: string }>(topics.status(machineId)).some((s) => s.state === "service"), 5_000, "service");
    await bridge.stop();
    await rec.waitFor(() => rec.json<{ state: string }>(topics.status(machineId)).at(-1)?.state === "offline", 5_000, "offline");
    // No will after a clean DISCONNECT.
    await new Promise((r) => setTimeout(r, 200));
    expect(rec.json<{ state: string }>(topics.status(machineId)).map((s) => s.state)).toEqual(["online", "service", "offline"]);
  });

  it("events written in a committed transaction are published in order at QoS 1 and their rows deleted; rolled back ones never", async () => {
    const { machineId, rec, db, bridge } = await setup();
    db.exec("CREATE TABLE journal (n INTEGER)");
    const tx = db.transaction((i: number, fail: boolean) => {
      db.prepare("INSERT INTO journal (n) VALUES (?)").run(i);
      bridge.outbox.enqueue(saleBody(i));
      if (fail) throw new Error("transition failed");
    });
    tx(1, false);
    expect(() => tx(2, true)).toThrow("transition failed");
    tx(3, false);
    await rec.waitFor(() => rec.on(topics.event(machineId, "sale")).length >= 2, 5_000, "events");
    await new Promise((r) => setTimeout(r, 100));
    const events = rec.on(topics.event(machineId, "sale"));
    expect(events.map((e) => e.qos)).toEqual([1, 1]);
    const payloads = events.map((e) => {
      const p = parseMqttMessage(e.topic, e.payload);
      if (!p.ok) throw new Error(p.error.message);
      return p.value.payload as { seq: number; orderId: string; boot: number; id: string };
    });
    expect(payloads.map((p) => p.orderId)).toEqual(["order-000001", "order-000003"]);
    expect(payloads[1]!.seq).toBeGreaterThan(payloads[0]!.seq);
    expect(new Set(payloads.map((p) => p.id)).size).toBe(2);
    await until(() => bridge.outbox.size() === 0, 2_000, "rows deleted");
    expect(db.prepare("SELECT count(*) AS n FROM journal").get()).toEqual({ n: 2 });
  });

  it("executes a command signed by a trusted key and answers ok with the handler's data", async () => {
    const calls: unknown[] = [];
    const { machineId, rec, key } = await setup({
      commandHandlers: { "test-vend": (args) => { calls.push(args); return { vended: args.slot }; } },
    });
    const cmd = signedCommand(key, { aud: machineId, name: "test-vend", ctr: 1, args: { slot: "A1" }, rid: "rid-ok-00001" });
    await rec.client.publishAsync(topics.command(machineId, "test-vend"), JSON.stringify(cmd), { qos: 1 });
    await rec.waitFor(() => rec.on(topics.commandResult(machineId, "test-vend")).length > 0, 5_000, "result");
    const res = rec.on(topics.commandResult(machineId, "test-vend"))[0]!;
    expect(parseMqttMessage(res.topic, res.payload).ok).toBe(true);
    expect(JSON.parse(res.payload)).toMatchObject({ rid: "rid-ok-00001", status: "ok", data: { vended: "A1" } });
    expect(calls).toEqual([{ slot: "A1" }]);
  });

  it("refuses forged, expired, replayed, misaddressed and badly-argued commands with a code, counts them and never runs them", async () => {
    const calls: unknown[] = [];
    const mallory = operatorKey("op-1"); // same key id, different key: a forgery
    const { machineId, rec, key, bridge, db } = await setup({
      commandHandlers: { "test-vend": (args) => { calls.push(args); return {}; } },
    });
    const send = (cmd: Record<string, unknown>) => rec.client.publishAsync(topics.command(machineId, "test-vend"), JSON.stringify(cmd), { qos: 1 });
    const good = signedCommand(key, { aud: machineId, name: "test-vend", ctr: 5, args: { slot: "A1" }, rid: "rid-good-0001" });
    await send(signedCommand(mallory, { aud: machineId, name: "test-vend", ctr: 10, args: { slot: "A1" }, rid: "rid-forged-01" }));
    await send({ ...good, args: { slot: "B2" }, rid: "rid-tamper-01" }); // tampered after signing
    // Expired beyond the 30 s clock tolerance.
    await send(signedCommand(key, { aud: machineId, name: "test-vend", ctr: 2, args: { slot: "A1" }, now: Date.now() - 90_000, exp: Date.now() - 31_000, rid: "rid-expired-1" }));
    await send(signedCommand(key, { aud: "someone-else", name: "test-vend", ctr: 3, args: { slot: "A1" }, rid: "rid-misaddr-1" }));
    await send(good);
    await send(good); // replay of the exact same message
    await send(signedCommand(key, { aud: machineId, name: "test-vend", ctr: 4, args: { slot: "A1" }, rid: "rid-lower-ctr" }));
    await send(signedCommand(key, { aud: machineId, name: "test-vend", ctr: 6, args: { slot: "a1" }, rid: "rid-badargs-1" }));
    await send(signedCommand(key, { aud: machineId, name: "test-vend", ctr: 7, args: { slot: "A1" }, rid: "rid-second-01" }));
    const resTopic = topics.commandResult(machineId, "test-vend");
    await rec.waitFor(() => rec.on(resTopic).length >= 9, 10_000, "9 results");
    const results = Object.fromEntries(rec.json<{ rid: string; status: string; error?: { code: string } }>(resTopic).map((r) => [r.rid, r.error?.code ?? r.status]));
    expect(results).toEqual({
      "rid-forged-01": "BAD_SIGNATURE",
      "rid-tamper-01": "BAD_SIGNATURE",
      "rid-expired-1": "EXPIRED",
      "rid-misaddr-1": "WRONG_AUDIENCE",
      "rid-good-0001": "REPLAYED", // the second delivery answers last under the same rid
      "rid-lower-ctr": "REPLAYED",
      "rid-badargs-1": "BAD_ARGS",
      "rid-second-01": "ok",
    });
    const goodAnswers = rec.json<{ rid: string; status: string }>(resTopic).filter((r) => r.rid === "rid-good-0001").map((r) => r.status);
    expect(goodAnswers).toEqual(["ok", "error"]);
    expect(calls).toEqual([{ slot: "A1" }, { slot: "A1" }]);
    expect(bridge.counters.commandsRefused).toBe(7);
    expect(db.prepare("SELECT key_id, ctr FROM bridge_command_counters").all()).toEqual([{ key_id: "op-1", ctr: 7 }]);
  });

  it("takes commands within 30 s of clock skew; refuses one signed further in its future, expired beyond it, or valid for longer than 5 min", async () => {
    const calls: string[] = [];
    const { machineId, rec, key, bridge, db } = await setup({
      commandHandlers: { "test-vend": (_args, ctx) => { calls.push(ctx.rid); return {}; } },
    });
    const send = (cmd: Record<string, unknown>) => rec.client.publishAsync(topics.command(machineId, "test-vend"), JSON.stringify(cmd), { qos: 1 });
    const t = Date.now();
    const cmd = (ctr: number, rid: string, now: number, exp: number) => signedCommand(key, { aud: machineId, name: "test-vend", ctr, args: { slot: "A1" }, now, exp, rid });
    // The fleet's clock 20 s ahead: signed "in the future", within the tolerance.
    await send(cmd(1, "rid-ahead-ok1", t + 20_000, t + 50_000));
    // The fleet's clock 20 s behind: already "expired" by this clock, within the tolerance.
    await send(cmd(2, "rid-behind-ok", t - 40_000, t - 10_000));
    await send(cmd(3, "rid-future-01", t + 120_000, t + 150_000));
    await send(cmd(4, "rid-expired-2", t - 120_000, t - 60_000));
    await send(cmd(5, "rid-longlife1", t, t + 300_001));
    await send(cmd(6, "rid-5min-ok01", t, t + 300_000));
    const resTopic = topics.commandResult(machineId, "test-vend");
    await rec.waitFor(() => rec.on(resTopic).length >= 6, 10_000, "6 results");
    const results = Object.fromEntries(rec.json<{ rid: string; status: string; error?: { code: string } }>(resTopic).map((r) => [r.rid, r.error?.code ?? r.status]));
    expect(results).toEqual({
      "rid-ahead-ok1": "ok",
      "rid-behind-ok": "ok",
      "rid-future-01": "NOT_YET_VALID",
      "rid-expired-2": "EXPIRED",
      "rid-longlife1": "LIFETIME_TOO_LONG",
      "rid-5min-ok01": "ok",
    });
    expect(calls).toEqual(["rid-ahead-ok1", "rid-behind-ok", "rid-5min-ok01"]);
    expect(bridge.counters.commandsRefused).toBe(3);
    expect(db.prepare("SELECT key_id, ctr FROM bridge_command_counters").all()).toEqual([{ key_id: "op-1", ctr: 6 }]);
  });

  it("remembers the highest counter across a restart: a replay after reboot is refused", async () => {
    const { machineId, rec, key, bridge, db } = await setup({ commandHandlers: { reboot: () => ({}) } });
    const cmd = signedCommand(key, { aud: machineId, name: "reboot", ctr: 1, rid: "rid-reboot-01" });
    const resTopic = topics.commandResult(machineId, "reboot");
    await rec.client.publishAsync(topics.command(machineId, "reboot"), JSON.stringify(cmd), { qos: 1 });
    await rec.waitFor(() => rec.on(resTopic).length === 1, 5_000, "first result");
    await bridge.stop();
    const again = new MachineBridge(bridgeOptions(broker.url, machineId, key, db, { commandHandlers: { reboot: () => ({}) } }));
    cleanups.push(() => again.stop());
    await again.start();
    await rec.waitFor(() => rec.json<{ state: string; boot: number }>(topics.status(machineId)).some((s) => s.boot === 2 && s.state === "online"), 5_000, "boot 2 online");
    await until(() => Object.keys(again["conn"]!.client.messageIdToTopic).length === 0, 5_000, "suback");
    await rec.client.publishAsync(topics.command(machineId, "reboot"), JSON.stringify(cmd), { qos: 1 });
    await rec.waitFor(() => rec.on(resTopic).length === 2, 5_000, "second result");
    expect(rec.json<{ status: string; error?: { code: string } }>(resTopic).map((r) => r.error?.code ?? r.status)).toEqual(["ok", "REPLAYED"]);
  });

  it("drops garbage with a counter and keeps working", async () => {
    const calls: unknown[] = [];
    const { machineId, rec, key, bridge } = await setup({ commandHandlers: { "test-vend": (a) => { calls.push(a); return {}; } } });
    const t = topics.command(machineId, "test-vend");
    await rec.client.publishAsync(t, "not json {", { qos: 1 });
    await rec.client.publishAsync(t, Buffer.alloc(1024 * 1024, 0x7b), { qos: 1 });
    await rec.client.publishAsync(t, JSON.stringify({ v: 1, id: 42, name: ["x"] }), { qos: 1 });
    await rec.client.publishAsync(topics.desired(machineId), JSON.stringify({ v: 1, version: "seven" }), { qos: 1 });
    await until(() => bridge.counters.invalidMessages === 4, 5_000, "4 invalid");
    await rec.client.publishAsync(t, JSON.stringify(signedCommand(key, { aud: machineId, name: "test-vend", ctr: 1, args: { slot: "A1" } })), { qos: 1 });
    await until(() => calls.length === 1, 5_000, "command after garbage");
    expect(bridge.connected).toBe(true);
  });

  it("applies a signed desired state and reports it with the same version; refuses unsigned and invalid ones with the reason", async () => {
    const { machineId, rec, key, bridge, db } = await setup();
    const to = { aud: machineId, install: bridge.install };
    const reported = () => rec.json<{ version: number; status: string; error: { code: string } | null; slots: Record<string, { enabled: boolean }>; mode: string }>(topics.reported(machineId));
    await rec.client.publishAsync(topics.desired(machineId), JSON.stringify(signedDesired(key, 3, { slots: { A1: { enabled: false } }, mode: "maintenance" }, to)), { qos: 1, retain: true });
    await rec.waitFor(() => reported().length === 1, 5_000, "reported v3");
    expect(reported()[0]).toMatchObject({ version: 3, status: "applied", error: null, slots: { A1: { enabled: false } }, mode: "maintenance" });

    const unsigned = signedDesired(key, 4, { slots: { A1: { enabled: true } } }, to);
    delete unsigned.sig;
    await rec.client.publishAsync(topics.desired(machineId), JSON.stringify(unsigned), { qos: 1, retain: true });
    await rec.waitFor(() => reported().length === 2, 5_000, "refused unsigned");
    expect(reported()[1]).toMatchObject({ version: 3, status: "refused", error: { code: "BAD_SIGNATURE" }, slots: { A1: { enabled: false } } });

    await rec.client.publishAsync(topics.desired(machineId), JSON.stringify(signedDesired(key, 5, { slots: { Z9: { enabled: true } } }, to)), { qos: 1, retain: true });
    await rec.waitFor(() => reported().length === 3, 5_000, "refused by the machine");
    expect(reported()[2]).toMatchObject({ version: 3, status: "refused", error: { code: "UNKNOWN_SLOT" } });
    expect(bridge.counters).toMatchObject({ desiredApplied: 1, desiredRefused: 2 });
    expect(db.prepare("SELECT value FROM bridge_meta WHERE key = 'desired_version'").get()).toEqual({ value: 3 });
  });

  it("refuses a desired state signed for another machine, another installation, or none, and applies it once signed for this one", async () => {
    const { machineId, rec, key, bridge, db } = await setup();
    const reported = () => rec.json<{ version: number; status: string; error: { code: string; message: string } | null }>(topics.reported(machineId));
    const refusals: Array<{ version: number | null; code: string }> = [];
    bridge.on("desired-refused", (r) => refusals.push({ version: r.version, code: r.code }));
    const publish = (d: Record<string, unknown>) => rec.client.publishAsync(topics.desired(machineId), JSON.stringify(d), { qos: 1, retain: true });
    const body = { slots: { A1: { enabled: false } } };
    // Another machine's desired state, validly signed, replayed onto this machine's topic.
    await publish(signedDesired(key, 2, body, { aud: "other-machine", install: bridge.install }));
    // This machine's previous installation (the retained state a reflashed SD card finds).
    await publish(signedDesired(key, 3, body, { aud: machineId, install: bridge.install + 1 }));
    // No audience at all (a fleet from before aud), and no installation (the fleet had not seen this birth yet).
    await publish(signedDesired(key, 4, body));
    await publish(signedDesired(key, 5, body, { aud: machineId }));
    // Tampering with aud after signing breaks the signature.
    await publish({ ...signedDesired(key, 6, body, { aud: "other-machine", install: bridge.install }), aud: machineId });
    await rec.waitFor(() => reported().length >= 5, 10_000, "5 refusals");
    expect(reported().map((r) => [r.status, r.error?.code])).toEqual([
      ["refused", "WRONG_AUDIENCE"],
      ["refused", "WRONG_INSTALL"],
      ["refused", "WRONG_AUDIENCE"],
      ["refused", "MISSING_INSTALL"],
      ["refused", "BAD_SIGNATURE"],
    ]);
    expect(refusals.map((r) => r.code)).toEqual(["WRONG_AUDIENCE", "WRONG_INSTALL", "WRONG_AUDIENCE", "MISSING_INSTALL", "BAD_SIGNATURE"]);
    expect(db.prepare("SELECT value FROM bridge_meta WHERE key = 'desired_version'").get()).toBeUndefined();
    // The fleet learned the installation id and signs it again for this one: applied.
    await publish(signedDesired(key, 5, body, { aud: machineId, install: bridge.install }));
    await rec.waitFor(() => reported().length >= 6, 10_000, "applied");
    expect(reported()[5]).toMatchObject({ version: 5, status: "applied", error: null });
    expect(bridge.counters).toMatchObject({ desiredApplied: 1, desiredRefused: 5 });
  });
});
