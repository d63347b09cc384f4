// What the embedded broker's credentials and ACL (issue 15) cost on the MQTT path. The same load through aedes open
// (no users) and with users + the fleet ACL (hardware/broker/zapvend.acl), in interleaved rounds: a machine publishes
// telemetry-sized QoS 0 messages below its own id, the fleet reads the whole tree. Every message is one write check
// (the publisher) and one read check (the delivery to the fleet). Each ratio is the median of the per-round ratios,
// by the clock (what a fleet sees) and by this process's CPU time (broker and both clients run in this process, so
// on a shared machine the CPU time counts only the work done). Goal: the ACL keeps >= 90% of the open throughput.
// A last row measures one ACL check, cached per client (what the broker does) and walking the rules.
import mqtt from "mqtt";
import { median, round } from "./lib.mjs";

const MESSAGES = Number(process.env.ZAPVEND_BROKER_ACL_MESSAGES ?? 20_000);
const ROUNDS = Number(process.env.ZAPVEND_BROKER_ACL_ROUNDS ?? 5);
const USERS = { "zapvend-fleet": "fleet-password-0123", "bench-01": "machine-password-01" };

async function once(startEmbeddedBroker, withAcl) {
  const broker = await startEmbeddedBroker({ port: 0, ...(withAcl ? { users: USERS } : {}) });
  const cred = (u) => (withAcl ? { username: u, password: USERS[u] } : {});
  const fleet = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: "zapvend-fleet", ...cred("zapvend-fleet") });
  await fleet.subscribeAsync("zapvend/v1/m/#", { qos: 0 });
  const machine = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: "zapvend-bench-01", ...cred("bench-01") });
  let got = 0;
  const all = new Promise((resolve) => fleet.on("message", () => ++got === MESSAGES && resolve()));
  const payload = JSON.stringify({ v: 1, id: "0".repeat(36), ts: Date.now(), boot: 1, seq: 1, temperatureC: 6.5, door: "closed", payments: "up", hardware: "up" });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i++) machine.publish("zapvend/v1/m/bench-01/telemetry", payload, { qos: 0 });
  await all;
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await machine.endAsync();
  await fleet.endAsync();
  await broker.close();
  return { perS: MESSAGES / wallS, cpuUsPerMsg: (cpu.user + cpu.system) / MESSAGES };
}

export default async function run() {
  const { startEmbeddedBroker, BrokerAcl, AclCache, ZAPVEND_ACL } = await import("@zapvend/mqtt-bridge");
  await once(startEmbeddedBroker, false); // warm-up
  const open = [];
  const acl = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so a machine getting busier or quieter does not favour one.
    if (r % 2 === 0) {
      open.push(await once(startEmbeddedBroker, false));
      acl.push(await once(startEmbeddedBroker, true));
    } else {
      acl.push(await once(startEmbeddedBroker, true));
      open.push(await once(startEmbeddedBroker, false));
    }
  }
  const byClock = median(open.map((o, i) => acl[i].perS / o.perS));
  const byCpu = median(open.map((o, i) => o.cpuUsPerMsg / acl[i].cpuUsPerMsg));

  const rules = BrokerAcl.parse(ZAPVEND_ACL);
  const cache = new AclCache(rules, "bench-01", "zapvend-bench-01");
  const nsPer = (fn, n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return ((performance.now() - t0) * 1e6) / n;
  };
  const topic = "zapvend/v1/m/bench-01/event/sale";
  const walk = median([0, 1, 2].map(() => nsPer(() => rules.allows("bench-01", "zapvend-bench-01", "write", topic), 100_000)));
  const cached = median([0, 1, 2].map(() => nsPer(() => cache.allows("write", topic), 1_000_000)));

  return [
    {
      name: "embedded broker with credentials + ACL vs open, throughput by the clock",
      value: Math.round(median(acl.map((a) => a.perS))),
      unit: "msg/s",
      baseline: Math.round(median(open.map((o) => o.perS))),
      ratio: round(byClock, 3),
      samples: ROUNDS,
      goal: { op: ">=", value: 0.9, on: "ratio" },
    },
    {
      name: "embedded broker with credentials + ACL vs open, CPU time per message",
      value: round(median(acl.map((a) => a.cpuUsPerMsg)), 2),
      unit: "us/msg",
      baseline: round(median(open.map((o) => o.cpuUsPerMsg)), 2),
      ratio: round(byCpu, 3),
      samples: ROUNDS,
      goal: { op: ">=", value: 0.9, on: "ratio" },
    },
    { name: "one ACL check, cached per client (the broker's path) vs walking the rules", value: round(cached, 1), unit: "ns", baseline: round(walk, 1), ratio: round(walk / cached, 1) },
  ];
}
