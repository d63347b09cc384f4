import { z } from "zod";
import { CurrencyCode, Hex33, MachineId, MsatString, text } from "./common.js";
import { AlertKind } from "./fleet-api.js";
import { Product } from "./catalog.js";
import { MdbBoardConfig } from "./mdb.js";
import { TimeZoneName } from "./fleet-overview.js";

/** Bitcoin networks an invoice can be for (BOLT 11 prefixes lnbc, lntb, lntbs, lnbcrt, lnsb). */
export const NetworkSchema = z.enum(["bitcoin", "testnet", "signet", "regtest", "simnet"]);
export type Network = z.infer<typeof NetworkSchema>;

const HostPort = z.strictObject({
  host: z.string().min(1).max(253).default("127.0.0.1"),
  port: z.int().min(0).max(65_535),
});

const Url = z.string().max(2_048).regex(/^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/, "expected a URL such as https://host:port");
const FilePath = z.string().min(1).max(4_096);

export const MqttConfig = z.strictObject({
  /** Broker URL (`mqtt://`, `mqtts://`, `ws://`, `wss://`). Default: the embedded broker of `npm start`. */
  url: Url.default("mqtt://127.0.0.1:1883"),
  username: z.string().max(256).optional(),
  password: z.string().max(1_024).optional(),
  /** CA certificate file for `mqtts://` to a private CA. */
  caPath: FilePath.optional(),
  /** Telemetry period in ms. Default 30 000. */
  telemetryIntervalMs: z.int().min(1_000).max(3_600_000).default(30_000),
});
export type MqttConfig = z.infer<typeof MqttConfig>;

/** Which Lightning backend the machine talks to, with what credentials. Secrets may be given as files. */
export const PaymentsBackendConfig = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("sim"), url: Url.default("http://127.0.0.1:8060") }),
  z.strictObject({
    kind: z.literal("lnd"),
    url: Url,
    macaroonPath: FilePath.optional(),
    macaroonHex: z.string().regex(/^[0-9a-f]+$/).max(8_192).optional(),
    tlsCertPath: FilePath.optional(),
  }),
  z.strictObject({
    kind: z.literal("cln"),
    url: Url,
    rune: z.string().min(1).max(1_024),
    /** clnrest's `ca.pem` (trust root) or `server.pem` (pinned exactly), or both in one file. */
    tlsCertPath: FilePath.optional(),
    /** With `ca.pem`: the name the server certificate carries instead of the URL's host. Default "cln rest server". */
    tlsServerName: z.string().min(1).max(253).optional(),
  }),
  z.strictObject({ kind: z.literal("lnbits"), url: Url, apiKey: z.string().min(1).max(256) }),
  z.strictObject({
    kind: z.literal("btcpay"),
    url: Url,
    apiKey: z.string().min(1).max(256),
    storeId: z.string().min(1).max(128),
    webhookSecret: z.string().max(256).optional(),
    /** Lightning payment method id. Default "BTC-LN" (2.x), falling back to 1.x's "BTC-LightningNetwork" when refused. */
    paymentMethodId: z.string().regex(/^[A-Za-z0-9]{2,10}[-_][A-Za-z-]{2,32}$/).optional(),
  }),
  z.strictObject({ kind: z.literal("phoenixd"), url: Url, password: z.string().min(1).max(256) }),
]);
export type PaymentsBackendConfig = z.infer<typeof PaymentsBackendConfig>;

export const PaymentsConfig = z.strictObject({
  backend: PaymentsBackendConfig,
  network: NetworkSchema,
  /** The node key every invoice must be signed by. When absent, the key the backend reports at start is pinned. */
  payeeNodeKey: Hex33.optional(),
  /** Invoice expiry in seconds. Default 180. */
  invoiceExpirySec: z.int().min(30).max(3_600).default(180),
  /**
   * Demo only: a wallet that pays a BOLT 11 invoice on `POST <url>/wallet/pay {bolt11}` (the sim node's wallet API),
   * behind the kiosk's "Pay with demo wallet" button. Default: the sim node's own wallet with the `sim` backend, none
   * otherwise. `ZAPVEND_LIGHTNING=regtest npm start` points it at a bridge that pays from the regtest buyer's LND.
   */
  demoWalletUrl: Url.optional(),
});
export type PaymentsConfig = z.infer<typeof PaymentsConfig>;

