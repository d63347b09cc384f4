// Puts the fleet together from its config: store (SQLite or PostgreSQL), operator key, MQTT link, service and
// HTTP server. `zapvend-fleet` is a thin CLI around this.
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FleetLink, type Clock as BridgeClock, type FleetLinkOptions, type Logger as BridgeLogger } from "@zapvend/mqtt-bridge";
import type { FleetConfig } from "@zapvend/protocol";
import { stderrLogger, systemClock, type Clock, type Logger } from "./clock.js";
import { AuthService } from "./auth/auth-service.js";
import { AuthStore } from "./auth/auth-store.js";
import { FleetService } from "./fleet-service.js";
import { FleetHttpServer } from "./http-server.js";
import { CatalogService } from "./catalog/catalog-service.js";
import { Notifier } from "./notify/notifier.js";
import { EMPTY_NOTIFICATIONS, NotifySettingsStore } from "./notify/settings.js";
import { DEFAULT_ALERT_SETTINGS } from "./alerts.js";
import type { FleetLink as FleetTransport } from "./link.js";
import { LiveRelay } from "./live/live-relay.js";
import { OperatorSigner } from "./signer.js";
import { machineTimeZone, operatorTimeZone, type TimeZoneSource } from "./periods.js";
import { PostgresDb, SqliteDb, type SqlDb } from "./store/db.js";
import { FleetStore } from "./store/fleet-store.js";
import { PicklistStore } from "./picklist/picklist-store.js";

/** How often the fleet server brings the pick list's kept figures up to date in the background. */
const PICKLIST_REFRESH_MS = 60_000;

export interface FleetServerOptions {
  config: FleetConfig;
  /** `DATABASE_URL` of the environment: when set it overrides `config.database`. */
  databaseUrl?: string;
  clock?: Clock;
  log?: Logger;
  /** Folder of the built console. Default: `console/` beside this module (dist/console). */
  consoleDir?: string;
  /** Replaces the MQTT link (tests). */
  link?: FleetTransport;
  /** Overrides of the MQTT link's options (client id, clean session, reconnect backoff, end-to-end event acks). */
  linkOptions?: Pick<FleetLinkOptions, "clientId" | "clean" | "reconnect" | "eventAcks">;
  /**
   * Relay live console updates to and from the other fleet servers over the broker (`zapvend/v1/fleet/live`).
   * Default: on when `sharedSubscriptionGroup` is set (several servers), off otherwise.
   */
  liveRelay?: boolean;
}

/** The bridge's clock and logger shapes over the fleet's. */
function bridgeClock(clock: Clock): BridgeClock {
  return {
    now: () => clock.now(),
    setTimeout: (fn, ms) => (clock.setTimeout ? clock.setTimeout(fn, ms) : setTimeout(fn, ms)),
    clearTimeout: (h) => (clock.clearTimeout ? clock.clearTimeout(h) : clearTimeout(h as ReturnType<typeof setTimeout>)),
  };
}
function bridgeLogger(log: Logger): BridgeLogger {
  return {
    info: (msg, fields) => log("fleet:mqtt", msg, fields),
    warn: (msg, fields) => log("fleet:mqtt", msg, { level: "warn", ...fields }),
    error: (msg, fields) => log("fleet:mqtt", msg, { level: "error", ...fields }),
  };
}

export function openDatabase(database: string): SqlDb {
  if (/^postgres(ql)?:\/\//.test(database)) {
    const url = new URL(database);
    const schema = url.searchParams.get("schema") ?? "public";
    url.searchParams.delete("schema");
    return new PostgresDb(url.toString(), schema);
  }
  mkdirSync(path.dirname(path.resolve(database)), { recursive: true });
  return new SqliteDb(database);
}

