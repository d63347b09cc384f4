#!/usr/bin/env node
// `npm start`: the whole demo on embedded defaults, each part in its own process as in the field (a daemon per
// machine, the fleet elsewhere), so killing one machine is a real crash the others survive.
// Order: broker -> sim Lightning node -> fleet server -> machines. Every URL is printed as `<name>: <url>`.
// Ctrl-C (SIGINT) or SIGTERM stops everything cleanly, machines first.
import { spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, scryptSync } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { seedDemoCatalog } from "./demo-catalog.mjs";
import { startNotifyReceiver } from "./demo-notify.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const demoDir = path.resolve(process.env.ZAPVEND_DEMO_DIR ?? path.join(root, ".zapvend", "demo"));
// Ports of the demo (DESIGN.md); each can be moved with an environment variable when something else holds it.
const ports = {
  sim: Number(process.env.ZAPVEND_SIM_PORT ?? 8060),
  fleet: Number(process.env.ZAPVEND_FLEET_PORT ?? 8090),
  kiosks: (process.env.ZAPVEND_KIOSK_PORTS ?? "8080,8081,8082").split(",").map(Number),
  // The demo's alert receiver (scripts/demo-notify.mjs), the fleet's webhook channel: a fixed port, so settings
  // saved from the console's notifications page keep reaching it after a restart.
  notify: Number(process.env.ZAPVEND_NOTIFY_PORT ?? 8070),
};
const bins = {
  broker: path.join(root, "packages/mqtt-bridge/dist/broker-cli.js"),
  sim: path.join(root, "packages/payments/dist/sim-node-cli.js"),
  machine: path.join(root, "apps/machine/dist/cli.js"),
  fleet: path.join(root, "apps/fleet/dist/cli.js"),
};

const missing = Object.entries(bins).filter(([, f]) => !existsSync(f));
if (missing.length > 0) {
  console.error(`zapvend: not built: ${missing.map(([n]) => n).join(", ")}. Run \`npm run build\` (npm start does it first).`);
  process.exit(1);
}

/** @type {import("node:child_process").ChildProcess[]} */
const children = [];
let stopping = false;

function log(line) {
  process.stderr.write(`[zapvend] ${line}\n`);
}

/** Starts a part and resolves with the first URL it prints as `<name>: <url>`. */
function startPart(label, args, expectName, env = {}) {
  return new Promise((resolve, reject) => {
    // detached: each part in its own process group, so the terminal's Ctrl-C (SIGINT to the foreground group) reaches
    // the launcher only, and each part gets exactly one signal, the launcher's SIGTERM, in the stop order below (two
    // signals made every part warn "second signal: exiting now" and skip its clean stop).
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.push(child);
    let found = false;
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trimEnd();
        buf = buf.slice(nl + 1);
        const m = /^([a-z0-9 _-]+): ((?:https?|mqtts?|wss?):\/\/\S+)$/i.exec(line);
        if (m) {
          console.log(`${m[1]}: ${m[2]}`);
          if (!found && m[1] === expectName) {
            found = true;
            resolve(m[2]);
          }
        } else if (line) process.stderr.write(`[${label}] ${line}\n`);
      }
    });
    child.stderr.on("data", (d) => {
      for (const line of d.toString().split("\n")) if (line.trim()) process.stderr.write(`[${label}] ${line}\n`);
    });
    child.on("exit", (code, signal) => {
      if (!found) reject(new Error(`${label} exited before it was ready (${signal ?? `code ${code}`})`));
      else if (!stopping) log(`${label} exited (${signal ?? `code ${code}`}); the other parts keep running`);
    });
  });
}

function demoKey() {
  const file = path.join(demoDir, "operator-key.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const key = {
    keyId: "demo-operator",
    publicKeyHex: publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("hex"),
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  };
  writeFileSync(path.join(demoDir, "operator-key.pem"), key.privateKeyPem, { mode: 0o600 });
  writeFileSync(file, JSON.stringify(key, null, 2), { mode: 0o600 });
  return key;
}