export const PricingConfig = z.strictObject({
  currency: CurrencyCode.default("EUR"),
  /** Where the fiat rate comes from: a fixed rate (msat per major unit) or an HTTP source. */
  rate: z
    .discriminatedUnion("source", [
      z.strictObject({ source: z.literal("fixed"), msatPerUnit: MsatString }),
      z.strictObject({ source: z.literal("http"), url: Url, pollIntervalMs: z.int().min(10_000).default(60_000) }),
    ])
    .optional(),
  /** A rate older than this is not used to price an order. Default 600 s. */
  maxRateAgeSec: z.int().min(10).max(86_400).default(600),
});
export type PricingConfig = z.infer<typeof PricingConfig>;

/** A board zapvend drives itself (pump, spirals, sensors) through a pin map. */
export const BoardConfig = z.strictObject({
  kind: z.enum(["sim", "raspi", "firmata", "gpiod"]),
  /** The pin map JSON (see `hardware/`). */
  pinmap: FilePath,
  /** Serial port of a Firmata board, e.g. /dev/ttyACM0. */
  port: z.string().max(256).optional(),
  /** Faults the sim board starts with (e.g. "pump-dry"). */
  simFaults: z.array(z.string().max(64)).max(20).default([]),
});
export type BoardConfig = z.infer<typeof BoardConfig>;

/**
 * The machine's hardware (`board` of the machine config): a board it drives itself (`BoardConfig`: `sim`, `raspi`,
 * `firmata`), or `mdb`: the cashless reader of a vending machine whose own controller (VMC) vends (`MdbBoardConfig`).
 */
export const MachineBoardConfig = z.discriminatedUnion("kind", [BoardConfig, MdbBoardConfig]);
export type MachineBoardConfig = z.infer<typeof MachineBoardConfig>;

/**
 * A board that moves nothing real: the sim board, or the sim VMC (an MDB board on port `"sim"`). Everything else is
 * a real board, including kinds added later, so the demo wallet (free vends) is refused there unless allowed.
 */
export function isSimulatedBoard(board: MachineBoardConfig): boolean {
  return board.kind === "sim" || (board.kind === "mdb" && board.port === "sim");
}

/** An operator key the machine trusts for signed commands and desired state. */
export const OperatorKey = z.strictObject({
  keyId: z.string().min(1).max(64),
  /** Ed25519 public key, 32 bytes hex. */
  publicKey: z.string().regex(/^[0-9a-f]{64}$/, "an Ed25519 public key is 64 hex digits"),
});

