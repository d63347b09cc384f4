// The machine daemon: wires hal + payments + controller + bridge from one config and serves the kiosk.
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { VendController, ControllerError, type PriceQuote } from "@zapvend/controller";
import { openHardware, runChecks, systemClock, type Hardware } from "@zapvend/hal";
import { isSimFault, simOf } from "@zapvend/hal/sim";
import { PaymentService, createBackend, createPriceOracle, type BtcpayBackend, type PriceOracle } from "@zapvend/payments";
import { MachineBridge, type AppliedState, type DesiredOutcome } from "@zapvend/mqtt-bridge";
import {
  ApiErrorCode,
  DemoSimRequest,
  RestockRequest,
  ServiceModeRequest,
  ServiceLoginRequest,
  TestVendRequest,
  UNKNOWN_PRODUCT,
  isSimulatedBoard,
  unknownSlotProducts,
  mdbInvoiceExpirySec,
  selectionOfSlot,
  parseValue,
  type Catalog,
  type CatalogEntry,
  type DemoSimResponse,
  type DemoVmcResponse,
  type DesiredStatePayload,
  type HarnessReport,
  type HealthResponse,
  type MachineConfig,
  type MachineStatusView,
  type Order,
  type Product,
  type Rate,
} from "@zapvend/protocol";
import { ApiFailure, MachineServer, type MachineApi, type MachineApiEvents, type OrderSessionStore } from "./http-server.js";
import { createLogger, type Logger } from "./log.js";
import { ServiceAuth } from "./service-auth.js";
import { resolvePourStations } from "./pour-stations.js";
import { AppliedCatalogStore, EMPTY_APPLIED_CATALOG, appliedCatalogOf, productOfSlot, referencedPictures, type AppliedCatalog } from "./applied-catalog.js";
import { PictureStore, type StoredPicture } from "./picture-store.js";
// The MDB board (and with it `@zapvend/hal/mdb`) is loaded only when the config names it.
import type { MdbBoard } from "./mdb-board.js";

export const VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

export interface StartMachineOptions {
  logger?: Logger;
  /** Override the HTTP port (tests use 0). */
  httpPort?: number;
}

/** A short digest of the configured catalog, so the fleet sees when a machine's local config changed. */
function catalogDigest(catalog: readonly Product[]): string {
  return createHash("sha256").update(JSON.stringify(catalog)).digest("hex").slice(0, 16);
}

/** The default kiosk folder: the kiosk app built beside this daemon in the repository (apps/kiosk/dist/kiosk). */
function defaultKioskDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "kiosk", "dist", "kiosk");
}

/** A start refused before anything ran (a config the daemon will not run with). */
export class MachineStartError extends Error {
  constructor(
    readonly code: "demo_wallet_refused",
    message: string,
  ) {
    super(`${message} (${code})`);
    this.name = "MachineStartError";
  }
}

/**
 * The data directory (0700) and its database file (0600): the journal, the outbox and the command counters are the
 * machine's alone. SQLite gives its -wal and -shm files the mode of the database file. An existing directory or file
 * with a looser mode is tightened.
 */
export function openPrivateDatabase(dataDir: string, name: string): Database.Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const file = path.join(dataDir, name);
  closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);
  return new Database(file);
}

/** Which kiosk session created each order, beside the journal: a kiosk reloaded after a restart keeps its credit. */
function orderSessionTable(db: Database.Database): OrderSessionStore {
  db.exec("CREATE TABLE IF NOT EXISTS kiosk_order_sessions (order_id TEXT PRIMARY KEY, session TEXT, created_at INTEGER NOT NULL)");
  const get = db.prepare<[string], { session: string | null }>("SELECT session FROM kiosk_order_sessions WHERE order_id = ?");
  const put = db.prepare("INSERT OR REPLACE INTO kiosk_order_sessions (order_id, session, created_at) VALUES (?, ?, ?)");
  // Kept a week: the credit of an older order is spent or forgotten by its screen.
  const prune = db.prepare("DELETE FROM kiosk_order_sessions WHERE created_at < ?");
  const since = db.prepare<[number], { order_id: string; session: string | null }>("SELECT order_id, session FROM kiosk_order_sessions WHERE created_at >= ?");
  return {
    recent: (sinceMs) => since.all(sinceMs).map((r) => ({ orderId: r.order_id, session: r.session })),
    get: (id) => {
      const row = get.get(id);
      return row ? row.session : undefined;
    },
    set: (id, session) => {
      const now = Date.now();
      put.run(id, session, now);
      prune.run(now - 7 * 86_400_000);
    },
  };
}

