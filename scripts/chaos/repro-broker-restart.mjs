#!/usr/bin/env node
// Reproduces the sale that `npm run chaos` lost at the fleet (seed 103693330): the embedded broker keeps sessions in
// memory, so after a broker restart the fleet's persistent session is gone until the fleet reconnects and subscribes
// again. A machine that reconnects first flushes its outbox into a broker with no subscriber for its events; the
// broker acknowledges them (QoS 1 is hop by hop), the machine deletes them from its outbox, and the sale never reaches
// the fleet (which only notices a gap in the sequence numbers).
//
// Deterministic here: the fleet is paused (SIGSTOP) across a clean broker restart and one sale, as if its reconnect
// backoff were longer than the machine's, then resumed. Exit 1 when the sale is lost, 0 when it arrives.
//   node scripts/chaos/repro-broker-restart.mjs        (after npx turbo run build)
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { Processes, bins, freePort, http, machineConfig, operatorKey, root, sleep, until } from "../../test/crash/system.mjs";

const dir = mkdtempSync(path.join(tmpdir(), "zapvend-repro-"));
const procs = new Processes(dir);
const say = (line) => process.stderr.write(`[repro] ${line}\n`);

async function buy(kiosk, simUrl) {
  const order = (await http(`${kiosk}/api/orders`, { method: "POST", body: { slot: "A1" } })).body;
  void http(`${simUrl}/wallet/pay`, { method: "POST", body: { bolt11: order.bolt11 }, timeoutMs: 60_000 }).catch(() => undefined);
  const state = await until(async () => ((await http(`${kiosk}/api/orders/${order.orderId}`)).body.state === "completed" ? "completed" : ""), { timeoutMs: 20_000 });
  if (state !== "completed") throw new Error(`order ${order.orderId} did not complete`);
  return order.orderId;
}

function fleetHasSale(fleetDb, orderId) {
  const db = new Database(fleetDb, { readonly: true, fileMustExist: true });
  try {
    return Boolean(db.prepare("SELECT 1 FROM ledger WHERE kind = 'sale' AND order_id = ?").get(orderId));
  } finally {
    db.close();
  }
}

function outboxSize(machineDb) {
  const db = new Database(machineDb, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT count(*) AS n FROM bridge_outbox").get().n;
  } finally {
    db.close();
  }
}

async function main() {
  const brokerPort = await freePort();
  let broker = await procs.start("broker", [bins.broker, "--port", String(brokerPort), "--allow-anonymous"], "broker");
  const simUrl = (await procs.start("sim-node", [bins.sim, "--port", String(await freePort())], "sim-lightning")).url;
  const key = operatorKey(dir);
  const fleetDb = path.join(dir, "fleet.db");
  writeFileSync(
    path.join(dir, "fleet.json"),
    JSON.stringify({ http: { host: "127.0.0.1", port: await freePort() }, mqtt: { url: broker.url }, database: fleetDb, operatorKey: { keyId: key.keyId, privateKeyPath: key.privateKeyPath } }),
  );
  const fleet = await procs.start("fleet", [bins.fleet, "--config", path.join(dir, "fleet.json")], "fleet");
  const dataDir = path.join(dir, "snacks-01");
  const catalog = [{ slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "msat", amountMsat: "1000000" }, stock: 10, capacity: 10 }];
  writeFileSync(
    path.join(dir, "snacks-01.json"),
    JSON.stringify(machineConfig({ machineId: "snacks-01", port: await freePort(), brokerUrl: broker.url, simUrl, dataDir, pinmap: path.join(root, "hardware/pinmaps/snacks.json"), catalog })),
  );
  const kiosk = (await procs.start("snacks-01", [bins.machine, "--config", path.join(dir, "snacks-01.json")], "kiosk snacks-01")).url;
  await until(async () => (await http(`${kiosk}/api/health`)).body.selling === true, { timeoutMs: 15_000 });

  const first = await buy(kiosk, simUrl);
  const control = await until(() => fleetHasSale(fleetDb, first), { timeoutMs: 15_000 });
  say(`control: sale ${first} ${control ? "reached" : "DID NOT reach"} the fleet`);

  say("pausing the fleet (SIGSTOP), restarting the broker cleanly (SIGTERM) on the same port");
  fleet.child.kill("SIGSTOP");
  await procs.stop(broker.child, 5_000);
  broker = await procs.start("broker", [bins.broker, "--port", String(brokerPort), "--allow-anonymous"], "broker");
  const second = await buy(kiosk, simUrl);
  const flushed = await until(() => outboxSize(path.join(dataDir, "machine.db")) === 0, { timeoutMs: 20_000 });
  say(`sale ${second} completed; the machine's outbox is ${flushed ? "empty (the broker acknowledged the event)" : "still holding it"}`);
  fleet.child.kill("SIGCONT");
  say("fleet resumed; waiting 20 s for the sale");
  const arrived = await until(() => fleetHasSale(fleetDb, second), { timeoutMs: 20_000, intervalMs: 500 });
  say(arrived ? `sale ${second} reached the fleet: not reproduced` : `sale ${second} is LOST: the machine deleted it, the fleet never got it (logs in ${dir})`);
  return arrived && control ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  say(`failed: ${err.stack ?? err}`);
} finally {
  for (const c of procs.children) c.kill("SIGCONT");
  await procs.stopAll(3_000);
  procs.killAllNow();
}
await sleep(0);
process.exit(code);
