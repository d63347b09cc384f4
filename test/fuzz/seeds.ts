// Valid inputs the fuzz targets mutate: a mutant of a valid message reaches the deep checks of a schema, where a
// random string stops at the first byte. `seeds.test.ts` proves every seed is accepted as it is.
import { topics } from "@zapvend/protocol";

const env = { v: 1, id: "evt_0000000001", ts: 1_763_700_000_000, boot: 3, seq: 17 };
const hash = "ab".repeat(32);
const spiral = { kind: "spiral", dropSeen: true, homed: true, runMs: 1800 };
const coded = { code: "spiral_jam", message: "the spiral did not turn" };
const mid = "drinks-01";

/** [topic, payload] pairs, one or more per topic kind of DESIGN.md's MQTT table. */
export const mqttSeeds: ReadonlyArray<readonly [string, unknown]> = [
  [topics.fleetState(), { ...env, state: "online" }],
  [topics.status(mid), { ...env, state: "online" }],
  [
    topics.birth(mid),
    {
      ...env,
      model: "zapvend-drinks",
      softwareVersion: "0.1.0",
      slots: [{ slot: "P1", name: "Lemonade", kind: "pour", capacity: 40, stock: 12, price: { unit: "msat", amountMsat: "500000" }, enabled: true }],
      capabilities: { holdInvoices: true, paymentsBackend: "lnd", board: "sim" },
      configVersions: { desired: 3, catalog: "c0ffee" },
    },
  ],
  [
    topics.telemetry(mid),
    { ...env, temperatureC: 6.5, door: "closed", payments: "up", hardware: "degraded", uptimeMs: 123_456, rssMb: 88.5, stock: [{ slot: "P1", stock: 12 }] },
  ],
  [
    topics.event(mid, "sale"),
    {
      ...env,
      type: "sale",
      orderId: "ord_00000001",
      slot: "A1",
      productName: "Cola",
      amountMsat: "250000",
      fiat: { currency: "EUR", amountMinor: 150 },
      paymentHash: hash,
      hold: true,
      evidence: spiral,
      settledAt: 1_763_700_000_500,
    },
  ],
  [topics.event(mid, "refund"), { ...env, type: "refund", orderId: "ord_00000002", slot: "A1", amountMsat: "250000", paymentHash: hash, reason: coded }],
  [topics.event(mid, "vend-failed"), { ...env, type: "vend-failed", orderId: "ord_00000003", slot: "A2", reason: coded, evidence: null }],
  [topics.event(mid, "door"), { ...env, type: "door", open: true }],
  [topics.event(mid, "restock"), { ...env, type: "restock", slot: "A1", previous: 0, stock: 5 }],
  [
    topics.desired(mid),
    { ...env, version: 4, slots: { A1: { enabled: false }, A2: { price: { unit: "fiat", currency: "EUR", amountMinor: 200 } } }, mode: "normal" },
  ],
  [
    topics.reported(mid),
    { ...env, version: 4, status: "applied", error: null, slots: { A1: { enabled: true, price: { unit: "msat", amountMsat: "900000" } } }, mode: "normal" },
  ],
  [
    topics.command(mid, "restock"),
    {
      ...env,
      name: "restock",
      rid: "rid_00000001",
      aud: mid,
      exp: 1_763_700_030_000,
      ctr: 9,
      keyId: "operator-1",
      args: { slot: "A1", stock: 5 },
      sig: "A".repeat(86),
    },
  ],
  [topics.commandResult(mid, "restock"), { ...env, rid: "rid_00000001", status: "ok", data: { stock: 5 } }],
];

/** Bodies of the machine's and the fleet's HTTP routes. */
export const createOrderSeeds: readonly unknown[] = [{ slot: "A1" }, { slot: "A2" }, { slot: "B12" }, { slot: "A1", creditId: "cr_0123456789abcdef" }];
export const commandRequestSeeds: readonly unknown[] = [{}, { args: { slot: "A1", stock: 3 } }, { args: {}, ttlMs: 30_000 }];
export const salesQuerySeeds: readonly unknown[] = [{}, { machine: "drinks-01", from: "1700000000000", to: "1800000000000", limit: "100" }];
export const serviceLoginSeeds: readonly unknown[] = [{ pin: "1234" }, { pin: "000000000000" }];
export const restockSeeds: readonly unknown[] = [{ slot: "A1", stock: 5 }, { slot: "P1", stock: 0 }];
export const testVendSeeds: readonly unknown[] = [{ slot: "A1" }];
export const serviceModeSeeds: readonly unknown[] = [{ mode: "maintenance" }, { mode: "normal" }];
export const demoSimSeeds: readonly unknown[] = [{ door: "open" }, { faults: ["spiral-jam"] }, {}];
export const fleetLoginSeeds: readonly unknown[] = [{ username: "admin", password: "correct horse battery" }, { username: "op", password: "x".repeat(40), totp: "123456" }];
export const fleetUserSeeds: readonly unknown[] = [{ name: "alice", role: "operator" }, { name: "bob.smith", role: "viewer", password: "a long password" }];