/** An origin as a browser sends it in `Origin`: scheme, host and port only. */
const Origin = z.string().max(300).regex(/^https?:\/\/[^\s/?#]+$/, "expected an origin such as http://127.0.0.1:8080 (no path)");

/** The machine's HTTP listener and who may POST to it. */
export const MachineHttpConfig = z.strictObject({
  host: z.string().min(1).max(253).default("127.0.0.1"),
  port: z.int().min(0).max(65_535),
  /**
   * Origins whose pages may POST and open the WebSocket (a request without `Origin`, not sent by a browser, is let
   * through). Default: the kiosk's own, `http://127.0.0.1:<port>`, `http://localhost:<port>` and `http://[::1]:<port>`
   * (and `http://<host>:<port>` when `host` is a name or an address other than a wildcard).
   */
  allowedOrigins: z.array(Origin).max(20).optional(),
  /** `Host` headers accepted on POST and the WebSocket (against DNS rebinding). Default: the hosts of the default origins. */
  allowedHosts: z.array(z.string().min(1).max(300)).max(20).optional(),
});
export type MachineHttpConfig = z.infer<typeof MachineHttpConfig>;

/** The file given to `zapvend-machine --config <file>`. Unknown keys are refused so a typo is caught at start. */
export const MachineConfig = z.strictObject({
  machineId: MachineId,
  model: text(60).default("zapvend"),
  http: MachineHttpConfig.default({ host: "127.0.0.1", port: 8080 }),
  /**
   * Most unpaid invoices open at once on this machine (each reserves stock and an invoice on the node); one more is
   * refused with 429 `too_many_pending_orders`. A kiosk session has at most one. Default 3.
   */
  maxPendingOrders: z.int().min(1).max(1_000).default(3),
  /**
   * The `sim` payments backend (the demo wallet: anyone can "pay" from it, so every vend is free) on a real board
   * (anything but `board.kind: "sim"`) is refused unless this is true. Default false.
   */
  allowDemoWallet: z.boolean().default(false),
  mqtt: MqttConfig.default({ url: "mqtt://127.0.0.1:1883", telemetryIntervalMs: 30_000 }),
  board: MachineBoardConfig,
  payments: PaymentsConfig,
  pricing: PricingConfig.default({ currency: "EUR", maxRateAgeSec: 600 }),
  catalog: z.array(Product).min(1).max(200),
  /** Where the journal and outbox live. */
  dataDir: FilePath,
  operatorKeys: z.array(OperatorKey).max(20).default([]),
  /** Folder of the built kiosk (index.html + bundle). Default: the kiosk built beside the daemon in this repository. */
  kioskDir: FilePath.optional(),
  /** scrypt hash of the technician PIN for the kiosk service menu, as written by `zapvend-machine hash-pin`. */
  servicePinHash: z.string().max(512).optional(),
}).check((ctx) => {
  // Written as "not a simulated board", so a board kind added later is covered without a change here.
  if (!isSimulatedBoard(ctx.value.board) && ctx.value.payments.backend.kind === "sim" && !ctx.value.allowDemoWallet) {
    ctx.issues.push({
      code: "custom",
      message: `the sim payments backend (the demo wallet: free vends) on the real board "${ctx.value.board.kind}" is refused; set allowDemoWallet: true to run it anyway`,
      path: ["allowDemoWallet"],
      input: ctx.value.allowDemoWallet,
      params: { code: "demo_wallet_refused" },
    });
  }
  const seen = new Set<string>();
  ctx.value.catalog.forEach((p, i) => {
    if (seen.has(p.slot)) {
      ctx.issues.push({ code: "custom", message: `slot ${p.slot} appears twice in the catalog`, path: ["catalog", i, "slot"], input: p, params: { code: "bad_value" } });
    }
    seen.add(p.slot);
    // The catalog of an MDB machine is its selection map; a direct-drive machine has no VMC selections.
    if ((ctx.value.board.kind === "mdb") !== (p.kind === "mdb")) {
      const message = ctx.value.board.kind === "mdb" ? `with board "mdb" every catalog entry is kind "mdb" (slot ${p.slot} is ${p.kind})` : `kind "mdb" (slot ${p.slot}) needs board "mdb"`;
      ctx.issues.push({ code: "custom", message, path: ["catalog", i, "kind"], input: p, params: { code: "bad_value" } });
    }
  });
});
export type MachineConfig = z.infer<typeof MachineConfig>;
export type MachineConfigInput = z.input<typeof MachineConfig>;

/** A time of day range `HH:MM-HH:MM` in the opening hours' zone; an end before the start runs past midnight. */
export const OpeningRange = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$/, "expected HH:MM-HH:MM, e.g. 07:00-20:00 (24:00 ends at midnight)")
  .refine((r) => r.slice(0, 5) !== r.slice(6), "an opening range must not be empty");

/** When a machine is open, in an IANA time zone: a missing day is closed. */
export const OpeningHours = z
  .strictObject({
    /** IANA zone (`Europe/Paris`): daylight saving time is followed through `Intl`. */
    tz: z.string().min(1).max(64),
    days: z
      .strictObject({
        mon: z.array(OpeningRange).max(8),
        tue: z.array(OpeningRange).max(8),
        wed: z.array(OpeningRange).max(8),
        thu: z.array(OpeningRange).max(8),
        fri: z.array(OpeningRange).max(8),
        sat: z.array(OpeningRange).max(8),
        sun: z.array(OpeningRange).max(8),
      })
      .partial(),
  })
  .check((ctx) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: ctx.value.tz });
    } catch {
      ctx.issues.push({ code: "custom", message: `unknown time zone "${ctx.value.tz}" (expected an IANA name such as Europe/Paris)`, path: ["tz"], input: ctx.value.tz, params: { code: "bad_value" } });
    }
  });
export type OpeningHours = z.infer<typeof OpeningHours>;

/** Telemetry retention of the fleet server (sales and events are never pruned). */
export const FleetRetention = z.strictObject({
  /** Chart samples older than this are deleted. Default 7 days. */
  telemetryMs: z.int().min(3_600_000).default(7 * 86_400_000),
  /** How often the pruning runs. Default 1 h. */
  pruneIntervalMs: z.int().min(1_000).default(3_600_000),
  /** Rows deleted per transaction, so ingest runs between the batches. Default 2 000. */
  batchSize: z.int().min(1).max(100_000).default(2_000),
});
export type FleetRetention = z.infer<typeof FleetRetention>;

/**
 * Who may reach the fleet's HTTP API and how (issue #15). Every default is the safe one: the fleet's own origin(s)
 * only, no proxy trusted, plain HTTP only when no certificate is configured.
 */
