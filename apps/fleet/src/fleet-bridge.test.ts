// The fleet server and a real machine bridge (MachineBridge of @zapvend/mqtt-bridge, as zapvend-machine runs it)
// on a real broker (Mosquitto in CI, `TEST_MQTT_URL` or 127.0.0.1:1883): the machine appears with its birth and
// status, a sale from its outbox reaches the ledger, a command signed by the fleet runs on the machine and its
// `res` comes back, and a desired state is verified, applied and reported.
import { bearer } from "./__fixtures__/auth.js";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MachineBridge, type AppliedState, type DesiredOutcome, type MachineBridgeOptions } from "@zapvend/mqtt-bridge";
import { parseFleetConfig, topics, type CommandRecord, type FleetConfig, type DesiredStatePayload, type DesiredView, type MachineDetail, type MachineSummary } from "@zapvend/protocol";
import { fileBroker, missingService, reachable, until } from "./__fixtures__/services.js";
import { silentLogger } from "./clock.js";
import { FleetServer } from "./server.js";
import { OperatorSigner } from "./signer.js";

const brokerUrl = await fileBroker();
const SKIP = missingService("fleet + bridge", await reachable(brokerUrl), `no MQTT broker at ${brokerUrl} (start mosquitto or set TEST_MQTT_URL)`);

