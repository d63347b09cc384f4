// The production ACL (hardware/broker/zapvend.acl) on a real Mosquitto with per-machine credentials and
// use_username_as_clientid: machine A cannot publish as machine B nor read B's commands; its own traffic flows.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "@zapvend/protocol";
import { Mosquitto, mosquittoBinary } from "./__fixtures__/mosquitto.js";
import { Recorder } from "./__fixtures__/subscriber.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const aclFile = path.resolve(here, "../../../hardware/broker/zapvend.acl");

let broker: Mosquitto;
beforeAll(async () => {
  const passwdBin = path.join(path.dirname(mosquittoBinary()).replace(/sbin$/, "bin"), "mosquitto_passwd");
  const bin = existsSync(passwdBin) ? passwdBin : "mosquitto_passwd";
  broker = new Mosquitto({
    extraConfig: ["allow_anonymous false", `password_file PASSWD`, `acl_file ${aclFile}`, "use_username_as_clientid true"].join("\n"),
  });
  const passwd = path.join(broker.dir, "passwd");
  for (const [i, user] of ["zapvend-fleet", "a-01", "b-01"].entries()) {
    execFileSync(bin, [...(i === 0 ? ["-c"] : []), "-b", passwd, user, `pw-${user}`]);
  }
  broker["options"].extraConfig = broker["options"].extraConfig!.replace("PASSWD", passwd);
  await broker.start();
});
afterAll(async () => {
  await broker.dispose();
});

const as = (user: string, filters: string[]) => Recorder.connect(broker.url, filters, { username: user, password: `pw-${user}`, clientId: "ignored-by-broker" });
const settle = () => new Promise((r) => setTimeout(r, 300));

describe("hardware/broker ACL on Mosquitto", () => {
  it("machine A writes below its own id only and reads only its own commands", async () => {
    const fleet = await as("zapvend-fleet", [topics.allMachinesFilter()]);
    const a = await as("a-01", [topics.command("b-01", "reboot"), topics.command("a-01", "reboot")]);
    const b = await as("b-01", topics.machineInboxFilters("b-01"));
    try {
      await a.client.publishAsync(topics.status("a-01"), "a-own", { qos: 1 });
      await a.client.publishAsync(topics.status("b-01"), "a-as-b", { qos: 1 });
      await a.client.publishAsync(topics.event("b-01", "sale"), "a-as-b-sale", { qos: 1 });
      await a.client.publishAsync(topics.command("b-01", "reboot"), "a-commands-b", { qos: 1 });
      await fleet.client.publishAsync(topics.command("b-01", "reboot"), "fleet-to-b", { qos: 1 });
      await fleet.client.publishAsync(topics.command("a-01", "reboot"), "fleet-to-a", { qos: 1 });
      await fleet.waitFor(() => fleet.messages.length >= 1, 5_000, "a's own status");
      await b.waitFor(() => b.messages.length >= 1, 5_000, "b's command");
      await a.waitFor(() => a.messages.length >= 1, 5_000, "a's command");
      await settle();
      expect(fleet.messages.filter((m) => !m.topic.includes("/cmd/")).map((m) => m.payload)).toEqual(["a-own"]);
      expect(b.messages.map((m) => m.payload)).toEqual(["fleet-to-b"]); // never A's forged command
      expect(a.messages.map((m) => m.payload)).toEqual(["fleet-to-a"]); // never B's command
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
      // A machine reads the fleet's state (whether it acks); the fleet's acks reach no one else.
      expect(a.on(topics.fleetState()).map((m) => m.payload)).toEqual(["fleet-online"]);
      expect(b.on(topics.fleetState()).map((m) => m.payload)).toEqual(["fleet-online"]);
      expect(fleet.messages.map((m) => m.payload).sort()).toEqual(["fleet-acks-a", "fleet-acks-b"]);
    } finally {
      await fleet.client.publishAsync(topics.fleetState(), "", { qos: 1, retain: true });
      await Promise.all([fleet.close(), a.close(), b.close()]);
    }
  });
});