export const FleetSecurity = z.strictObject({
  /** Serve HTTPS from this PEM certificate (chain) and key. Absent: plain HTTP (behind a TLS proxy, or loopback). */
  tls: z.strictObject({ certPath: FilePath, keyPath: FilePath }).optional(),
  /** Origins allowed on POST/PUT/DELETE and the WebSocket (`https://fleet.example.com`). Default: the fleet's own. */
  allowedOrigins: z.array(z.string().max(2_048).regex(/^https?:\/\/[^\s/]+$/, "expected an origin such as https://fleet.example.com")).max(64).optional(),
  /** Host names (with or without port) the fleet answers to, against DNS rebinding. Default: its own and loopback. */
  allowedHosts: z.array(z.string().min(1).max(260)).max(64).optional(),
  /** Proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed (IP addresses). Default: none. */
  trustedProxies: z.array(z.string().min(1).max(64)).max(64).default([]),
  /** A session ends after this long without a request. Default 30 min. */
  sessionIdleMs: z.int().min(60_000).max(7 * 86_400_000).default(30 * 60_000),
  /** A session ends this long after the login whatever its use. Default 12 h. */
  sessionMaxMs: z.int().min(60_000).max(30 * 86_400_000).default(12 * 3_600_000),
  /** Failed logins per account (any address) before it is locked for `lockoutMs`. Default 5. */
  maxFailuresPerAccount: z.int().min(1).max(1_000).default(5),
  /** Failed logins per client address (any account) before it is locked for `lockoutMs`. Default 20. */
  maxFailuresPerAddress: z.int().min(1).max(10_000).default(20),
  /** Window in which failures count, and the lockout after too many. Default 15 min. */
  lockoutMs: z.int().min(1_000).max(86_400_000).default(15 * 60_000),
});
export type FleetSecurity = z.infer<typeof FleetSecurity>;
export const DEFAULT_FLEET_SECURITY: FleetSecurity = FleetSecurity.parse({});

/** A name of a notification channel or group (`ops-webhook`, `technicians`). */
const NotifyName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "expected a short lower-case name such as ops-webhook");
const AlertSeverityName = z.enum(["info", "warning", "critical"]);
const HttpUrl = z.string().max(2_048).regex(/^https?:\/\/\S+$/, "expected an http(s) URL");

/** Where alert messages go (issue #18): a signed JSON webhook, e-mail over SMTP, or an ntfy topic. */
export const NotifyChannelConfig = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("webhook"),
    url: HttpUrl,
    /** Key of the `X-Zapvend-Signature` HMAC-SHA256 (at least 16 characters). */
    secret: z.string().min(16).max(256),
  }),
  z.strictObject({
    type: z.literal("email"),
    smtp: z.strictObject({
      host: z.string().min(1).max(255),
      port: z.int().min(1).max(65_535).default(587),
      /** Implicit TLS (port 465); otherwise STARTTLS when the server offers it. */
      secure: z.boolean().default(false),
      user: z.string().max(255).optional(),
      pass: z.string().max(1_024).optional(),
    }),
    from: z.string().min(3).max(320),
    to: z.array(z.string().min(3).max(320)).min(1).max(50),
  }),
  z.strictObject({
    type: z.literal("ntfy"),
    /** `https://ntfy.sh` or a self-hosted server. */
    server: HttpUrl,
    topic: z.string().regex(/^[-_A-Za-z0-9]{1,64}$/, "expected an ntfy topic name"),
    /** Access token (`tk_...`) of a protected topic. */
    token: z.string().max(256).optional(),
  }),
]);
export type NotifyChannelConfig = z.infer<typeof NotifyChannelConfig>;

/** Who is told what: alert kinds and severities, inside or outside the machine's opening hours, to groups. */
export const NotifyRoute = z.strictObject({
  /** Absent: every kind. */
  kinds: z.array(z.enum(Object.values(AlertKind) as [AlertKind, ...AlertKind[]])).min(1).optional(),
  /** Absent: every severity. */
  severities: z.array(AlertSeverityName).min(1).optional(),
  /** `closed`: only outside the machine's opening hours (alerts.openingHours / machineOpeningHours). Default any. */
  when: z.enum(["any", "open", "closed"]).default("any"),
  to: z.array(NotifyName).min(1),
});
export type NotifyRoute = z.infer<typeof NotifyRoute>;