/**
 * MQTT credentials of the embedded broker: one user per machine (its machine id) and `zapvend-fleet`, random
 * passwords kept in `.zapvend/demo/mqtt.json` (0600) across runs. The broker reads the file (`--users`), and each part
 * gets its own username and password in its config; the broker enforces hardware/broker/zapvend.acl on them.
 */
function demoMqttUsers(machineIds) {
  const file = path.join(demoDir, "mqtt.json");
  const users = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")).users ?? {}) : {};
  for (const u of ["zapvend-fleet", ...machineIds]) users[u] ??= randomBytes(18).toString("base64url");
  writeSecret(file, { users });
  return { file, users };
}

/** Writes a JSON file that holds secrets, readable by this user only (also when it existed with a looser mode). */
function writeSecret(file, value) {
  writeFileSync(file, JSON.stringify(value, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The demo's technician PIN (1234), hashed in the format of `zapvend-machine hash-pin`. Never use it in the field. */
function demoPinHash() {
  const salt = randomBytes(16);
  const hash = scryptSync(process.env.ZAPVEND_DEMO_PIN ?? "1234", salt, 32, { N: 16384, r: 8, p: 1 });
  return `scrypt$16384$8$1$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

const demoRate = { source: "fixed", msatPerUnit: "1000000" }; // 1 EUR = 1,000 sat: an offline demo rate, shown as such

/**
 * `mdb-01`: a vending machine with its own controller (VMC), zapvend as its MDB cashless reader. The VMC is the sim
 * VMC behind a socat pty (`"port": "sim"`); its keypad is `POST /api/demo/vmc {select: 10}`, or the kiosk's demo
 * keys. The catalog is the selection map: name and icon per VMC selection; the VMC sets the prices.
 */
function mdbMachineConfig(id, port, mqttConfig, simUrl, key, payments) {
  return {
    machineId: id,
    model: "zapvend demo MDB retrofit (a VMC's cashless reader)",
    http: { host: "127.0.0.1", port },
    mqtt: { ...mqttConfig, telemetryIntervalMs: 10_000 },
    board: {
      kind: "mdb",
      port: "sim",
      approvalTimeoutSec: 60,
      invoiceExpirySec: 50,
      maxPriceMinor: 1000,
      sim: {
        selections: [
          { selection: 10, priceUnits: 150, name: "Water" },
          { selection: 11, priceUnits: 200, name: "Cola" },
          { selection: 12, priceUnits: 250, name: "Chocolate bar" },
          { selection: 20, priceUnits: 100, name: "Chewing gum" },
        ],
      },
    },
    payments: payments ?? { backend: { kind: "sim", url: simUrl }, network: "regtest", invoiceExpirySec: 180 },
    pricing: { currency: "EUR", rate: demoRate, maxRateAgeSec: 600 },
    catalog: [
      { slot: "S10", name: "Water", kind: "mdb", icon: "💧", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 10, capacity: 10 },
      { slot: "S11", name: "Cola", kind: "mdb", icon: "🥤", price: { unit: "fiat", currency: "EUR", amountMinor: 200 }, stock: 10, capacity: 10 },
      { slot: "S12", name: "Chocolate bar", kind: "mdb", icon: "🍫", price: { unit: "fiat", currency: "EUR", amountMinor: 250 }, stock: 10, capacity: 10 },
    ],
    dataDir: path.join(demoDir, id),
    operatorKeys: [{ keyId: key.keyId, publicKey: key.publicKeyHex }],
    servicePinHash: demoPinHash(),
  };
}

function machineConfig(id, port, mqttConfig, simUrl, key, payments) {
  if (id.startsWith("mdb")) return mdbMachineConfig(id, port, mqttConfig, simUrl, key, payments);
  const drinks = id.startsWith("drinks");
  return {
    machineId: id,
    model: drinks ? "zapvend demo drinks (pump + flow meter)" : "zapvend demo snacks (spirals + drop sensor)",
    http: { host: "127.0.0.1", port },
    mqtt: { ...mqttConfig, telemetryIntervalMs: 10_000 },
    board: { kind: "sim", pinmap: path.join(root, "hardware", "pinmaps", drinks ? "drinks.json" : "snacks.json") },
    payments: payments ?? { backend: { kind: "sim", url: simUrl }, network: "regtest", invoiceExpirySec: 180 },
    pricing: { currency: "EUR", rate: demoRate, maxRateAgeSec: 600 },
    catalog: drinks
      ? [{ slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 250, icon: "🍋", price: { unit: "fiat", currency: "EUR", amountMinor: 250 }, stock: 40, capacity: 40 }]
      : [
          { slot: "A1", name: "Crisps", kind: "spiral", icon: "🥔", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 8, capacity: 10 },
          { slot: "A2", name: "Chocolate", kind: "spiral", icon: "🍫", price: { unit: "fiat", currency: "EUR", amountMinor: 200 }, stock: 8, capacity: 10 },
          { slot: "A3", name: "Cookies", kind: "spiral", icon: "🍪", price: { unit: "msat", amountMsat: "1500000" }, stock: 5, capacity: 10 },
          { slot: "A4", name: "Nuts", kind: "spiral", icon: "🥜", price: { unit: "fiat", currency: "EUR", amountMinor: 180 }, stock: 2, capacity: 10 },
        ],
    dataDir: path.join(demoDir, id),
    operatorKeys: [{ keyId: key.keyId, publicKey: key.publicKeyHex }],
    servicePinHash: demoPinHash(),
  };
}

/**
 * The demo's notifications: every alert to the loopback receiver of this process, which checks the signature and
 * prints it as one `notify: ...` line. The HMAC secret is kept in `.zapvend/demo/notify.json` (0600) across runs.
 * Nothing is gathered into a digest (`digestSeverities: []`): a newcomer sees each alert when it is raised.
 */
async function demoNotifications() {
  const file = path.join(demoDir, "notify.json");
  const saved = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const secret = saved.secret ?? randomBytes(24).toString("base64url");
  writeSecret(file, { secret });
  const start = (port) => startNotifyReceiver({ port, secret, print: (line) => console.log(line), warn: (line) => log(`notify: ${line}`) });
  let receiver;
  try {
    receiver = await start(ports.notify);
  } catch (err) {
    if (err.code !== "EADDRINUSE") throw err;
    // Like the embedded broker: another port rather than no demo (settings saved in the console name the old one).
    log(`notify: port ${ports.notify} is taken (ZAPVEND_NOTIFY_PORT moves it); the receiver takes a free port this time`);
    receiver = await start(0);
  }
  console.log(`notify webhook: ${receiver.url}`);
  return {
    receiver,
    config: {
      channels: { "demo-terminal": { type: "webhook", url: receiver.url, secret } },
      groups: { demo: ["demo-terminal"] },
      routes: [{ to: ["demo"] }],
      digestSeverities: [],
    },
  };
}

/**
 * The fleet has no default password: each start draws a new one for the demo's `admin`, sets it with the fleet's own
 * `user add --replace`, and writes it to .zapvend/demo/admin.json (0600) for the login page.
 */
function demoAdmin(fleetFile) {
  const admin = { username: "admin", password: randomBytes(15).toString("base64url") };
  const r = spawnSync(process.execPath, [bins.fleet, "--config", fleetFile, "user", "add", admin.username, "--role", "admin", "--password-stdin", "--replace"], {
    cwd: root,
    input: admin.password,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`could not set the demo admin: ${r.stderr || r.stdout}`);
  const file = path.join(demoDir, "admin.json");
  writeFileSync(file, JSON.stringify(admin, null, 2) + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  console.log(`fleet login: ${admin.username} / ${admin.password} (saved in ${path.relative(process.cwd(), file) || file})`);
  return admin;
}

async function main() {
  // Keys, passwords and the machines' databases live here: this user only.
  mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  chmodSync(demoDir, 0o700);
  const key = demoKey();

  const machineIds = ["drinks-01", "snacks-01", "mdb-01"];
  let brokerUrl = process.env.ZAPVEND_MQTT_URL;
  /** Username and password per part on the embedded broker; none towards a broker given by ZAPVEND_MQTT_URL. */
  let credentials = () => ({});
  if (brokerUrl) console.log(`broker: ${brokerUrl}`);
  else {
    const mqttUsers = demoMqttUsers(machineIds);
    credentials = (user) => ({ username: user, password: mqttUsers.users[user] });
    brokerUrl = await startPart("broker", [bins.broker, "--users", mqttUsers.file], "broker");
  }

  // ZAPVEND_LIGHTNING=regtest: real LND of a running `npm run regtest` instead of the sim node (scripts/lightning/demo.mjs).
  const payments =
    process.env.ZAPVEND_LIGHTNING === "regtest" ? await (await import("./lightning/demo.mjs")).regtestPayments(startPart) : undefined;
  const simUrl = payments
    ? undefined
    : await startPart("sim-lightning", [bins.sim, "--port", String(ports.sim), "--node-key-file", path.join(demoDir, "sim-node.key")], "sim-lightning");

  const notify = await demoNotifications();
  const fleetConfig = {
    http: { host: "127.0.0.1", port: ports.fleet },
    mqtt: { url: brokerUrl, ...credentials("zapvend-fleet") },
    database: path.join(demoDir, "fleet.db"),
    operatorKey: { keyId: key.keyId, privateKeyPath: path.join(demoDir, "operator-key.pem") },
    // The overview's days are the operator's: on the demo, this computer's zone.
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    notifications: notify.config,
    // A machine killed in the demo (a crash: no goodbye) is told as `machine-lost` after 30 s instead of 5 min.
    alerts: { offlineAfterMs: 30_000 },
  };
  const fleetFile = path.join(demoDir, "fleet.json");
  writeSecret(fleetFile, fleetConfig);
  const admin = demoAdmin(fleetFile);
  const fleet = startPart("fleet", [bins.fleet, "--config", fleetFile], "fleet");

  const configs = [];
  const machines = machineIds.map((id, i) => {
    const port = ports.kiosks[i] ?? 8080 + i;
    const file = path.join(demoDir, `${id}.json`);
    const config = machineConfig(id, port, { url: brokerUrl, ...credentials(id) }, simUrl, key, payments);
    configs.push(config);
    writeSecret(file, config);
    // The node flags and malloc setting of the Pi's systemd unit (hardware/pi-setup/zapvend-machine.service): a small
    // young generation, GC on the main thread only, two malloc arenas keep the daemon's memory where it is in the field.
    return startPart(id, ["--max-semi-space-size=1", "--single-threaded-gc", bins.machine, "--config", file], `kiosk ${id}`, { MALLOC_ARENA_MAX: "2" });
  });
  const [fleetUrl] = await Promise.all([fleet, ...machines]);
  // The fleet catalog of the demo's products with their pictures, at the first start only (scripts/demo-catalog.mjs).
  try {
    const r = await seedDemoCatalog({ fleetUrl, admin, demoDir, machines: configs });
    console.log(r.seeded ? `catalog: seeded ${r.products} products on ${r.slots} slots, with pictures` : `catalog: not seeded (${r.reason})`);
  } catch (err) {
    log(`the demo catalog could not be seeded: ${err.message}`);
  }
  log("all parts are up. Ctrl-C stops everything.");
}

async function stopAll(signal, exitCode = 0) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${signal}) ...`);
  // Machines first (they publish "offline"), then the fleet, the sim node and the broker.
  for (const child of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill("SIGTERM");
    await new Promise((resolve) => {
      const t = setTimeout(() => {
        child.kill("SIGKILL");
        resolve();
      }, 10_000);
      child.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  process.exit(exitCode);
}

// Parts in their own process groups outlive a launcher that dies without stopping them: never leave one behind.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
process.on("SIGINT", () => void stopAll("SIGINT"));
process.on("SIGTERM", () => void stopAll("SIGTERM"));

main().catch(async (err) => {
  log(`could not start: ${err.message}`);
  await stopAll("error", 1);
});