export class FleetServer {
  readonly service: FleetService;
  readonly http: FleetHttpServer;
  readonly link: FleetTransport;
  readonly auth: AuthService;
  /** Alert messages to people: the settings saved in the console, else the config file's `notifications`, else none. */
  readonly notifier: Notifier;
  /** Live updates shared with the other fleet servers; absent on a single server. */
  readonly live: LiveRelay | undefined;
  /** Products, pictures and slot assignments (issue #18). */
  readonly catalog: CatalogService;
  /** The operator's time zone of every day and hour the console shows, and where it came from. */
  readonly timeZone: { zone: string; source: TimeZoneSource };
  private readonly log: Logger;
  private pruneTimer: ReturnType<typeof setInterval> | undefined;
  private pictureTimer: ReturnType<typeof setInterval> | undefined;
  private picklistTimer: ReturnType<typeof setInterval> | undefined;
  /** The pick list's refresh under way (awaited by `stop()`, before the store closes). */
  private picklistRefresh: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  /** Reads the operator key (a file) and opens nothing else: `start()` connects. */
  constructor(options: FleetServerOptions) {
    const { config } = options;
    this.timeZone = operatorTimeZone(config);
    const clock = options.clock ?? systemClock;
    this.now = () => clock.now();
    this.log = options.log ?? stderrLogger;
    const signer = OperatorSigner.fromFile(config.operatorKey.keyId, config.operatorKey.privateKeyPath);
    const store = new FleetStore(openDatabase(options.databaseUrl ?? config.database));
    this.link =
      options.link ??
      new FleetLink({
        mqtt: config.mqtt,
        ...(config.sharedSubscriptionGroup !== undefined ? { sharedSubscriptionGroup: config.sharedSubscriptionGroup } : {}),
        // Stable for one installation (host + database), so the broker keeps its session across restarts, and
        // distinct for two fleet servers on one host. Several servers sharing the ingest share the database too: their
        // HTTP port tells two on one host apart (the broker would otherwise drop one whenever the other connects).
        clientId: `zapvend-fleet-${os.hostname().toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 24)}-${createHash("sha256")
          .update((options.databaseUrl ?? config.database) + (config.sharedSubscriptionGroup !== undefined ? `|${config.http.port}` : ""))
          .digest("hex")
          .slice(0, 8)}`,
        reconnect: { minDelayMs: 500, maxDelayMs: 15_000 },
        ...options.linkOptions,
        boot: () => this.service.boot,
        operatorKey: signer.operatorKey(),
        clock: bridgeClock(clock),
        logger: bridgeLogger(this.log),
      });
    this.service = new FleetService({ store, link: this.link, clock, log: this.log, alerts: config.alerts, retention: config.retention });
    this.auth = new AuthService({ store: new AuthStore(store.db), security: config.security, now: () => clock.now() });
    this.notifier = new Notifier({
      config: config.notifications ?? EMPTY_NOTIFICATIONS,
      settings: new NotifySettingsStore(store.db),
      alertSettings: { ...DEFAULT_ALERT_SETTINGS, ...config.alerts },
      db: store.db,
      clock,
      log: this.log,
    });
    this.live =
      (options.liveRelay ?? config.sharedSubscriptionGroup !== undefined)
        ? new LiveRelay({ mqtt: config.mqtt, log: this.log, wanted: () => this.http.liveClients > 0 })
        : undefined;
    const live = this.live;
    this.catalog = new CatalogService({ service: this.service, clock, log: this.log });
    this.http = new FleetHttpServer({
      service: this.service,
      auth: this.auth,
      catalog: this.catalog,
      security: config.security,
      host: config.http.host,
      port: config.http.port,
      consoleDir: options.consoleDir ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "console"),
      log: this.log,
      now: () => clock.now(),
      notifier: this.notifier,
      ...(live ? { liveStats: () => ({ connected: live.connected, ...live.stats }) } : {}),
      timeZone: this.timeZone.zone,
      machineTimeZone: (id) => machineTimeZone(config, id, this.timeZone.zone),
    });
  }

  get url(): string {
    return this.http.url;
  }

  async start(): Promise<void> {
    await this.service.start();
    // After the migrations (the delivery log's table), before the first alert evaluation can raise anything new.
    this.notifier.start(this.service);
    // The settings saved in the console (if any) before the recovery routes the open alerts.
    await this.notifier.refresh();
    await this.notifier.recover(await this.service.store.openAlerts());
    await this.http.start();
    // Before the link: what this server ingests is shared from its first message on.
    await this.live?.start(this.service, (msg) => this.http.broadcast(msg));
    this.log("fleet:overview", `time zone ${this.timeZone.zone} (${this.timeZone.source === "default" ? "default: set timeZone in the config" : `from ${this.timeZone.source}`})`);
    // Ended sessions are refused as soon as they expire; this only deletes their rows.
    const prune = () => void this.auth.pruneSessions().catch((err: unknown) => this.log("fleet:auth", `session pruning failed: ${(err as Error).message}`));
    prune();
    this.pruneTimer = setInterval(prune, 3_600_000);
    this.pruneTimer.unref();
    // Pictures no product has referenced for a day (catalog-service.ts: PICTURE_GRACE_MS): on each connection of the
    // link below (the first one at start), then hourly; a sweep while the broker is away waits for the next.
    const sweep = () => void this.catalog.sweepPictures().catch((err: unknown) => this.log("fleet:catalog", `picture sweep failed: ${(err as Error).message}`, { level: "warn" }));
    this.pictureTimer = setInterval(sweep, 3_600_000);
    this.pictureTimer.unref();
    // The pick list's kept figures (picklist/machine-summary.ts): rolled and computed again in the background, at
    // start and every PICKLIST_REFRESH_MS, so the day's first page (every machine's summary after the roll of its
    // 7-day sum) or a busy fleet's does not make an operator wait for it.
    const picks = new PicklistStore(this.service.store.db);
    const refresh = () => {
      this.picklistRefresh = this.picklistRefresh
        .then(() => picks.refresh(this.now()))
        .then((n) => void (n > 500 && this.log("fleet:picklist", `computed ${n} machine summaries of the pick list again`)))
        .catch((err: unknown) => this.log("fleet:picklist", `refreshing the pick list's summaries failed: ${(err as Error).message}`, { level: "warn" }));
    };
    refresh();
    this.picklistTimer = setInterval(refresh, PICKLIST_REFRESH_MS);
    this.picklistTimer.unref();
    // The HTTP API works while the broker is unreachable (history, reports); the link keeps retrying.
    await this.link.start(
      (msg) => this.service.push(msg),
      () => {
        // Pending desired states first, then the catalog: its pictures again (a broker restarted without
        // persistence lost them) and the machines whose state lags the catalog (edited while the broker was away).
        void this.service
          .republishPending()
          .then(() => this.catalog.onConnected())
          .then(sweep)
          .catch((err: unknown) => this.log("fleet:catalog", `sending the catalog after connecting failed: ${(err as Error).message}`));
        // Acks computed while the broker was away go out now.
        void this.service.sendAcks();
      },
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    clearInterval(this.pictureTimer);
    clearInterval(this.picklistTimer);
    await this.picklistRefresh;
    // What was committed is acknowledged before the link goes (anything missed is resent by the machines).
    await this.service.drained();
    await this.service.sendAcks(true);
    await this.link.stop();
    await this.live?.stop();
    await this.http.stop();
    await this.notifier.stop();
    await this.service.stop();
    await this.service.store.close();
  }
}