/** How long a test vend on an MDB machine waits for the technician to press the selection on the keypad, ms. */
const MDB_TEST_VEND_PRESS_MS = 90_000;

export class Machine extends EventEmitter<MachineApiEvents> implements MachineApi {
  readonly machineId: string;
  readonly version = VERSION;
  boot = 0;
  private readonly startedAt = Date.now();
  private db: Database.Database | undefined;
  private hardware: Hardware | undefined;
  /** The MDB cashless reader of the machine's VMC, when the board is `mdb` (then there is no `hardware`). */
  private mdb: MdbBoard | undefined;
  private payments: PaymentService | undefined;
  private controller: VendController | undefined;
  private server: MachineServer | undefined;
  private readonly auth: ServiceAuth;
  private readonly cleanups: Array<() => void | Promise<void>> = [];
  private oracle: PriceOracle | undefined;
  private bridge: MachineBridge | undefined;
  private btcpay: BtcpayBackend | undefined;
  private desiredVersion = 0;
  /** The fleet's slots and products as last applied (issue #18), kept in the database across restarts. */
  private applied: AppliedCatalog = EMPTY_APPLIED_CATALOG;
  private appliedStore: AppliedCatalogStore | undefined;
  private pictureStore: PictureStore | undefined;
  url: string | undefined;

  constructor(
    readonly config: MachineConfig,
    private readonly opts: StartMachineOptions = {},
  ) {
    super();
    this.machineId = config.machineId;
    // Without a door (or the VMC's service mode) in front of the PIN pad, each lockout in a row lasts twice as long.
    this.auth = new ServiceAuth({ pinHash: config.servicePinHash, now: () => Date.now(), escalate: config.board.kind === "mdb" && config.board.serviceAccess === "pin" });
  }

  /** Called on a signed `reboot` command after a clean stop; the CLI exits and systemd starts the daemon again. */
  onReboot: (() => void) | undefined;

  private get log(): Logger {
    return this.opts.logger ?? createLogger(`machine:${this.machineId}`);
  }