const order = {
  orderId: "ord_abcdefgh12345678",
  slot: "A1",
  productName: "Crisps",
  kind: "spiral",
  state: "pending",
  amountMsat: "1500000",
  paymentHash: "b".repeat(64),
  bolt11: "lnbcrt15u1pfakeinvoice",
  hold: true,
  createdAt: 1,
  expiresAt: 180_001,
  updatedAt: 1,
};
const statusView = { machineId: "snacks-01", mode: "normal", selling: true, payments: "up", hardware: "up", door: "closed", faults: [] };

/** WebSocket messages, both directions. */
export const kioskClientSeeds: readonly unknown[] = [{ type: "ping", t: 5 }, { type: "watch", orderId: "ord_abcdefgh12345678" }];
export const kioskServerSeeds: readonly unknown[] = [
  { type: "hello", machineId: "snacks-01", boot: 7, version: "0.1.0" },
  { type: "order", order },
  { type: "status", status: statusView },
  { type: "progress", orderId: "ord_00000001", progress: { kind: "pour", pouredMl: 120.5, targetMl: 250 } },
  {
    type: "catalog",
    catalog: {
      machineId: "snacks-01",
      currency: "EUR",
      rate: null,
      products: [],
    },
  },
  { type: "pong", t: 12 },
];

/** Config files. */
export const machineConfigSeeds: readonly unknown[] = [
  {
    machineId: "drinks-01",
    board: { kind: "sim", pinmap: "hardware/pinmaps/drinks.json" },
    payments: { backend: { kind: "sim" }, network: "regtest" },
    catalog: [{ slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 250, price: { unit: "msat", amountMsat: "500000" }, stock: 40, capacity: 40 }],
    dataDir: "/var/lib/zapvend",
  },
  {
    machineId: "snacks-01",
    http: { host: "127.0.0.1", port: 8081 },
    mqtt: { url: "mqtt://127.0.0.1:1883", telemetryIntervalMs: 60_000 },
    board: { kind: "sim", pinmap: "hardware/pinmaps/snacks.json", simFaults: ["spiral-jam"] },
    payments: { backend: { kind: "sim", url: "http://127.0.0.1:8060" }, network: "regtest", invoiceExpirySec: 120 },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" } },
    catalog: [
      { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 3, capacity: 10 },
      { slot: "A2", name: "Nuts", kind: "spiral", price: { unit: "msat", amountMsat: "900000" }, stock: 3, capacity: 10 },
    ],
    dataDir: "/var/lib/zapvend",
  },
];
export const fleetConfigSeeds: readonly unknown[] = [
  { database: "/var/lib/zapvend/fleet.db", operatorKey: { keyId: "operator-1", privateKeyPath: "/etc/zapvend/operator.key" } },
  {
    http: { host: "127.0.0.1", port: 8090 },
    database: "postgres://fleet@db/zapvend",
    operatorKey: { keyId: "operator-1", privateKeyPath: "/etc/zapvend/operator.key" },
    sharedSubscriptionGroup: "ingest",
    alerts: { offlineAfterMs: 300_000, noSalesAfterMs: 21_600_000, lowStockBelow: 2, temperatureRangeC: [2, 12], vendFailuresInARow: 3 },
  },
  {
    database: "/var/lib/zapvend/fleet.db",
    operatorKey: { keyId: "operator-1", privateKeyPath: "/etc/zapvend/operator.key" },
    security: {
      tls: { certPath: "/etc/zapvend/fleet.crt", keyPath: "/etc/zapvend/fleet.key" },
      allowedOrigins: ["https://fleet.example.com"],
      allowedHosts: ["fleet.example.com"],
      trustedProxies: ["127.0.0.1"],
      sessionIdleMs: 1_800_000,
      sessionMaxMs: 43_200_000,
    },
  },
];
export const harnessReportSeeds: readonly unknown[] = [
  {
    board: "sim",
    checks: [
      { name: "pump", status: "pass", detail: "ran 2 s", measured: { pulses: 120, ml: 40.5 } },
      { name: "spiral A1", status: "fail", code: "spiral_home_timeout", detail: "no home switch" },
    ],
  },
];
