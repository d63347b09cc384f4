// The production ACL (hardware/broker/zapvend.acl) with per-machine credentials, one table of cases run against both
// brokers a fleet uses: a real Mosquitto (`acl_file`, `password_file`, `use_username_as_clientid`) and the embedded
// aedes broker of `npm start` (broker-acl.ts, the same rules). Machine A cannot publish as machine B, read B's
// commands, take B's session or forge event acks; anonymous clients and wrong passwords are refused; the fleet does
// fleet things.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "@zapvend/protocol";
import { BrokerAcl, ZAPVEND_ACL, topicMatches } from "./broker-acl.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "./embedded-broker.js";
import { Mosquitto, mosquittoBinary } from "./__fixtures__/mosquitto.js";
import { Recorder } from "./__fixtures__/subscriber.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const aclFile = path.resolve(here, "../../../hardware/broker/zapvend.acl");
const USERS = ["zapvend-fleet", "a-01", "b-01"] as const;
const password = (user: string) => `pw-${user}-0123456789`;
/** What MachineBridge and FleetLink use; Mosquitto replaces it by the username, aedes requires it to be the user's. */
const clientIdOf = (user: string) => (user === "zapvend-fleet" ? user : `zapvend-${user}`);

interface BrokerUnderTest {
  url: string;
}

/** Connects once (no reconnect); resolves with the CONNACK outcome. */
async function tryConnect(url: string, o: { username?: string; password?: string; clientId: string; will?: mqtt.IClientOptions["will"] }): Promise<{ ok: true; client: mqtt.MqttClient } | { ok: false; error: string }> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, clean: true, connectTimeout: 5_000, ...o });
  return new Promise((resolve) => {
    client.once("connect", () => resolve({ ok: true, client }));
    client.once("error", (err) => {
      client.end(true);
      resolve({ ok: false, error: err.message });
    });
    client.once("close", () => resolve({ ok: false, error: "closed" }));
  });
}