  async start(): Promise<string> {
    const { config } = this;
    // The schema refuses it too; a config built in code must not get past it either.
    if (!isSimulatedBoard(config.board) && config.payments.backend.kind === "sim" && !config.allowDemoWallet) {
      throw new MachineStartError(
        "demo_wallet_refused",
        `the sim payments backend (the demo wallet: free vends) on the real board "${config.board.kind}" is refused; set allowDemoWallet: true to run it anyway`,
      );
    }
    this.db = openPrivateDatabase(config.dataDir, "machine.db");
    this.cleanups.push(() => {
      this.db?.close();
    });
    // The fleet's catalog as last applied, and the pictures it shows: only those stay on the SD card.
    this.appliedStore = new AppliedCatalogStore(this.db, this.log.child("catalog"));
    this.applied = this.appliedStore.load();
    this.pictureStore = new PictureStore(path.join(config.dataDir, "pictures"), this.log.child("catalog:pictures"));
    this.pictureStore.open();
    this.pictureStore.prune(new Set(referencedPictures(this.applied).map((p) => p.sha256)));

    let stationOf = new Map<string, string>();
    if (config.board.kind === "mdb") {
      const { openMdbBoard } = await import("./mdb-board.js");
      this.mdb = await openMdbBoard(config.board, config.pricing.currency, this.log);
      this.cleanups.push(() => this.mdb?.close());
    } else {
      this.hardware = await openHardware({ board: config.board, logger: this.log.child("vend:hal") });
      this.cleanups.push(() => this.hardware?.close());
      const stations = resolvePourStations(config.catalog, Object.keys(this.hardware.pinmap.pourStations));
      if (!stations.ok) throw new Error(`config: ${stations.message}`);
      stationOf = stations.stationOf;
    }

    const backend = await createBackend(config.payments.backend, {
      network: config.payments.network,
      ...(config.payments.payeeNodeKey ? { payeeNodeKey: config.payments.payeeNodeKey } : {}),
      logger: this.log.child(`pay:${config.payments.backend.kind}`),
    });
    if (config.payments.backend.kind === "btcpay") this.btcpay = backend as BtcpayBackend;
    this.payments = new PaymentService({
      backend,
      network: config.payments.network,
      ...(config.payments.payeeNodeKey ? { payeeNodeKey: config.payments.payeeNodeKey } : {}),
      // The invoice must still be valid for about the expiry the machine asked for: the config allows 30 s, and the
      // payments default of 60 s refused every invoice below 60 s (and some at exactly 60 s, the node's timestamp
      // being rounded down to the second). 5 s of slack for a slow node and that rounding.
      // An MDB machine's invoices expire sooner (before the VMC's approval timeout): the same slack below that expiry.
      minRemainingSec: Math.max(1, Math.min(60, config.payments.invoiceExpirySec - 5, config.board.kind === "mdb" ? mdbInvoiceExpirySec(config.board) - 3 : Infinity)),
      logger: this.log.child("pay:service"),
    });
    await this.payments.start();
    this.cleanups.push(() => this.payments?.stop());

    this.oracle = createPriceOracle(config.pricing, { logger: this.log.child("pay:rates") });
    await this.oracle.start();
    this.cleanups.push(() => this.oracle?.stop());

    // The bridge opens its outbox in the journal's database before the controller recovers (recovery may emit).
    this.bridge = this.createBridge(this.db);
    const onPicture = () => this.emit("catalog", this.catalog());
    this.bridge.pictures?.on("stored", onPicture);
    this.cleanups.push(() => void this.bridge?.pictures?.off("stored", onPicture));
    await this.bridge.start();
    this.boot = this.bridge.boot;
    this.cleanups.push(() => this.bridge?.stop());

    this.controller = new VendController({
      db: this.db,
      ...(this.mdb ? { vendStep: this.mdb.sales } : { hardware: this.hardware }),
      payments: this.payments,
      events: this.bridge.outbox,
      catalog: config.catalog,
      quote: (p) => this.quote(p),
      invoiceExpirySec: config.payments.invoiceExpirySec,
      pourStation: (slot) => stationOf.get(slot),
      logger: this.log.child("vend:controller"),
    });
    const ctl = this.controller;
    // What the fleet set before the restart holds from the first sale on, broker or not; the retained desired state
    // that comes again is applied over it.
    if (this.applied.version > 0) this.restoreApplied(ctl);
    ctl.on("order", (o) => {
      this.emit("order", o);
      // Stock is reserved when an order is created (`pending`, or `held` at once when a credit pays it all) and
      // released or used up when it ends.
      if (["completed", "refunded", "credited", "expired", "pending"].includes(o.state) || (o.state === "held" && o.bolt11 === null)) this.emit("catalog", this.catalog());
    });
    ctl.on("progress", (id, p) => this.emit("progress", id, p));
    ctl.on("fault", () => this.emitStatus());
    this.cleanups.push(() => {
      ctl.removeAllListeners();
    });
    await ctl.start();
    this.cleanups.push(() => ctl.stop());
    this.syncSimStock();
    if (this.mdb) {
      // From here on the VMC's vend requests become orders; its state changes show on the kiosk ("not selling").
      this.mdb.sales.attach(ctl);
      let previous = this.mdb.device.state;
      const offState = this.mdb.device.on("state", (state) => {
        // The VMC leaving its service mode (enabling the reader again, or a reset) is the closing door: every
        // service session ends. A test vend the technician started still answers its own request.
        if (this.serviceAccess === "vmc-service" && previous === "disabled" && state !== "disabled") {
          this.auth.revokeAll();
          this.log.info("the VMC left its service mode: service sessions ended", { state });
        }
        previous = state;
        this.emitStatus();
      });
      const offClosed = this.mdb.device.on("closed", () => this.emitStatus());
      this.cleanups.push(offState, offClosed);
    } else this.watchHardware(ctl);
    const onHealth = () => this.emitStatus();
    this.payments.monitor.on("health", onHealth);
    this.cleanups.push(() => void this.payments?.monitor.off("health", onHealth));

    this.server = new MachineServer({
      api: this,
      kioskDir: config.kioskDir ?? process.env.ZAPVEND_KIOSK_DIR ?? defaultKioskDir(),
      log: (msg, fields) => this.log.child("http").info(msg, fields),
      maxPendingOrders: config.maxPendingOrders,
      orderSessions: orderSessionTable(this.db),
      ...(config.http.allowedOrigins ? { allowedOrigins: config.http.allowedOrigins } : {}),
      ...(config.http.allowedHosts ? { allowedHosts: config.http.allowedHosts } : {}),
    });
    this.url = await this.server.start(config.http.host, this.opts.httpPort ?? config.http.port);
    this.cleanups.push(() => this.server?.stop());
    this.log.info("machine up", { url: this.url, board: config.board.kind, backend: config.payments.backend.kind, hold: this.payments.holdInvoices });
    return this.url;
  }