describe.skipIf(SKIP !== null)(`fleet with a real machine bridge${SKIP ? ` (${SKIP})` : ""}`, () => {
  const machineId = `fb-${process.pid}-${Date.now().toString(36)}`;
  let dir: string;
  let auth: Record<string, string> = {};
  let server: FleetServer;
  let bridge: MachineBridge;
  let bridgeOptions: MachineBridgeOptions;
  let config: FleetConfig;
  const serverOptions = () => ({ config, log: silentLogger, linkOptions: { clientId: `${machineId}-fleet`, clean: true, reconnect: { minDelayMs: 50, maxDelayMs: 500 } } });
  let machineDb: Database.Database;
  const vended: string[] = [];
  const desiredSeen: number[] = [];
  const applied: AppliedState = { slots: { A1: { enabled: true, price: { unit: "msat", amountMsat: "21000" } } }, mode: "normal" };
  const get = async <T>(p: string): Promise<T> => (await (await fetch(`${server.url}${p}`, { headers: auth })).json()) as T;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "zapvend-fleet-bridge-"));
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    writeFileSync(path.join(dir, "key.pem"), pem);
    const cfg = parseFleetConfig({
      http: { host: "127.0.0.1", port: 0 },
      mqtt: { url: brokerUrl },
      database: path.join(dir, "fleet.db"),
      operatorKey: { keyId: "fb-operator", privateKeyPath: path.join(dir, "key.pem") },
    });
    if (!cfg.ok) throw new Error(cfg.error.message);
    config = cfg.value;
    server = new FleetServer(serverOptions());
    await server.start();
    auth = await bearer(server.auth);
    await until("fleet connected", async () => server.link.connected);

    machineDb = new Database(":memory:");
    bridgeOptions = {
      machineId,
      mqtt: { url: brokerUrl, telemetryIntervalMs: 60_000 },
      db: machineDb,
      // The machine trusts the fleet's operator key by its public half, as a machine config's operatorKeys lists it.
      trustedKeys: [{ keyId: "fb-operator", publicKey: OperatorSigner.fromPem("fb-operator", pem).publicKeyHex() }],
      birth: () => ({
        model: "zapvend-it",
        softwareVersion: "0.1.0",
        slots: [{ slot: "A1", name: "Cola", kind: "spiral", capacity: 10, stock: 7, price: applied.slots.A1!.price, enabled: applied.slots.A1!.enabled }],
        capabilities: { holdInvoices: true, paymentsBackend: "sim", board: "sim" },
        configVersions: { desired: 0, catalog: "it" },
      }),
      telemetry: () => ({ temperatureC: 6, door: "closed", payments: "up", hardware: "up", stock: [{ slot: "A1", stock: 7 }] }),
      onDesiredState: (d: DesiredStatePayload): DesiredOutcome => {
        desiredSeen.push(d.version);
        for (const [slot, s] of Object.entries(d.slots ?? {})) {
          const cur = applied.slots[slot];
          if (!cur) return { status: "refused", error: { code: "UNKNOWN_SLOT", message: `no slot ${slot}` }, ...applied };
          applied.slots[slot] = { enabled: s.enabled ?? cur.enabled, price: s.price ?? cur.price };
        }
        if (d.mode) applied.mode = d.mode;
        return { status: "applied", ...applied };
      },
      appliedState: () => applied,
      commandHandlers: {
        "test-vend": async ({ slot }) => {
          vended.push(slot);
          return { evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 900 } };
        },
      },
      reconnect: { minDelayMs: 50, maxDelayMs: 500 },
    };
    bridge = new MachineBridge(bridgeOptions);
    await bridge.start();
  });

  afterAll(async () => {
    await bridge?.stop();
    await server?.stop();
    machineDb?.close();
    // Leave the broker as found: clear this test's retained messages.
    const c = await mqtt.connectAsync(brokerUrl, { protocolVersion: 4, clientId: `${machineId}-cleanup` });
    for (const t of [topics.status(machineId), topics.birth(machineId), topics.desired(machineId), topics.reported(machineId)]) await c.publishAsync(t, "", { qos: 1, retain: true });
    await c.endAsync();
    // ... and the machine's persistent session.
    const wipe = await mqtt.connectAsync(brokerUrl, { protocolVersion: 4, clientId: `zapvend-${machineId}`, clean: true });
    await wipe.endAsync();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sees the machine online with its birth, and stores a sale from its outbox", async () => {
    const m = await until("machine online at the fleet", async () => (await get<MachineSummary[]>("/api/machines")).find((x) => x.id === machineId && x.status === "online" && x.model === "zapvend-it"));
    expect(m.stock).toEqual([{ slot: "A1", name: "Cola", stock: 7, capacity: 10 }]);
    bridge.outbox.enqueue({
      type: "sale",
      orderId: "order-it-1",
      slot: "A1",
      productName: "Cola",
      amountMsat: "21000",
      fiat: null,
      paymentHash: "ab".repeat(32),
      hold: true,
      evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1100 },
      settledAt: Date.now(),
    });
    const sales = await until("sale in the ledger", async () => {
      const list = await get<Array<{ orderId: string; amountMsat: string }>>(`/api/sales?machine=${machineId}`);
      return list.length > 0 ? list : undefined;
    });
    expect(sales.map((s) => [s.orderId, s.amountMsat])).toEqual([["order-it-1", "21000"]]);
  });

  it("runs a signed command on the machine and stores its res", async () => {
    const res = await fetch(`${server.url}/api/machines/${machineId}/commands/test-vend`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ args: { slot: "A1" } }),
    });
    expect(res.status).toBe(202);
    const { rid } = (await res.json()) as { rid: string };
    const done = await until("command result at the fleet", async () => (await get<CommandRecord[]>(`/api/machines/${machineId}/commands`)).find((c) => c.rid === rid && c.status !== "sent"));
    expect(done.status).toBe("ok");
    expect(done.data).toMatchObject({ evidence: { dropSeen: true } });
    expect(vended).toEqual(["A1"]);
    expect(bridge.counters.commandsRefused).toBe(0);
  });

  it("publishes a desired state the machine verifies, applies and reports with the same version", async () => {
    const price = { unit: "msat", amountMsat: "25000" };
    const put = await fetch(`${server.url}/api/machines/${machineId}/desired`, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ slots: { A1: { enabled: false, price } } }),
    });
    expect(put.status).toBe(202);
    const sent = (await put.json()) as DesiredView;
    expect(sent.pending).toBe(true);
    const view = await until("desired reported", async () => {
      const d = await get<DesiredView>(`/api/machines/${machineId}/desired`);
      return d.pending ? undefined : d;
    });
    expect(view).toMatchObject({ version: sent.version, reportedVersion: sent.version, reportedStatus: "applied", pending: false });
    expect(desiredSeen).toEqual([sent.version]);
    expect(applied.slots.A1).toEqual({ enabled: false, price });
    const detail = await get<MachineDetail>(`/api/machines/${machineId}`);
    expect(detail.slots.find((s) => s.slot === "A1")).toMatchObject({ enabled: false, price });
  });

  it("republishes a desired state the broker lost when it reconnects, and the machine applies it when it returns", async () => {
    await bridge.stop();
    const put = await fetch(`${server.url}/api/machines/${machineId}/desired`, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ mode: "maintenance" }),
    });
    expect(put.status).toBe(202);
    const { version } = (await put.json()) as DesiredView;
    // The broker forgets its retained messages and sessions (a restart without persistence): the desired state is
    // gone from it, and so is the copy queued in the offline machine's persistent session.
    const c = await mqtt.connectAsync(brokerUrl, { protocolVersion: 4, clientId: `${machineId}-forget` });
    await c.publishAsync(topics.desired(machineId), "", { qos: 1, retain: true });
    await c.endAsync();
    const wipe = await mqtt.connectAsync(brokerUrl, { protocolVersion: 4, clientId: `zapvend-${machineId}`, clean: true });
    await wipe.endAsync();
    // The fleet server restarts on the same database: on connecting it publishes what is still pending.
    await server.stop();
    server = new FleetServer(serverOptions());
    await server.start();
    await until("fleet reconnected", async () => server.link.connected);
    bridge = new MachineBridge(bridgeOptions);
    await bridge.start();
    const view = await until("desired reported after the restart", async () => {
      const d = await get<DesiredView>(`/api/machines/${machineId}/desired`);
      return d.pending ? undefined : d;
    });
    expect(view).toMatchObject({ version, reportedVersion: version, reportedStatus: "applied", mode: "maintenance" });
    expect(desiredSeen.at(-1)).toBe(version);
    expect(applied.mode).toBe("maintenance");
  });

  it("a reflashed machine refuses the desired state signed for its previous installation; the fleet signs it again for the new one", async () => {
    const before = await get<DesiredView>(`/api/machines/${machineId}/desired`);
    expect(before.pending).toBe(false);
    const oldInstall = bridge.install;
    await bridge.stop();
    // The fleet is away while the machine comes back, so the retained copy is certainly what the machine sees first.
    await server.stop();
    // A new SD card: a new database, so a new installation id; the broker still holds the retained desired state.
    const freshDb = new Database(":memory:");
    const refusals: string[] = [];
    const seenBefore = desiredSeen.length;
    bridge = new MachineBridge({ ...bridgeOptions, db: freshDb });
    bridge.on("desired-refused", (r) => refusals.push(r.code));
    await bridge.start();
    expect(bridge.install).not.toBe(oldInstall);
    await until("the retained desired state refused", async () => (refusals.length > 0 ? true : undefined));
    expect(refusals).toEqual(["WRONG_INSTALL"]);
    expect(desiredSeen.length).toBe(seenBefore);
    // The fleet returns, learns the new installation id from the retained status and birth, and signs the same
    // desired state again for it. (Its reconnection republish may go out before it ingested the birth: signed for
    // the old installation, that one is refused too.)
    server = new FleetServer(serverOptions());
    await server.start();
    await until("applied for the new installation", async () => (desiredSeen.length > seenBefore ? true : undefined));
    expect(new Set(refusals)).toEqual(new Set(["WRONG_INSTALL"]));
    expect(desiredSeen.at(-1)).toBe(before.version);
    expect(freshDb.prepare("SELECT value FROM bridge_meta WHERE key = 'desired_version'").get()).toEqual({ value: before.version });
    await bridge.stop();
    bridge = new MachineBridge(bridgeOptions);
    await bridge.start();
  });
});