function aclCases(broker: () => BrokerUnderTest) {
  const as = (user: string, filters: string[], clientId = clientIdOf(user)) => Recorder.connect(broker().url, filters, { username: user, password: password(user), clientId });
  // Denied messages produce nothing to wait for: after the allowed ones arrived, a short grace for stragglers.
  const settle = () => new Promise((r) => setTimeout(r, 300));

  it("machine A writes below its own id only and reads only its own commands", async () => {
    const fleet = await as("zapvend-fleet", [topics.allMachinesFilter()]);
    const a = await as("a-01", [topics.command("b-01", "reboot"), topics.command("a-01", "reboot")]);
    const b = await as("b-01", topics.machineInboxFilters("b-01"));
    try {
      await a.client.publishAsync(topics.status("a-01"), "a-own", { qos: 1 });
      await a.client.publishAsync(topics.status("b-01"), "a-as-b", { qos: 1 });
      await a.client.publishAsync(topics.event("b-01", "sale"), "a-as-b-sale", { qos: 1 });
      await a.client.publishAsync(topics.command("b-01", "reboot"), "a-commands-b", { qos: 1 });
      await a.client.publishAsync(topics.desired("b-01"), "a-desires-for-b", { qos: 1, retain: true });
      await fleet.client.publishAsync(topics.command("b-01", "reboot"), "fleet-to-b", { qos: 1 });
      await fleet.client.publishAsync(topics.command("a-01", "reboot"), "fleet-to-a", { qos: 1 });
      await fleet.waitFor(() => fleet.messages.length >= 1, 5_000, "a's own status");
      await b.waitFor(() => b.messages.length >= 1, 5_000, "b's command");
      await a.waitFor(() => a.messages.length >= 1, 5_000, "a's command");
      await settle();
      expect(fleet.messages.filter((m) => !m.topic.includes("/cmd/")).map((m) => m.payload)).toEqual(["a-own"]);
      expect(b.messages.map((m) => m.payload)).toEqual(["fleet-to-b"]); // never A's forged command or desired state
      expect(a.messages.map((m) => m.payload)).toEqual(["fleet-to-a"]); // never B's command
      expect(a.client.connected).toBe(true); // a denied publication is dropped, the connection stays (as Mosquitto)
    } finally {
      await Promise.all([fleet.close(), a.close(), b.close()]);
    }
  });

  it("event acks: the fleet writes them, a machine reads only its own and can forge none", async () => {
    const fleet = await as("zapvend-fleet", [topics.eventAck("a-01"), topics.eventAck("b-01")]);
    const a = await as("a-01", [topics.eventAck("a-01"), topics.eventAck("b-01"), topics.fleetState()]);
    const b = await as("b-01", topics.machineInboxFilters("b-01"));
    try {
      await a.client.publishAsync(topics.eventAck("a-01"), "a-acks-itself", { qos: 1 });
      await a.client.publishAsync(topics.eventAck("b-01"), "a-acks-b", { qos: 1 });
      await a.client.publishAsync(topics.fleetState(), "a-as-fleet", { qos: 1, retain: true });
      await fleet.client.publishAsync(topics.fleetState(), "fleet-online", { qos: 1, retain: true });
      await fleet.client.publishAsync(topics.eventAck("b-01"), "fleet-acks-b", { qos: 1 });
      await fleet.client.publishAsync(topics.eventAck("a-01"), "fleet-acks-a", { qos: 1 });
      await a.waitFor(() => a.on(topics.eventAck("a-01")).length >= 1, 5_000, "a's ack");
      await b.waitFor(() => b.on(topics.eventAck("b-01")).length >= 1, 5_000, "b's ack");
      await fleet.waitFor(() => fleet.messages.length >= 2, 5_000, "the fleet's own acks");
      await settle();
      expect(a.on(topics.eventAck("a-01")).map((m) => m.payload)).toEqual(["fleet-acks-a"]); // not its own forgery
      expect(a.on(topics.eventAck("b-01"))).toEqual([]); // never B's acks
      expect(b.on(topics.eventAck("b-01")).map((m) => m.payload)).toEqual(["fleet-acks-b"]); // never A's forgery
      // A machine reads the fleet's state (whether it acks) but cannot write it; the fleet's acks reach no one else.
      expect(a.on(topics.fleetState()).map((m) => m.payload)).toEqual(["fleet-online"]);
      expect(b.on(topics.fleetState()).map((m) => m.payload)).toEqual(["fleet-online"]);
      expect(fleet.messages.map((m) => m.payload).sort()).toEqual(["fleet-acks-a", "fleet-acks-b"]);
    } finally {
      await fleet.client.publishAsync(topics.fleetState(), "", { qos: 1, retain: true });
      await Promise.all([fleet.close(), a.close(), b.close()]);
    }
  });

  it("catalog pictures: the fleet writes them retained, every machine reads them, no machine writes one", async () => {
    const good = "a".repeat(64);
    const forged = "b".repeat(64);
    const fleet = await as("zapvend-fleet", []);
    const a = await as("a-01", []);
    try {
      await fleet.client.publishAsync(topics.picture(good), Buffer.from("RIFF-fleet-picture"), { qos: 1, retain: true });
      await a.client.publishAsync(topics.picture(forged), Buffer.from("RIFF-forged"), { qos: 1, retain: true });
      await a.client.publishAsync(topics.picture(good), Buffer.from("RIFF-overwrite"), { qos: 1, retain: true });
      // A machine that subscribes later gets the fleet's retained picture, and nothing a machine wrote.
      const b = await as("b-01", [topics.picture(good), topics.picture(forged)]);
      try {
        await b.waitFor(() => b.messages.length >= 1, 5_000, "the retained picture");
        await settle();
        expect(b.messages.map((m) => [m.topic, m.payload])).toEqual([[topics.picture(good), "RIFF-fleet-picture"]]);
      } finally {
        await b.close();
      }
    } finally {
      await fleet.client.publishAsync(topics.picture(good), "", { qos: 1, retain: true });
      await Promise.all([fleet.close(), a.close()]);
    }
  });

  it("refuses anonymous clients, unknown users and wrong passwords", async () => {
    const anonymous = await tryConnect(broker().url, { clientId: "zapvend-a-01" });
    const wrong = await tryConnect(broker().url, { username: "a-01", password: "not-the-password", clientId: "zapvend-a-01" });
    const unknown = await tryConnect(broker().url, { username: "c-01", password: password("c-01"), clientId: "zapvend-c-01" });
    const right = await tryConnect(broker().url, { username: "a-01", password: password("a-01"), clientId: "zapvend-a-01" });
    try {
      expect(anonymous).toMatchObject({ ok: false, error: expect.stringMatching(/not authori[sz]ed/i) });
      expect(wrong).toMatchObject({ ok: false, error: expect.stringMatching(/not authori[sz]ed|bad user ?name or password/i) });
      expect(unknown).toMatchObject({ ok: false, error: expect.stringMatching(/not authori[sz]ed|bad user ?name or password/i) });
      expect(right.ok).toBe(true);
    } finally {
      for (const r of [anonymous, wrong, unknown, right]) if (r.ok) await r.client.endAsync(true);
    }
  });

  it("machine A cannot take B's session, nor leave a will that speaks for B", async () => {
    const fleet = await as("zapvend-fleet", [topics.status("b-01")]);
    const b = await as("b-01", topics.machineInboxFilters("b-01"));
    try {
      // A asks for B's client id (Mosquitto makes it A's username; aedes refuses it), with a will on B's status.
      const thief = await tryConnect(broker().url, { username: "a-01", password: password("a-01"), clientId: "zapvend-b-01", will: { topic: topics.status("b-01"), payload: Buffer.from("a-says-b-is-lost"), qos: 1, retain: true } });
      if (thief.ok) {
        await thief.client.subscribeAsync(topics.machineInboxFilters("b-01"), { qos: 1 });
        thief.client.stream.destroy(); // an abrupt end: the broker publishes the will, if it took it
      }
      await fleet.client.publishAsync(topics.command("b-01", "reboot"), "fleet-to-b", { qos: 1 });
      await b.waitFor(() => b.on(topics.command("b-01", "reboot")).length >= 1, 5_000, "b's command");
      await settle();
      expect(b.client.connected).toBe(true); // B's session was not taken over
      expect(b.on(topics.command("b-01", "reboot")).map((m) => m.payload)).toEqual(["fleet-to-b"]);
      expect(fleet.on(topics.status("b-01"))).toEqual([]); // the forged will reached no one
    } finally {
      await fleet.client.publishAsync(topics.status("b-01"), "", { qos: 1, retain: true });
      await Promise.all([fleet.close(), b.close()]);
    }
  });
}