  /** The door and the faults the hal raises on its own (direct-drive boards). */
  private watchHardware(ctl: VendController): void {
    const hardware = this.hardware!;
    const bridge = this.bridge!;
    const db = this.db!;
    const offDoor = hardware.on("door", (door) => {
      db.transaction(() => bridge.outbox.enqueue({ type: "door", open: door === "open" }))();
      // The service menu needs the open door: closing it ends every service session.
      if (door === "closed") this.auth.revokeAll();
      this.syncServiceStatus();
      this.emitStatus();
    });
    this.syncServiceStatus();
    // What the hardware raises or ends on its own (the drop beam broken while idle, the board gone) goes to the
    // controller, which tells the fleet; the kiosk and the service menu follow the status either way.
    const offFault = hardware.on("fault", (f) => {
      ctl.hardwareFault(f, true);
      this.emitStatus();
    });
    const offFaultCleared = hardware.on("fault-cleared", (f) => {
      ctl.hardwareFault(f, false);
      this.emitStatus();
    });
    this.cleanups.push(offDoor, offFault, offFaultCleared);
  }

  /** Stops in the reverse order of start: the HTTP server first, the database last. */
  async stop(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        this.log.error("stop step failed", { err: String(err) });
      }
    }
  }

  private quote(p: Product): PriceQuote | null {
    try {
      const c = this.oracle!.lock(p.price);
      const fiat = p.price.unit === "fiat" ? { currency: p.price.currency, amountMinor: p.price.amountMinor } : null;
      return { amountMsat: c.amountMsat, fiat, rate: c.rate };
    } catch {
      // No fresh rate (or a rate in another currency): the product shows no price and cannot be sold.
      return null;
    }
  }

  private currentRate(): Rate | null {
    try {
      return this.oracle?.currentRate().rate ?? null;
    } catch {
      return null;
    }
  }

  /**
   * On the sim board the physics holds the products: at start and after a restock it gets what the journal says the
   * technician loaded (a real machine's spirals hold what was physically put in).
   */
  private syncSimStock(slots?: readonly string[]): void {
    const sim = this.hardware && simOf(this.hardware);
    if (!sim || !this.controller) return;
    for (const p of this.controller.productList()) {
      if (slots && !slots.includes(p.slot)) continue;
      if (p.kind === "spiral") sim.setStock(p.slot, p.stock);
      else sim.setTankMl(p.slot, p.stock * (p.volumeMl ?? 0) + 50);
    }
  }

  private createBridge(db: Database.Database): MachineBridge {
    const { config } = this;
    const products = () => this.controller?.productList() ?? config.catalog;
    const applied = (): AppliedState => ({
      slots: Object.fromEntries(products().map((p) => [p.slot, { enabled: p.enabled, price: p.price }])),
      mode: this.status().mode,
    });
    return new MachineBridge({
      machineId: config.machineId,
      mqtt: config.mqtt,
      db,
      logger: this.log.child("mqtt:bridge"),
      trustedKeys: config.operatorKeys,
      birth: () => ({
        model: config.model,
        softwareVersion: this.version,
        slots: products().map((p) => ({ slot: p.slot, name: p.name, kind: p.kind, capacity: p.capacity, stock: p.stock, price: p.price, enabled: p.enabled })),
        capabilities: { holdInvoices: this.payments?.holdInvoices ?? false, paymentsBackend: config.payments.backend.kind, board: config.board.kind },
        configVersions: { desired: this.desiredVersion, catalog: catalogDigest(config.catalog) },
      }),
      telemetry: () => {
        const s = this.status();
        const hw = this.hardware?.status();
        return {
          temperatureC: hw?.temperatureC ?? null,
          door: s.door,
          payments: s.payments,
          hardware: s.hardware,
          stock: products().map((p) => ({ slot: p.slot, stock: p.stock })),
          ...(s.mdb ? { mdb: s.mdb } : {}),
        };
      },
      appliedState: applied,
      onDesiredState: (d) => this.applyDesired(d, applied),
      storePicture: (ref, bytes) => this.pictureStore!.put(ref, bytes),
      commandHandlers: {
        "test-vend": async ({ slot }) => {
          const r = await this.ctl.testVend(slot);
          this.emitStatus();
          if (!r.ok) throw Object.assign(new Error(r.failure?.message ?? "test vend failed"), { code: r.failure?.code ?? "VEND_FAILED" });
          return { evidence: r.evidence };
        },
        restock: ({ slot, stock }) => {
          const targets = slot ? products().filter((p) => p.slot === slot) : products();
          if (targets.length === 0) throw Object.assign(new Error(`no slot ${slot}`), { code: "unknown_slot" });
          for (const p of targets) this.ctl.restock(p.slot, stock ?? p.capacity);
          this.syncSimStock(targets.map((p) => p.slot));
          this.emitStatus();
          return { slots: this.ctl.productList().filter((p) => targets.some((t) => t.slot === p.slot)).map((p) => ({ slot: p.slot, stock: p.stock })) };
        },
        "cancel-order": async ({ orderId }) => ({ order: this.ctl.toView(await this.ctl.cancelOrder(orderId)) }),
        reboot: () => {
          // Answer first, then stop cleanly; the process manager starts the daemon again.
          setTimeout(() => void this.stop().then(() => this.onReboot?.()), 500).unref();
          return { rebooting: true };
        },
      },
    });
  }

  private applyDesired(d: DesiredStatePayload, applied: () => AppliedState): DesiredOutcome {
    const ctl = this.ctl;
    const known = new Set(ctl.productList().map((p) => p.slot));
    for (const slot of Object.keys(d.slots ?? {})) {
      if (!known.has(slot)) return { ...applied(), status: "refused", error: { code: "unknown_slot", message: `this machine has no slot ${slot}` } };
    }
    const unknownProducts = unknownSlotProducts(d);
    if (unknownProducts.length > 0) {
      return { ...applied(), status: "refused", error: { code: UNKNOWN_PRODUCT, message: `slots name products this desired state does not define: ${unknownProducts.slice(0, 5).join(", ")}` } };
    }
    for (const [slot, change] of Object.entries(d.slots ?? {})) {
      ctl.updateProduct(slot, { ...(change.enabled !== undefined ? { enabled: change.enabled } : {}), ...(change.price ? { price: change.price } : {}) });
    }
    this.applyCatalog(ctl, appliedCatalogOf(d));
    this.appliedStore?.save(this.applied);
    // Saved first: a crash between the two leaves a stray file the start-up prune removes, never a missing picture.
    this.pictureStore?.prune(new Set(referencedPictures(this.applied).map((p) => p.sha256)));
    // A retained desired state comes again after each restart: its mode is applied once per version, so it does not
    // undo a later change from the service menu (both go through setMode, which keeps the mode in the journal).
    if (d.mode && d.version > ctl.modeDesiredVersion()) this.setMode(d.mode, d.version);
    this.desiredVersion = d.version;
    this.emitStatus();
    return { ...applied(), status: "applied" };
  }

  /**
   * The fleet product of each slot (the state is whole: a slot without one shows the config's name and icon again),
   * and the pictures still missing asked for over MQTT.
   */
  private applyCatalog(ctl: VendController, applied: AppliedCatalog): void {
    const previous = this.applied;
    this.applied = applied;
    let renamed = false;
    for (const p of this.config.catalog) {
      const label = (a: AppliedCatalog) => {
        const product = productOfSlot(a, p.slot);
        return product ? { name: product.names.en, icon: product.icon } : { name: p.name, icon: p.icon };
      };
      const change = label(applied);
      const was = label(previous);
      if (was.name !== change.name || was.icon !== change.icon) renamed = true;
      ctl.updateProduct(p.slot, change);
    }
    const missing = referencedPictures(applied).filter((r) => !this.pictureStore?.has(r.sha256));
    this.bridge?.pictures?.want(missing);
    // The birth names each slot's product: the fleet sees the new names without waiting for the next connection.
    if (renamed && this.bridge?.connected) void this.bridge.rebirth().catch(() => {});
  }

  /** After a restart: the slots' prices and enabled flags and the products as the fleet last set them. */
  private restoreApplied(ctl: VendController): void {
    // Before the controller's start (its journal is not open yet): the slots of the config are its products.
    const known = new Set(this.config.catalog.map((p) => p.slot));
    for (const [slot, change] of Object.entries(this.applied.slots)) {
      // A slot the local config no longer has: the fleet's next desired state is refused for it, nothing to restore.
      if (!known.has(slot)) continue;
      ctl.updateProduct(slot, { ...(change.enabled !== undefined ? { enabled: change.enabled } : {}), ...(change.price ? { price: change.price } : {}) });
    }
    this.applyCatalog(ctl, this.applied);
    this.desiredVersion = this.applied.version;
    this.log.info("fleet catalog restored", { version: this.applied.version, products: Object.keys(this.applied.products).length, pictures: this.pictureStore?.size ?? 0 });
  }

  /** A stored catalog picture by its hash (checked by the HTTP layer as 64 hex digits), for `GET /pictures/<sha256>`. */
  picture(sha256: string): StoredPicture | undefined {
    return this.pictureStore?.get(sha256);
  }

  /** The fleet product's names and, once stored, its picture, on a slot's catalog entry. */
  private withFleetProduct(e: CatalogEntry): CatalogEntry {
    const product = productOfSlot(this.applied, e.slot);
    if (!product) return e;
    const pic = product.picture;
    return {
      ...e,
      names: product.names,
      ...(pic && this.pictureStore?.has(pic.sha256) ? { picture: { url: `/pictures/${pic.sha256}`, width: pic.width, height: pic.height } } : {}),
    };
  }

  /** In or out of service, from the service menu or the fleet's desired state: one path. */
  setMode(mode: "normal" | "maintenance", desiredVersion?: number): void {
    this.ctl.setMode(mode, desiredVersion !== undefined ? { desiredVersion } : {});
    this.log.info("mode", { mode, ...(desiredVersion !== undefined ? { desiredVersion } : {}) });
    this.syncServiceStatus();
    this.emitStatus();
  }

  /** MQTT status `service` while the door is open or the machine is in maintenance, `online` otherwise. */
  private syncServiceStatus(): void {
    const doorOpen = this.hardware?.status().door === "open";
    this.bridge?.setServiceMode(doorOpen || this.controller?.getMode() === "maintenance");
  }

  private emitStatus(): void {
    this.emit("status", this.status());
    this.emit("catalog", this.catalog());
  }

  private get ctl(): VendController {
    if (!this.controller) throw new ApiFailure(503, ApiErrorCode.OUT_OF_SERVICE, "the machine is starting");
    return this.controller;
  }

  status(): MachineStatusView {
    const hw = this.hardware?.status() ?? this.mdb?.sales.status();
    const payments = this.payments?.health() ?? "down";
    // sellBlocker() is null when the machine can sell: no `??` here, null is the good answer.
    const blocker = this.controller ? this.controller.sellBlocker() : new ControllerError("stopping", "starting");
    // The hardware's faults, then the controller's machine-wide ones (a shared part that failed a vend, a refused
    // fleet event), each code once.
    const faults: Array<{ code: string; message: string }> = [];
    for (const f of [...(hw?.faults ?? []), ...(this.controller?.faults() ?? [])]) {
      if (!faults.some((x) => x.code === f.code && x.message === f.message)) faults.push({ code: f.code, message: f.message });
    }
    const operatingMode = this.controller?.getMode() ?? "normal";
    return {
      machineId: this.machineId,
      mode: hw?.door === "open" ? "service" : operatingMode,
      operatingMode,
      selling: blocker === null,
      payments,
      hardware: !hw ? "down" : hw.ready && faults.length === 0 ? "up" : hw.ready ? "degraded" : "down",
      door: hw?.door ?? "open",
      faults: faults.slice(0, 50),
      ...(this.mdb ? { mdb: this.mdb.sales.mdbStatus() } : {}),
    };
  }

  health(): HealthResponse {
    const s = this.status();
    return {
      ...s,
      status: s.payments === "down" || s.hardware === "down" ? "down" : s.selling ? "up" : "degraded",
      version: this.version,
      uptimeMs: Date.now() - this.startedAt,
      demoWallet: this.demoPay !== undefined,
      ...(this.hardware && simOf(this.hardware) ? { demoBoard: true } : {}),
      ...(this.mdb?.vmc ? { demoVmc: true } : {}),
    };
  }

  catalog(): Catalog {
    return {
      machineId: this.machineId,
      currency: this.config.pricing.currency,
      rate: this.currentRate(),
      products: (this.controller?.catalog() ?? []).map((e) => this.withFleetProduct(e)),
    };
  }

  async createOrder(slot: string, creditId?: string): Promise<Order> {
    const order = await this.ctl.createOrder(slot, creditId !== undefined ? { creditId } : {});
    return this.ctl.toView(order);
  }

  currentOrder(): Order | null {
    // An MDB machine's order starts at the VMC's keypad: a kiosk that (re)loads shows the open vend request's QR.
    const vmcOrderId = this.mdb?.sales.current()?.orderId;
    const vmcOrder = vmcOrderId !== undefined ? this.controller?.getOrder(vmcOrderId) : undefined;
    const o = vmcOrder?.state === "pending" ? vmcOrder : this.controller?.currentOrder();
    return o ? this.ctl.toView(o) : null;
  }

  getOrder(orderId: string): Order | undefined {
    const o = this.controller?.getOrder(orderId);
    return o && this.ctl.toView(o);
  }

  async cancelOrder(orderId: string): Promise<Order> {
    return this.ctl.toView(await this.ctl.cancelOrder(orderId));
  }

  get demoPay(): ((orderId: string) => Promise<void>) | undefined {
    const b = this.config.payments.backend;
    const walletUrl = this.config.payments.demoWalletUrl ?? (b.kind === "sim" ? b.url : undefined);
    if (walletUrl === undefined) return undefined;
    return async (orderId: string) => {
      const order = this.controller?.getOrder(orderId);
      if (!order?.bolt11 || order.state !== "pending") throw new ApiFailure(409, "bad_state", "no payable invoice for this order");
      const res = await fetch(new URL("/wallet/pay", walletUrl), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ bolt11: order.bolt11 }),
      });
      if (!res.ok) this.log.warn("demo wallet payment ended without settling", { orderId, status: res.status, body: (await res.text()).slice(0, 200) });
    };
  }

  get btcpayWebhook(): ((rawBody: Uint8Array, signature: string | undefined) => Promise<{ accepted: boolean; status: number; reason?: string }>) | undefined {
    const btcpay = this.btcpay;
    if (!btcpay) return undefined;
    return (rawBody, signature) => btcpay.handleWebhook(rawBody, signature);
  }

  get demoSim(): ((body: unknown) => DemoSimResponse) | undefined {
    const sim = this.hardware && simOf(this.hardware);
    if (!sim) return undefined;
    return (body: unknown) => {
      const parsed = parseValue(DemoSimRequest, body);
      if (!parsed.ok) throw new ApiFailure(400, parsed.error.code, `${parsed.error.message} (at ${parsed.error.path})`);
      const { door, faults } = parsed.value;
      const unknown = faults?.find((f) => !isSimFault(f));
      if (unknown !== undefined) throw new ApiFailure(400, ApiErrorCode.UNKNOWN_SIM_FAULT, `unknown sim fault "${unknown}"`);
      if (faults) {
        sim.clear();
        for (const f of faults) if (isSimFault(f)) sim.inject(f);
      }
      if (door) sim.setDoorOpen(door === "open");
      this.log.info("demo: sim board set", { door: sim.doorOpen ? "open" : "closed", faults: sim.faults });
      this.emitStatus();
      return { door: sim.doorOpen ? "open" : "closed", faults: [...sim.faults] };
    };
  }

  /** The sim VMC's keypad and faults (demo, tests); undefined unless the board is `mdb` on the sim VMC. */
  get demoVmc(): { get(): DemoVmcResponse; post(body: unknown): Promise<DemoVmcResponse> } | undefined {
    const demo = this.mdb?.demo;
    if (!demo) return undefined;
    return {
      get: () => demo.get(),
      post: async (body) => {
        const r = await demo.post(body);
        this.log.info("demo: sim VMC", { body, phase: r.phase });
        return r;
      },
    };
  }

  private serviceStatus() {
    const s = this.status();
    return {
      ...s,
      serviceAccess: this.serviceAccess,
      version: this.version,
      uptimeMs: Date.now() - this.startedAt,
      boot: this.boot,
      slots: this.ctl.productList().map((p) => ({ slot: p.slot, name: p.name, kind: p.kind, stock: p.stock, capacity: p.capacity, enabled: p.enabled })),
    };
  }

  /**
   * What opens the service menu: the door sensor (direct drive); on an MDB machine, which has no door sensor of
   * zapvend's, the VMC's service mode (it disables the reader) or, by config, the PIN alone.
   */
  get serviceAccess(): "door" | "vmc-service" | "pin" {
    return this.config.board.kind === "mdb" ? this.config.board.serviceAccess : "door";
  }

  serviceRoute = async (req: { method: string; path: string; body: unknown; authorization: string | undefined }) => {
    const sub = req.path.slice("/api/service/".length);
    if (req.method === "POST" && sub === "login") {
      // The door (or the VMC's service mode) before the PIN: at a closed machine nobody gets to try a PIN at all.
      const access = this.serviceAccess;
      if (access === "door" && this.hardware?.status().door !== "open") {
        return { status: 403, body: { error: { code: "door_closed", message: "open the machine's door to use the service menu" } } };
      }
      if (access === "vmc-service" && this.mdb?.device.state !== "disabled") {
        return {
          status: 403,
          body: { error: { code: "vmc_not_in_service", message: `put the vending machine in its own service mode (open it): the service menu opens while the VMC keeps the reader disabled (now ${this.mdb?.device.state ?? "no reader"})` } },
        };
      }
      const parsed = parseValue(ServiceLoginRequest, req.body);
      if (!parsed.ok) throw new ApiFailure(400, parsed.error.code, parsed.error.message);
      const r = this.auth.login(parsed.value.pin);
      if (r.ok) return { status: 200, body: { token: r.token, expiresAt: r.expiresAt } };
      const status = r.code === "locked" ? 429 : r.code === "no_pin_configured" ? 503 : 401;
      const message = r.code === "locked" ? "too many wrong PINs; try again later" : r.code === "no_pin_configured" ? "no service PIN is configured" : "wrong PIN";
      return { status, body: { error: { code: r.code, message } } };
    }
    if (!this.auth.check(req.authorization)) return { status: 401, body: { error: { code: "unauthorized", message: "log in with the service PIN" } } };
    if (req.method === "POST" && sub === "logout") {
      this.auth.logout(req.authorization);
      return { status: 204, body: null };
    }
    if (req.method === "GET" && sub === "status") return { status: 200, body: this.serviceStatus() };
    if (req.method === "POST" && sub === "mode") {
      const parsed = parseValue(ServiceModeRequest, req.body);
      if (!parsed.ok) throw new ApiFailure(400, parsed.error.code, parsed.error.message);
      this.setMode(parsed.value.mode);
      return { status: 200, body: this.serviceStatus() };
    }
    if (req.method === "POST" && sub === "restock") {
      const parsed = parseValue(RestockRequest, req.body);
      if (!parsed.ok) throw new ApiFailure(400, parsed.error.code, parsed.error.message);
      const product = this.ctl.productList().find((p) => p.slot === parsed.value.slot);
      if (!product) throw new ApiFailure(404, "unknown_slot", `no slot ${parsed.value.slot}`);
      if (parsed.value.stock > product.capacity) throw new ApiFailure(400, "out_of_range", `stock above the capacity of ${product.capacity}`);
      this.ctl.restock(parsed.value.slot, parsed.value.stock);
      this.syncSimStock([parsed.value.slot]);
      // The technician at the open machine clears what is latched; the hal keeps a drop beam that still reads broken.
      this.hardware?.clearFaults();
      this.ctl.clearFaults();
      this.emitStatus();
      return { status: 200, body: { slot: product.slot, name: product.name, kind: product.kind, stock: parsed.value.stock, capacity: product.capacity, enabled: product.enabled } };
    }
    if (req.method === "POST" && sub === "test-vend") {
      const parsed = parseValue(TestVendRequest, req.body);
      if (!parsed.ok) throw new ApiFailure(400, parsed.error.code, parsed.error.message);
      if (this.mdb) {
        // Through the VMC: the next keypad press of this selection is approved without payment (no order, no sale).
        const selection = selectionOfSlot(parsed.value.slot);
        if (selection === undefined) throw new ApiFailure(404, "unknown_slot", `${parsed.value.slot} is not a VMC selection (S<number>)`);
        const r = await this.mdb.sales.testVend(selection, { requestTimeoutMs: MDB_TEST_VEND_PRESS_MS });
        this.emitStatus();
        return { status: 200, body: { slot: parsed.value.slot, ...r, finishedAt: Date.now() } };
      }
      const r = await this.ctl.testVend(parsed.value.slot);
      this.emitStatus();
      return { status: 200, body: { slot: parsed.value.slot, ...r, finishedAt: Date.now() } };
    }
    if (req.method === "GET" && sub === "harness") {
      if (this.mdb) throw new ApiFailure(409, "use_harness", "an MDB machine's checks run in zapvend-harness --board mdb --port <path>");
      if (!this.hardware) throw new ApiFailure(503, "hardware_unavailable", "no hardware");
      // From the kiosk nothing moves: the checks that turn a motor need the technician's harness with --yes.
      const checks = await runChecks({ hardware: this.hardware, clock: systemClock, signal: AbortSignal.timeout(30_000), allowMotion: false });
      const report: HarnessReport = { board: this.config.board.kind, checks };
      return { status: 200, body: report };
    }
    return undefined;
  };
}