export const FleetNotifications = z.strictObject({
  channels: z.record(NotifyName, NotifyChannelConfig),
  /** Named lists of channels (`technicians: ["tech-ntfy", "tech-mail"]`). */
  groups: z.record(NotifyName, z.array(NotifyName).min(1)),
  /** Every matching route sends to its groups (each channel once per alert). */
  routes: z.array(NotifyRoute).max(100),
  /** When quiet (ranges in the operator's time zone, the opening-hours format): only critical alerts are sent at once; the rest wait for the next digest. */
  quietHours: OpeningHours.optional(),
  /** Severities that are never sent alone but gathered into a digest. Default `["info"]`. */
  digestSeverities: z.array(AlertSeverityName).default(["info"]),
  /** How often the digest goes out (when there is something in it and it is not quiet). Default 1 h. */
  digestIntervalMs: z.int().min(60_000).max(7 * 86_400_000).default(3_600_000),
  /** Send a "resolved" message when an alert that was sent clears. Default true. */
  resolved: z.boolean().default(true),
  /** Attempts per message and channel (the first included), with exponential backoff from `retryBaseMs`. Default 5, 2 s. */
  maxAttempts: z.int().min(1).max(10).default(5),
  retryBaseMs: z.int().min(10).max(600_000).default(2_000),
}).check((ctx) => {
  // A group naming no channel, or a route naming no group, would drop alerts silently: refuse the config instead.
  const v = ctx.value;
  for (const [g, names] of Object.entries(v.groups)) {
    names.forEach((n, i) => {
      if (!(n in v.channels)) ctx.issues.push({ code: "custom", message: `group "${g}" names an unknown channel "${n}"`, path: ["groups", g, i], input: n, params: { code: "bad_value" } });
    });
  }
  v.routes.forEach((r, ri) => r.to.forEach((g, i) => {
    if (!(g in v.groups)) ctx.issues.push({ code: "custom", message: `route ${ri} sends to an unknown group "${g}"`, path: ["routes", ri, "to", i], input: g, params: { code: "bad_value" } });
  }));
});
export type FleetNotifications = z.infer<typeof FleetNotifications>;

/** The file given to `zapvend-fleet --config <file>`. */
export const FleetConfig = z.strictObject({
  http: HostPort.default({ host: "127.0.0.1", port: 8090 }),
  mqtt: MqttConfig.default({ url: "mqtt://127.0.0.1:1883", telemetryIntervalMs: 30_000 }),
  /** `postgres://...` for PostgreSQL, else a SQLite file path. `DATABASE_URL` overrides it. */
  database: z.string().min(1).max(4_096),
  /** The operator key that signs commands and desired state (kept by the server, never sent to a browser). */
  operatorKey: z.strictObject({ keyId: z.string().min(1).max(64), privateKeyPath: FilePath }),
  /**
   * The operator's IANA time zone: every day and hour the overview, reports and charts show are counted in it.
   * Absent: the zone of `alerts.openingHours`, else the one most machines' opening hours use, else UTC.
   */
  timeZone: TimeZoneName.optional(),
  /** Share the ingest among several fleet servers with `$share/<group>/...`. */
  sharedSubscriptionGroup: z.string().regex(/^[a-z0-9-]{1,32}$/).optional(),
  alerts: z
    .strictObject({
      offlineAfterMs: z.int().min(10_000).default(300_000),
      noSalesAfterMs: z.int().min(60_000).default(6 * 3_600_000),
      lowStockBelow: z.int().min(0).default(2),
      temperatureRangeC: z.tuple([z.number(), z.number()]).default([2, 12]),
      vendFailuresInARow: z.int().min(1).default(3),
      /** Fleet default for `no-sales`: only time inside these hours counts. Absent: every hour counts. */
      openingHours: OpeningHours.optional(),
      /** Per machine id, overriding `openingHours`; `"always"` makes every hour count for that machine. */
      machineOpeningHours: z.record(MachineId, z.union([OpeningHours, z.literal("always")])).optional(),
    })
    .default({ offlineAfterMs: 300_000, noSalesAfterMs: 21_600_000, lowStockBelow: 2, temperatureRangeC: [2, 12], vendFailuresInARow: 3 }),
  retention: FleetRetention.default({ telemetryMs: 7 * 86_400_000, pruneIntervalMs: 3_600_000, batchSize: 2_000 }),
  /** Accounts, origins, hosts, proxies and TLS of the HTTP API. */
  security: FleetSecurity.default(DEFAULT_FLEET_SECURITY),
  /** Alert messages to people (issue #18). Absent: alerts stay in the console. */
  notifications: FleetNotifications.optional(),
});
export type FleetConfig = z.infer<typeof FleetConfig>;