describe("hardware/broker ACL on Mosquitto", () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    const passwdBin = path.join(path.dirname(mosquittoBinary()).replace(/sbin$/, "bin"), "mosquitto_passwd");
    const bin = existsSync(passwdBin) ? passwdBin : "mosquitto_passwd";
    broker = new Mosquitto({
      extraConfig: ["allow_anonymous false", `password_file PASSWD`, `acl_file ${aclFile}`, "use_username_as_clientid true"].join("\n"),
    });
    const passwd = path.join(broker.dir, "passwd");
    for (const [i, user] of USERS.entries()) execFileSync(bin, [...(i === 0 ? ["-c"] : []), "-b", passwd, user, password(user)]);
    broker["options"].extraConfig = broker["options"].extraConfig!.replace("PASSWD", passwd);
    await broker.start();
  });
  afterAll(async () => {
    await broker.dispose();
  });
  aclCases(() => broker);
});

describe("the same ACL on the embedded broker (aedes)", () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0, users: Object.fromEntries(USERS.map((u) => [u, password(u)])) });
  });
  afterAll(async () => {
    await broker.close();
  });
  aclCases(() => broker);

  it("enforces the rules of hardware/broker/zapvend.acl, line for line", () => {
    const rules = (text: string) =>
      text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
    expect(rules(ZAPVEND_ACL)).toEqual(rules(readFileSync(aclFile, "utf8")));
    const acl = BrokerAcl.parse(readFileSync(aclFile, "utf8"));
    expect(acl.allows("a-01", "zapvend-a-01", "write", "zapvend/v1/m/a-01/event/sale")).toBe(true);
    expect(acl.allows("a-01", "zapvend-a-01", "write", "zapvend/v1/m/a-01/event-ack")).toBe(false);
    expect(acl.allows("a+", "zapvend-a+", "read", "zapvend/v1/m/a+/cmd/reboot")).toBe(false); // no wildcard users
    expect(acl.allows(null, "x", "read", "zapvend/v1/fleet/state")).toBe(false); // anonymous: no patterns
    expect(acl.allows("zapvend-fleet", "zapvend-fleet", "read", "zapvend/v1/m/a-01/cmd/reboot/res")).toBe(true);
    // The fleet servers' live relay (issue #18): theirs only; a machine can neither forge nor read console updates.
    expect(acl.allows("zapvend-fleet", "zapvend-fleet", "write", "zapvend/v1/fleet/live")).toBe(true);
    expect(acl.allows("a-01", "zapvend-a-01", "write", "zapvend/v1/fleet/live")).toBe(false);
    expect(acl.allows("a-01", "zapvend-a-01", "read", "zapvend/v1/fleet/live")).toBe(false);
    expect(topicMatches("zapvend/v1/m/#", "zapvend/v1/m")).toBe(true);
    expect(topicMatches("#", "$SYS/broker/uptime")).toBe(false);
  });
});
