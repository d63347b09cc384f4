import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type Database from "better-sqlite3";
import {
  FaultCode,
  isFinalOrderState,
  msatString,
  type CatalogEntry,
  type CodedError,
  type FiatAmount,
  type Order,
  type OrderState,
  type Product,
  type Rate,
  type VendEvidence,
  type VendProgress,
} from "@zapvend/protocol";
import { ControllerError } from "./errors.js";
import { ControllerFaultCode, eventProblem, safeCode, safeEvent, safeText } from "./events.js";
import { Journal, openJournalDb, type CreditRecord, type OrderRecord } from "./journal.js";
import {
  systemClock,
  type Clock,
  type EventSink,
  type InvoiceLookup,
  type Logger,
  type PaymentRejection,
  type PaymentsPort,
  type VendHardware,
} from "./ports.js";

/** A price turned into msat at a rate no older than its limit; null when it cannot be (no fresh rate). */
export interface PriceQuote {
  amountMsat: bigint;
  fiat: FiatAmount | null;
  rate: Rate | null;
}

export interface ControllerOptions {
  db: Database.Database;
  hardware: VendHardware;
  payments: PaymentsPort;
  /** The fleet outbox, written in the same transaction as the order transition that causes each event. */
  events: EventSink;
  catalog: readonly Product[];
  /** Prices a product now (fiat through the rate oracle, msat as is). */
  quote: (product: Product) => PriceQuote | null;
  /** Invoice expiry in seconds. Default 180. */
  invoiceExpirySec?: number;
  /**
   * After a restart, a payment found held for an order whose invoice expired longer ago than this is refunded rather
   * than vended: the buyer has most likely walked away. Default 120 000 ms.
   */
  recoveryGraceMs?: number;
  /**
   * The pour station (the pin map's `pourStations` key) a pour slot pours from; the machine daemon resolves it from
   * the pin map. Slots that resolve to the same station share its pump, flow meter and tank. Default: no station
   * named, the hardware's first, shared by every pour slot.
   */
  pourStation?: (slot: string) => string | undefined;
  clock?: Clock;
  logger?: Logger;
}

export interface ControllerEvents {
  order: [order: Order];
  progress: [orderId: string, progress: VendProgress];
  /** Something the operator should know (slot faulted, settle retrying, ...). */
  fault: [fault: CodedError & { slot?: string }];
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Codes after which a slot is taken out of sale until a technician restocks or clears it. */
const SLOT_STOPPING_FAULTS = new Set<string>([
  FaultCode.PUMP_DRY_RUN,
  FaultCode.FLOW_SENSOR_DEAD,
  FaultCode.TANK_EMPTY,
  FaultCode.SPIRAL_JAM,
  FaultCode.SPIRAL_HOME_TIMEOUT,
  FaultCode.DROP_NOT_SEEN,
  FaultCode.DROP_SENSOR_STUCK,
  FaultCode.SLOT_EMPTY,
]);

/**
 * Codes of a part that every slot of its kind shares: the drop beam under all spirals. A vend that fails on one of
 * these takes the whole machine out of sale (`hardware_unavailable`), not only the slot that was vending: the next
 * buyer of another slot would pay for a vend that cannot work. Cleared by the technician (`clearFaults`, a test vend
 * of that kind that works); it survives a restart.
 */
const SHARED_PART_FAULTS = new Set<string>([FaultCode.DROP_SENSOR_STUCK]);
/**
 * Codes of a pour station's own parts (its flow meter, its pump and the tank it draws from): shared parts when the
 * failing slot's station serves other pour slots too (`pourStation`), so they stop the machine like the drop beam.
 */
const STATION_FAULTS = new Set<string>([FaultCode.FLOW_SENSOR_DEAD, FaultCode.PUMP_DRY_RUN]);
/** After a restart, how long the hardware has to raise again a fault the fleet was told about before it is told it ended. */
const HARDWARE_RECHECK_MS = 10_000;

/** The kind of vend that proves a shared part works again (a test vend of that kind clears its fault). */
const SHARED_PART_KIND: Record<string, "spiral" | "pour"> = {
  [FaultCode.DROP_SENSOR_STUCK]: "spiral",
  [FaultCode.FLOW_SENSOR_DEAD]: "pour",
  [FaultCode.PUMP_DRY_RUN]: "pour",
};

/** How long a finished order stays "current" for a kiosk that reloads. */
const CURRENT_ORDER_WINDOW_MS = 15_000;

/** An order paid entirely from a credit: no invoice, nothing to pay over Lightning. */
function isCreditOnly(o: OrderRecord): boolean {
  return o.creditUsed !== null && o.amountMsat === 0n;
}

/** Backoff of settle and cancel retries: 5 s, 10 s, 20 s, ... capped at 5 min. */
export function retryDelayMs(attempt: number): number {
  return Math.min(5_000 * 2 ** Math.min(attempt, 10), 300_000);
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("base64url")}`;
}

function sha256Hex(hex: string): string {
  return createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");
}

/**
 * The vend cycle. A tap becomes an order with a verified hold invoice; a verified payment becomes a vend; sensor
 * evidence becomes a settled payment, a failure becomes a refund (hold) or a credit (plain invoice). Every transition
 * is journaled before the machine acts on it, and `start()` recovers whatever a crash left open.
 */
export class VendController extends EventEmitter<ControllerEvents> {
  private journalRef: Journal | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly products = new Map<string, Product>();
  private readonly expiryTimers = new Map<string, unknown>();
  private readonly retryTimers = new Set<unknown>();
  /** Failed settle / cancel attempts per order (for the capped backoff); starts again at 0 after a restart. */
  private readonly attempts = new Map<string, number>();
  private readonly faultedSlots = new Map<string, CodedError>();
  /** Faults of shared parts (by code): the machine sells nothing until a technician clears them. */
  private readonly machineFaults = new Map<string, CodedError>();
  /**
   * Faults the hardware found on its own while nothing vended (the drop beam broken while idle, a board gone), told
   * to the fleet, by `code:slot`; kept in the journal so their end is told too, also across a restart.
   */
  private readonly hardwareAnnounced = new Map<string, CodedError>();
  private hardwareRecheck: unknown;
  /** Faults that stop nothing but the operator must see (a refused fleet event), by code; cleared with the others. */
  private readonly notices = new Map<string, CodedError>();
  /** Pour slots that share their station with another pour slot: a station fault of one stops the machine. */
  private readonly sharedStationSlots = new Set<string>();
  private vendChain: Promise<void> = Promise.resolve();
  /** Vends and test vends queued or running. */
  private vendsQueued = 0;
  /** Hardware faults raised while a vend ran (keyed as `hardwareAnnounced`), told once the vend queue is empty. */
  private readonly hardwareDeferred = new Map<string, { code: string; message: string; slot?: string }>();
  private vendAbort = new AbortController();
  private removeUpdateListener: (() => void) | undefined;
  private removeRejectedListener: (() => void) | undefined;
  private mode: "normal" | "maintenance" = "normal";
  private started = false;
  private stopping = false;

  constructor(private readonly opts: ControllerOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    for (const p of opts.catalog) this.products.set(p.slot, { ...p });
    const byStation = new Map<string, string[]>();
    for (const p of opts.catalog) {
      if (p.kind !== "pour") continue;
      const station = opts.pourStation?.(p.slot) ?? "";
      byStation.set(station, [...(byStation.get(station) ?? []), p.slot]);
    }
    for (const slots of byStation.values()) if (slots.length > 1) for (const slot of slots) this.sharedStationSlots.add(slot);
  }

  /** The journal; available once `start()` has migrated it. */
  get journal(): Journal {
    if (!this.journalRef) throw new Error("VendController: start() first");
    return this.journalRef;
  }

  private get expiryMs(): number {
    return (this.opts.invoiceExpirySec ?? 180) * 1000;
  }

  /** Migrates the journal, recovers open orders, and starts following payments. */
  async start(): Promise<void> {
    openJournalDb(this.opts.db);
    this.journalRef = new Journal(this.opts.db);
    const savedMode = this.journal.getSetting("mode");
    if (savedMode === "normal" || savedMode === "maintenance") this.mode = savedMode;
    for (const p of this.products.values()) this.journal.seedStock(p.slot, p.stock);
    this.restoreLatchedFaults();
    if (this.hardwareAnnounced.size > 0) {
      // The hardware re-raises what still stands within its own debounce; what it did not is over.
      this.hardwareRecheck = this.clock.setTimeout(() => {
        this.hardwareRecheck = undefined;
        const standing = new Set(this.opts.hardware.status().faults.map((f) => `${f.code}:${f.slot ?? ""}`));
        for (const key of [...this.hardwareAnnounced.keys()]) if (!standing.has(key)) this.endHardwareFault(key);
      }, HARDWARE_RECHECK_MS);
    }
    this.removeUpdateListener = this.opts.payments.onUpdate((hash, lookup) => {
      this.onPaymentUpdate(hash, lookup).catch((err: unknown) => this.log.error("payment update failed", { paymentHash: hash, err: String(err) }));
    });
    this.removeRejectedListener = this.opts.payments.onRejected?.((hash, rejection) => {
      this.onPaymentRejected(hash, rejection).catch((err: unknown) => this.log.error("payment rejection failed", { paymentHash: hash, err: String(err) }));
    });
    this.started = true;
    await this.recover();
  }

  /**
   * Puts back the faults that kept a slot or the machine out of sale before the restart: a power cut does not repair
   * a jammed spiral. A latched fault that no longer applies (its slot left the catalog, or its part is no longer
   * shared by every slot) is dropped with a log line.
   */
  private restoreLatchedFaults(): void {
    for (const { scope, key, fault } of this.journal.latchedFaults()) {
      if (scope === "slot" && this.products.has(key)) this.faultedSlots.set(key, fault);
      else if (scope === "machine" && (SHARED_PART_FAULTS.has(key) || (STATION_FAULTS.has(key) && this.sharedStationSlots.size > 0))) this.machineFaults.set(key, fault);
      else if (scope === "hardware") {
        this.hardwareAnnounced.set(key, fault);
        continue;
      } else {
        this.journal.unlatchFault(scope, key);
        this.log.info("latched fault dropped: it no longer applies to this catalog", { scope, key, code: fault.code });
        continue;
      }
      this.log.warn("fault still latched from before the restart", { scope, key, code: fault.code, message: fault.message });
    }
  }

  /**
   * A fault the hardware raised (`active`) or ended on its own (the machine daemon forwards the hal's `fault` and
   * `fault-cleared`). One raised while nothing vends (the drop beam broken while idle, the board gone) is told to the
   * fleet as a `fault` event, and its end as well; one a vend runs into is told with the failed vend instead, so it
   * is not told twice, and another one raised during a vend (the board gone, which aborts the vend) once the vend
   * queue is empty. Selling is gated by the hardware's status either way (`sellBlocker`).
   */
  hardwareFault(fault: { code: string; message: string; slot?: string }, active: boolean): void {
    if (!this.journalRef) return;
    const key = `${fault.code}:${fault.slot ?? ""}`;
    if (active) {
      if (this.hardwareAnnounced.has(key)) return;
      if (this.vendsQueued > 0) {
        // Raised while a vend runs: the vend may fail on it and tell it itself; told once the queue is empty if not.
        this.hardwareDeferred.set(key, fault);
        return;
      }
      const f: CodedError = { code: fault.code, message: fault.message };
      this.hardwareAnnounced.set(key, f);
      this.opts.db.transaction(() => {
        this.journal.latchFault("hardware", key, f, this.clock.now());
        this.enqueueEvent({ type: "fault", fault: f, active: true, severity: "critical" });
      })();
      this.log.warn("hardware fault while idle", { code: fault.code, slot: fault.slot, message: fault.message });
    } else {
      this.hardwareDeferred.delete(key);
      this.endHardwareFault(key);
    }
  }

  /** A vend (or test vend) left the queue: once it is empty, tells the hardware faults raised meanwhile. */
  private vendLeftQueue(): void {
    this.vendsQueued--;
    if (this.vendsQueued > 0 || this.hardwareDeferred.size === 0 || !this.started || this.stopping) return;
    const deferred = [...this.hardwareDeferred.values()];
    this.hardwareDeferred.clear();
    for (const f of deferred) this.hardwareFault(f, true);
  }

  private endHardwareFault(key: string): void {
    const f = this.hardwareAnnounced.get(key);
    if (!f) return;
    this.hardwareAnnounced.delete(key);
    this.opts.db.transaction(() => {
      this.journal.unlatchFault("hardware", key);
      this.enqueueEvent({ type: "fault", fault: f, active: false, severity: "warning" });
    })();
    this.log.info("hardware fault over", { key });
  }

  /** Stops taking orders, lets a vend in progress finish (bounded by the hardware's own limits), then releases everything. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.removeUpdateListener?.();
    this.removeRejectedListener?.();
    for (const t of this.expiryTimers.values()) this.clock.clearTimeout(t);
    this.expiryTimers.clear();
    for (const t of this.retryTimers) this.clock.clearTimeout(t);
    this.retryTimers.clear();
    if (this.hardwareRecheck !== undefined) this.clock.clearTimeout(this.hardwareRecheck);
    this.hardwareRecheck = undefined;
    await this.vendChain;
    this.started = false;
  }

  /** Aborts a vend in progress (emergency stop): the actuator stops and the order is refunded or credited. */
  abortVends(): void {
    const current = this.vendAbort;
    this.vendAbort = new AbortController();
    current.abort(new Error("vend aborted"));
  }

  /**
   * In or out of service: `maintenance` issues no invoice (a vend already paid still runs). Kept in the journal, so
   * the machine comes back in the same mode after a restart. The fleet's desired state and the service menu both
   * land here.
   */
  setMode(mode: "normal" | "maintenance", opts: { desiredVersion?: number } = {}): void {
    this.mode = mode;
    if (!this.journalRef) return;
    this.opts.db.transaction(() => {
      this.journal.setSetting("mode", mode);
      if (opts.desiredVersion !== undefined) this.journal.setSetting("mode_desired_version", String(opts.desiredVersion));
    })();
  }

  /**
   * The fleet desired-state version whose `mode` was last applied (0: none). A retained desired state is delivered
   * again after every restart; its mode must not undo a later change made at the machine's service menu.
   */
  modeDesiredVersion(): number {
    return Number(this.journal.getSetting("mode_desired_version") ?? 0);
  }

  getMode(): "normal" | "maintenance" {
    return this.mode;
  }

  /** Applies a slot change from the fleet's desired state (price, enabled). */
  updateProduct(slot: string, change: Partial<Pick<Product, "price" | "enabled">>): void {
    const p = this.products.get(slot);
    if (!p) throw new ControllerError("unknown_slot", `no slot ${slot}`);
    this.products.set(slot, { ...p, ...change });
  }

  productList(): Product[] {
    return [...this.products.values()].map((p) => ({ ...p, stock: this.journal.stock(p.slot) }));
  }

  /** Why the machine cannot sell right now, or null when it can. */
  sellBlocker(): ControllerError | null {
    if (this.stopping || !this.started) return new ControllerError("stopping", "the machine is starting or stopping");
    if (this.mode !== "normal") return new ControllerError("out_of_service", "the machine is in maintenance");
    const hw = this.opts.hardware.status();
    if (hw.door === "open") return new ControllerError("out_of_service", "the service door is open");
    const shared = this.machineFaults.values().next().value;
    if (shared) return new ControllerError("hardware_unavailable", `hardware fault: ${shared.message}`, { fault: shared });
    const machineFaults = hw.faults.filter((f) => f.slot === undefined);
    if (!hw.ready || machineFaults.length > 0) {
      return new ControllerError("hardware_unavailable", `hardware not ready${machineFaults[0] ? `: ${machineFaults[0].message}` : ""}`);
    }
    if (this.opts.payments.health() !== "up") return new ControllerError("payments_unavailable", "the Lightning backend cannot see payments right now");
    return null;
  }

  catalog(): CatalogEntry[] {
    const hwFaults = this.opts.hardware.status().faults;
    return [...this.products.values()].map((p) => {
      const q = this.opts.quote(p);
      const available = this.available(p.slot);
      return {
        slot: p.slot,
        name: p.name,
        kind: p.kind,
        ...(p.icon !== undefined ? { icon: p.icon } : {}),
        ...(p.volumeMl !== undefined ? { volumeMl: p.volumeMl } : {}),
        priceMsat: q ? msatString(q.amountMsat) : null,
        fiat: q?.fiat ?? (p.price.unit === "fiat" ? { currency: p.price.currency, amountMinor: p.price.amountMinor } : null),
        stock: available,
        soldOut: available <= 0,
        enabled: p.enabled && !this.faultedSlots.has(p.slot) && !hwFaults.some((f) => f.slot === p.slot),
      };
    });
  }

  /** Stock minus the units reserved by open orders. */
  available(slot: string): number {
    return Math.max(0, this.journal.stock(slot) - this.journal.reserved(slot));
  }

  slotFault(slot: string): CodedError | undefined {
    return this.faultedSlots.get(slot);
  }

  /**
   * The machine-wide faults the controller holds: a shared part that failed a vend (stops all selling) and notices
   * for the operator (a refused fleet event; stops nothing). Slot faults are in `catalog()` (`enabled: false`).
   */
  faults(): CodedError[] {
    return [...this.machineFaults.values(), ...this.notices.values()].map((f) => ({ ...f }));
  }

  /**
   * The technician cleared the machine's faults (service menu, harness): shared-part faults and notices end, and the
   * fleet is told. A part that is still broken fails the next vend again (and the hardware's own fault, which the hal
   * keeps while its sensor still reads wrong, keeps the machine out of sale meanwhile).
   */
  clearFaults(): void {
    const cleared = [...this.machineFaults.values()];
    if (cleared.length === 0 && this.notices.size === 0) return;
    this.machineFaults.clear();
    this.notices.clear();
    if (!this.journalRef) return;
    this.opts.db.transaction(() => {
      for (const fault of cleared) {
        this.journal.unlatchFault("machine", fault.code);
        this.enqueueEvent({ type: "fault", fault, active: false, severity: "warning" });
      }
    })();
    this.log.info("machine faults cleared", { codes: cleared.map((f) => f.code) });
  }

  /**
   * Creates an order: reserves a unit, locks the price, makes the preimage, creates the hold invoice and has it
   * verified. Throws `ControllerError` with the reason the kiosk shows.
   */
  async createOrder(slot: string, opts: { creditId?: string } = {}): Promise<OrderRecord> {
    const product = this.products.get(slot);
    if (!product) throw new ControllerError("unknown_slot", `no slot ${slot}`);
    const blocker = this.sellBlocker();
    if (blocker) throw blocker;
    if (!product.enabled) throw new ControllerError("slot_disabled", `slot ${slot} is not for sale`);
    const fault = this.faultedSlots.get(slot) ?? this.opts.hardware.status().faults.find((f) => f.slot === slot);
    if (fault) throw new ControllerError("slot_disabled", `slot ${slot} is out of order: ${fault.message}`, { fault });
    const quote = this.opts.quote(product);
    if (!quote) throw new ControllerError("no_price", "no fresh exchange rate to price this product");
    if (quote.amountMsat <= 0n) throw new ControllerError("no_price", "the product has no price");
    if (opts.creditId !== undefined) this.checkCredit(opts.creditId);

    const now = this.clock.now();
    // With a credit, the price is split: `applied` from the credit (reserved now, debited only when the product came
    // out), the rest (`amountMsat` of the order) over Lightning. The final split is computed again inside the
    // reserving transaction below.
    const credit = opts.creditId !== undefined ? this.journal.getCredit(opts.creditId) : undefined;
    const appliedMsat = credit ? (credit.balanceMsat < quote.amountMsat ? credit.balanceMsat : quote.amountMsat) : 0n;
    const restMsat = quote.amountMsat - appliedMsat;
    const creditOnly = credit !== undefined && restMsat === 0n;
    const hold = !creditOnly && this.opts.payments.holdInvoices;
    const preimage = hold ? randomBytes(32).toString("hex") : null;
    const order: OrderRecord = {
      orderId: newId("ord"),
      slot,
      productName: product.name,
      kind: product.kind,
      volumeMl: product.volumeMl ?? null,
      // Paid entirely by the credit: nothing to wait for, the order is as good as a held payment.
      state: creditOnly ? "held" : "pending",
      amountMsat: restMsat,
      fiat: quote.fiat,
      rate: quote.rate,
      // A plain invoice's hash is the backend's; until it answers, a unique placeholder that can match no invoice.
      // An order paid by credit alone keeps a placeholder for good (the API shows null).
      paymentHash: preimage ? sha256Hex(preimage) : `${creditOnly ? "credit" : "pending"}:${randomBytes(16).toString("hex")}`,
      preimage,
      bolt11: "",
      hold,
      createdAt: now,
      expiresAt: now + this.expiryMs,
      updatedAt: now,
      failure: null,
      evidence: null,
      credit: null,
      creditUsed: credit ? { creditId: credit.creditId, appliedMsat } : null,
      settlement: null,
      cancelPending: false,
    };
    // Reserve the unit and record the preimage before the invoice exists: a crash from here on is recovered.
    // The credit is reserved in the same transaction: a crash leaves either both or neither.
    const reserved = this.opts.db.transaction(() => {
      if (this.available(slot) <= 0) return false;
      if (credit) {
        const c = this.checkCredit(credit.creditId);
        if (c.balanceMsat !== credit.balanceMsat) throw new ControllerError("credit_in_use", "the credit changed; try again");
        this.journal.updateCredit({ ...c, reservedBy: order.orderId });
      }
      this.journal.insertOrder(order);
      return true;
    })();
    if (!reserved) throw new ControllerError("sold_out", `slot ${slot} is sold out`);
    if (creditOnly) {
      this.emitOrder(order);
      this.log.info("order paid by credit", { orderId: order.orderId, creditId: credit!.creditId, slot, appliedMsat: appliedMsat.toString() });
      this.enqueueVend(order.orderId);
      return order;
    }

    const description = `${product.name} (${slot})`;
    try {
      if (preimage) {
        const { bolt11 } = await this.opts.payments.createHoldInvoice({
          paymentHash: order.paymentHash,
          preimage,
          amountMsat: order.amountMsat,
          description,
          expirySec: this.expiryMs / 1000,
        });
        order.bolt11 = bolt11;
      } else {
        const created = await this.opts.payments.createInvoice({ amountMsat: order.amountMsat, description, expirySec: this.expiryMs / 1000 });
        order.bolt11 = created.bolt11;
        order.paymentHash = created.paymentHash;
      }
    } catch (err) {
      // No invoice a buyer could pay was shown: release the reservation.
      this.transition(order, "expired", { failure: { code: "invoice_failed", message: String((err as Error).message ?? err).slice(0, 400) } });
      if (preimage) void this.opts.payments.cancel(order.paymentHash).catch(() => undefined);
      const untrusted = (err as { code?: string }).code?.startsWith("invoice_") || (err as { name?: string }).name === "InvoiceError";
      throw new ControllerError(untrusted ? "invoice_untrusted" : "payments_unavailable", `could not create a trusted invoice: ${(err as Error).message}`);
    }
    order.updatedAt = this.clock.now();
    this.opts.db.transaction(() => this.journal.saveOrder(order, "pending", "invoice issued"))();
    this.opts.payments.track(order.paymentHash, order.amountMsat);
    this.scheduleExpiry(order);
    this.emitOrder(order);
    this.log.info("order created", { orderId: order.orderId, paymentHash: order.paymentHash, slot, amountMsat: order.amountMsat.toString() });
    return order;
  }

  getOrder(orderId: string): OrderRecord | undefined {
    return this.journal.getOrder(orderId);
  }

  /** A credit that can be spent now, or the reason it cannot (`credit_not_found`, `credit_spent`, `credit_in_use`). */
  private checkCredit(creditId: string): CreditRecord {
    const c = this.journal.getCredit(creditId);
    if (!c) throw new ControllerError("credit_not_found", `no credit ${creditId}`);
    if (c.balanceMsat <= 0n) throw new ControllerError("credit_spent", `credit ${creditId} is spent`);
    if (c.reservedBy) {
      const holder = this.journal.getOrder(c.reservedBy);
      if (holder && !isFinalOrderState(holder.state)) {
        throw new ControllerError("credit_in_use", `credit ${creditId} is used by the open order ${c.reservedBy}; cancel it or let it expire`);
      }
    }
    return c;
  }

  /**
   * The order the machine is vending now (`held` or `dispensing`), else the most recent order that reached a final
   * state in the last 15 s (a kiosk reloaded mid-vend shows "take your product" or the refund), else undefined.
   */
  currentOrder(): OrderRecord | undefined {
    return this.journal.currentOrder(this.clock.now() - CURRENT_ORDER_WINDOW_MS);
  }

  /** The buyer backs out: an unpaid invoice is cancelled and the order ends as `expired`. */
  async cancelOrder(orderId: string): Promise<OrderRecord> {
    const order = this.journal.getOrder(orderId);
    if (!order) throw new ControllerError("not_found", `no order ${orderId}`);
    if (order.state !== "pending") throw new ControllerError("bad_state", `order ${orderId} is ${order.state}, not pending`);
    await this.expire(order, { code: "cancelled_by_buyer", message: "the buyer cancelled" });
    return this.journal.getOrder(orderId)!;
  }

  /** Sets a slot's stock (restock), clears its fault, and tells the fleet. */
  restock(slot: string, stock: number): void {
    const product = this.products.get(slot);
    if (!product) throw new ControllerError("unknown_slot", `no slot ${slot}`);
    if (!Number.isInteger(stock) || stock < 0 || stock > product.capacity) {
      throw new ControllerError("bad_state", `stock for ${slot} must be 0..${product.capacity}`);
    }
    this.opts.db.transaction(() => {
      const previous = this.journal.stock(slot);
      this.journal.setStock(slot, stock);
      this.enqueueEvent({ type: "restock", slot, previous, stock });
      const fault = this.faultedSlots.get(slot);
      this.journal.unlatchFault("slot", slot);
      if (fault) this.enqueueEvent({ type: "fault", fault, active: false, severity: "warning" });
    })();
    this.faultedSlots.delete(slot);
  }

  /**
   * A technician's test vend: no payment, not a sale, stock counted. Runs in the vend queue so it never overlaps a
   * paid vend. Resolves with the evidence or the failure.
   */
  testVend(slot: string): Promise<{ ok: boolean; failure: CodedError | null; evidence: VendEvidence | null }> {
    const product = this.products.get(slot);
    if (!product) return Promise.reject(new ControllerError("unknown_slot", `no slot ${slot}`));
    const run = async () => {
      this.log.info("test vend", { slot });
      const onProgress = (p: VendProgress) => this.emit("progress", `test_${slot}`, p);
      try {
        const evidence =
          product.kind === "pour"
            ? await this.opts.hardware.pour(product.volumeMl ?? 0, { signal: this.vendAbort.signal, onProgress, ...this.stationOption(slot) })
            : await this.opts.hardware.vendSpiral(slot, { signal: this.vendAbort.signal, onProgress });
        this.opts.db.transaction(() => {
          this.journal.decrementStock(slot);
          this.journal.unlatchFault("slot", slot);
        })();
        this.faultedSlots.delete(slot);
        // The vend worked, so the shared part it needs works again (the drop beam for a spiral, the meter for a pour).
        for (const [code, fault] of this.machineFaults) {
          if (SHARED_PART_KIND[code] !== product.kind) continue;
          // A station's fault is proved gone by a pour of a slot on a shared station, not by one of its own.
          if (STATION_FAULTS.has(code) && !this.sharedStationSlots.has(slot)) continue;
          this.machineFaults.delete(code);
          this.opts.db.transaction(() => {
            this.journal.unlatchFault("machine", code);
            this.enqueueEvent({ type: "fault", fault, active: false, severity: "warning" });
          })();
          this.log.info("machine fault cleared by a test vend", { slot, code });
        }
        return { ok: true, failure: null, evidence };
      } catch (err) {
        const e = err as { code?: string; message?: string; evidence?: VendEvidence };
        return { ok: false, failure: { code: e.code ?? "VEND_FAILED", message: (e.message ?? String(err)).slice(0, 400) }, evidence: e.evidence ?? null };
      }
    };
    this.vendsQueued++;
    const result = this.vendChain.then(run).finally(() => this.vendLeftQueue());
    this.vendChain = result.then(() => undefined);
    return result;
  }

  toView(o: OrderRecord): Order {
    return {
      orderId: o.orderId,
      slot: o.slot,
      productName: o.productName,
      kind: o.kind,
      state: o.state,
      amountMsat: msatString(o.amountMsat),
      fiat: o.fiat,
      paymentHash: isCreditOnly(o) ? null : o.paymentHash,
      bolt11: isCreditOnly(o) ? null : o.bolt11,
      hold: o.hold,
      createdAt: o.createdAt,
      expiresAt: o.expiresAt,
      updatedAt: o.updatedAt,
      failure: o.failure,
      evidence: o.evidence,
      credit: o.credit ? { creditId: o.credit.creditId, amountMsat: msatString(o.credit.amountMsat) } : this.creditLeft(o),
      ...(o.creditUsed ? { creditAppliedMsat: msatString(o.creditUsed.appliedMsat) } : {}),
      ...(o.settlement ? { settlement: o.settlement } : {}),
    };
  }

  /**
   * For a finished order that spent a credit: what is left on that credit now (the kiosk shows it), or null when
   * nothing is left. An open order still has the credit reserved: null.
   */
  private creditLeft(o: OrderRecord): Order["credit"] {
    if (!o.creditUsed || !isFinalOrderState(o.state)) return null;
    const c = this.journal.getCredit(o.creditUsed.creditId);
    return c && c.balanceMsat > 0n && c.reservedBy === null ? { creditId: c.creditId, amountMsat: msatString(c.balanceMsat) } : null;
  }

  // --- payments -------------------------------------------------------------------------------------------------

  private async onPaymentUpdate(paymentHash: string, lookup: InvoiceLookup): Promise<void> {
    const order = this.journal.getOrderByHash(paymentHash);
    if (!order) {
      this.log.warn("payment update for an unknown invoice", { paymentHash });
      return;
    }
    const paidInFull = lookup.amountPaidMsat >= order.amountMsat;
    if (lookup.state === "canceled") {
      if (order.state === "pending") this.transition(order, "expired", { failure: { code: "invoice_canceled", message: "the invoice was cancelled by the node" } });
      this.opts.payments.untrack(paymentHash);
      return;
    }
    if (lookup.state === "open" || !paidInFull) return;

    if (order.hold && lookup.state === "settled" && order.state !== "completed" && !order.evidence) {
      // Only the machine knows the preimage: a settled hold invoice it did not settle means the secret leaked.
      this.log.error("hold invoice settled without the machine settling it", { orderId: order.orderId, paymentHash });
    }

    switch (order.state) {
      case "pending": {
        const tooLate = this.clock.now() > order.expiresAt;
        if (tooLate) {
          await this.lateOrUnwantedPayment(order, "paid after the invoice expired");
          return;
        }
        if (!order.hold) {
          if (lookup.state !== "settled") return;
          if (lookup.preimage && sha256Hex(lookup.preimage) !== order.paymentHash) {
            this.log.error("backend reported a preimage that does not match the payment hash", { orderId: order.orderId, paymentHash });
            return;
          }
        }
        this.clearExpiry(order.orderId);
        if (order.hold && this.vendsQueued === 0) {
          // Nothing to wait for: `held` and `dispensing` go to disk in ONE transaction (both transitions recorded,
          // `dispensing` still committed before the motor turns), one fsync'd commit fewer on the way to the motor.
          const announce = this.record(order, [{ to: "held", note: "payment accepted (held)" }, { to: "dispensing" }]);
          this.runInVendQueue(() => this.dispense(order, announce), order.orderId, true);
          return;
        }
        if (order.hold) this.transition(order, "held", { note: "payment accepted (held)" });
        this.enqueueVend(order.orderId);
        return;
      }
      case "expired":
        await this.lateOrUnwantedPayment(order, "paid after the order ended");
        return;
      default:
        // held / dispensing / completed / refunded / credited: a repeated notification, nothing to do.
        return;
    }
  }

  /**
   * The payment monitor refused a lookup. Only `underpaid` is acted on: a hold below the invoice amount that a broken
   * or dishonest node accepted would otherwise keep the buyer's money until the invoice expires (minutes). The order
   * ends at once as `refunded` (the kiosk's refund screen: "your payment was refunded automatically"), with the code
   * `underpaid` and the flag `cancel_pending` in the same transaction; the hold's cancel is then retried like every
   * other cancel until the node confirms it. A plain invoice the node settled for less becomes a credit of what was
   * paid. The other reasons (amount mismatch, bad preimage, unknown invoice) are logged: nothing is vended for them.
   */
  private async onPaymentRejected(paymentHash: string, rejection: PaymentRejection): Promise<void> {
    const order = this.journal.getOrderByHash(paymentHash);
    if (!order) return;
    this.log.warn("payment rejected", { orderId: order.orderId, paymentHash, reason: rejection.reason, message: rejection.message });
    if (rejection.reason !== ControllerFaultCode.UNDERPAID || !rejection.status) return;
    await this.underpaid(order, rejection.status.state, rejection.status.amountPaidMsat);
  }

  private async underpaid(order: OrderRecord, state: InvoiceLookup["state"], paidMsat: bigint): Promise<void> {
    if (paidMsat <= 0n || paidMsat >= order.amountMsat) return;
    const reason: CodedError = {
      code: ControllerFaultCode.UNDERPAID,
      message: `${paidMsat} msat paid of ${order.amountMsat} msat; the payment goes back to the payer`,
    };
    if (order.hold) {
      if (state !== "accepted") return;
      if (order.state === "pending") {
        this.clearExpiry(order.orderId);
        this.log.warn("refunding an underpayment", { orderId: order.orderId, paymentHash: order.paymentHash, paidMsat: paidMsat.toString() });
        // Final and flagged in one transaction: nothing can vend it any more, and the cancel survives a crash.
        order.cancelPending = true;
        this.transition(order, "refunded", {
          failure: reason,
          note: "underpaid: hold cancel pending",
          events: [{ type: "refund", orderId: order.orderId, slot: order.slot, amountMsat: msatString(paidMsat), paymentHash: order.paymentHash, reason }],
        });
        await this.cancelFinalHold(order.orderId);
      } else if (isFinalOrderState(order.state)) {
        await this.cancelFinalHold(order.orderId);
      }
      return;
    }
    if (state === "settled" && (order.state === "pending" || order.state === "expired")) {
      this.clearExpiry(order.orderId);
      this.credit(order, reason, paidMsat);
    }
  }

  /** A payment the machine will not vend for: a hold goes back to the payer, a plain payment becomes a credit. */
  private async lateOrUnwantedPayment(order: OrderRecord, why: string): Promise<void> {
    this.clearExpiry(order.orderId);
    if (order.hold) {
      this.log.warn(`refunding: ${why}`, { orderId: order.orderId, paymentHash: order.paymentHash });
      // Final first (nothing can vend it any more), then the cancel, retried until the node confirms it.
      if (order.state === "pending") this.transition(order, "expired", { failure: { code: "paid_too_late", message: why } });
      await this.cancelFinalHold(order.orderId);
      return;
    }
    if (order.state === "pending" || order.state === "expired") {
      this.credit(order, { code: "paid_too_late", message: why });
    }
  }

  // --- vending --------------------------------------------------------------------------------------------------

  private enqueueVend(orderId: string): void {
    this.runInVendQueue(() => this.vend(orderId), orderId);
  }

  /**
   * One delivery port: vends (and test vends) run one after the other. `now` starts `run` in this tick, which only
   * an empty queue allows (nothing else can be using the hardware).
   */
  private runInVendQueue(run: () => Promise<void>, orderId: string, now = false): void {
    this.vendsQueued++;
    const guarded = () =>
      run()
        .catch((err: unknown) => this.log.error("vend crashed", { orderId, err: String(err) }))
        .finally(() => this.vendLeftQueue());
    this.vendChain = now ? Promise.all([this.vendChain, guarded()]).then(() => undefined) : this.vendChain.then(guarded);
  }

  private async vend(orderId: string): Promise<void> {
    const order = this.journal.getOrder(orderId);
    if (!order || (order.state !== "held" && order.state !== "pending")) return;
    // Write-ahead: `dispensing` is on disk before the motor turns, so a crash can never vend twice.
    const announce = this.record(order, [{ to: "dispensing" }]);
    await this.dispense(order, announce);
  }

  /**
   * Runs the vend of an order whose `dispensing` is committed. `announce` (the log lines and `order` events of the
   * transitions just written) runs right after the hardware call started the actuator (the hal drives the pin in its
   * synchronous part), so the screens' broadcast and the logging are not between the payment and the motor.
   */
  private async dispense(order: OrderRecord, announce: () => void): Promise<void> {
    const orderId = order.orderId;
    const product = this.products.get(order.slot);
    // Progress the hardware reports before the announcement waits for it: a screen learns `dispensing` first.
    let early: VendProgress[] | null = [];
    const onProgress = (p: VendProgress) => (early ? early.push(p) : this.emit("progress", orderId, p));
    let running: Promise<VendEvidence>;
    try {
      running =
        order.kind === "pour"
          ? this.opts.hardware.pour(order.volumeMl ?? product?.volumeMl ?? 0, { signal: this.vendAbort.signal, onProgress, ...this.stationOption(order.slot) })
          : this.opts.hardware.vendSpiral(order.slot, { signal: this.vendAbort.signal, onProgress });
    } catch (err) {
      running = Promise.reject(err);
    }
    announce();
    const held = early;
    early = null;
    for (const p of held) {
      try {
        this.emit("progress", orderId, p);
      } catch (err) {
        this.log.error("progress listener threw", { orderId, err: String(err) });
      }
    }
    let evidence: VendEvidence;
    try {
      evidence = await running;
    } catch (err) {
      const e = err as { code?: string; message?: string; evidence?: VendEvidence };
      const failure: CodedError = { code: e.code ?? "VEND_FAILED", message: (e.message ?? String(err)).slice(0, 400) };
      await this.failVend(order, failure, e.evidence ?? null);
      return;
    }
    // The evidence is on disk before the money is taken: recovery settles only what has it.
    order.evidence = evidence;
    order.updatedAt = this.clock.now();
    this.opts.db.transaction(() => {
      this.journal.saveOrder(order, "dispensing", "vend evidence recorded");
      this.journal.decrementStock(order.slot);
    })();
    await this.complete(order);
  }

  private async complete(order: OrderRecord): Promise<void> {
    if (order.hold) {
      const outcome = await this.settleWithRetry(order);
      if (outcome === "retry") return; // retried later, or by recovery after a restart
      if (outcome === "lost") {
        this.settlementLost(order);
        return;
      }
    }
    const settledAt = this.clock.now();
    const used = order.creditUsed;
    // A sale paid from a credit: the credit's money was reported (as a `credit` event) when it was granted, so
    // `amountMsat` is only the new Lightning money and `paidByCreditMsat` the rest. Paid by the credit alone, the
    // sale carries the payment hash of the order whose failed vend granted the credit (the Lightning payment behind it).
    const paymentHash = isCreditOnly(order) ? this.creditFundingHash(used!.creditId) : order.paymentHash;
    this.transition(order, "completed", {
      events: [
        {
          type: "sale",
          orderId: order.orderId,
          slot: order.slot,
          productName: order.productName,
          amountMsat: msatString(order.amountMsat),
          fiat: order.fiat,
          paymentHash,
          hold: order.hold,
          evidence: order.evidence!,
          settledAt,
          ...(used ? { paidByCreditMsat: msatString(used.appliedMsat), creditId: used.creditId } : {}),
        },
      ],
    });
    this.attempts.delete(order.orderId);
    if (!isCreditOnly(order)) this.opts.payments.untrack(order.paymentHash);
  }

  /**
   * The payment hash of the Lightning payment behind a credit (the order whose failed vend granted it). A credit
   * whose order is not in this journal (imported, or the journal was reset) gets a stable stand-in derived from the
   * credit id, which matches no invoice.
   */
  private creditFundingHash(creditId: string): string {
    const funding = this.journal.getOrder(this.journal.getCredit(creditId)?.orderId ?? "")?.paymentHash;
    if (funding && /^[0-9a-f]{64}$/.test(funding)) return funding;
    return createHash("sha256").update(`zapvend-credit:${creditId}`).digest("hex");
  }

  /**
   * The product came out but the hold can no longer be settled (the node canceled it: the HTLC timed out). Recorded
   * as `completed` with `settlement: "lost"` and a critical fault for the operator, never retried again.
   */
  private settlementLost(order: OrderRecord): void {
    order.settlement = "lost";
    const fault: CodedError = {
      code: FaultCode.SETTLE_FAILED_HTLC_EXPIRED,
      message: `order ${order.orderId} (${order.slot}) was vended but its payment of ${order.amountMsat} msat could not be settled: the node canceled the hold (HTLC expired); payment hash ${order.paymentHash}`.slice(0, 400),
    };
    this.log.error("settlement lost", { orderId: order.orderId, paymentHash: order.paymentHash, amountMsat: order.amountMsat.toString() });
    this.transition(order, "completed", {
      note: "settlement lost: the hold was canceled at the node",
      events: [{ type: "fault", fault, active: true, severity: "critical" }],
    });
    this.attempts.delete(order.orderId);
    this.opts.payments.untrack(order.paymentHash);
    this.emit("fault", fault);
  }

  /** The pour option naming the slot's station, when the daemon gave one (`pourStation`). */
  private stationOption(slot: string): { station?: string } {
    const station = this.opts.pourStation?.(slot);
    return station === undefined ? {} : { station };
  }

  /** Whether a failure of this code on this slot is one of a part other slots need too (see SHARED_PART_FAULTS). */
  private isSharedPartFault(code: string, slot: string): boolean {
    return SHARED_PART_FAULTS.has(code) || (STATION_FAULTS.has(code) && this.sharedStationSlots.has(slot));
  }

  private async failVend(order: OrderRecord, failure: CodedError, evidence: VendEvidence | null): Promise<void> {
    this.log.warn("vend failed", { orderId: order.orderId, code: failure.code, message: failure.message });
    order.failure = failure;
    order.evidence = evidence;
    order.updatedAt = this.clock.now();
    const stopsMachine = this.isSharedPartFault(failure.code, order.slot);
    const stopsSlot = !stopsMachine && SLOT_STOPPING_FAULTS.has(failure.code);
    this.opts.db.transaction(() => {
      this.journal.saveOrder(order, "dispensing", `vend failed: ${failure.code}`);
      this.enqueueEvent({ type: "vend-failed", orderId: order.orderId, slot: order.slot, reason: failure, evidence });
      if (stopsSlot || stopsMachine) this.enqueueEvent({ type: "fault", fault: failure, active: true, severity: "critical" });
      if (stopsMachine) this.journal.latchFault("machine", failure.code, failure, order.updatedAt);
      if (stopsSlot) this.journal.latchFault("slot", order.slot, failure, order.updatedAt);
    })();
    // The hal reports a vend's own failure as a fault too (before the vend rejects): that one is told with the vend
    // (vend-failed, and a fault event when it stops a slot or the machine), not again once the queue is empty.
    for (const [k, f] of this.hardwareDeferred) if (f.code === failure.code) this.hardwareDeferred.delete(k);
    if (stopsMachine) {
      // A part every slot needs: no other slot can vend either, so nothing is sold until a technician clears it.
      this.log.error("shared part failed: the machine stops selling", { orderId: order.orderId, slot: order.slot, code: failure.code });
      this.machineFaults.set(failure.code, failure);
      this.emit("fault", failure);
    }
    if (stopsSlot) {
      this.faultedSlots.set(order.slot, failure);
      this.emit("fault", { ...failure, slot: order.slot });
    }
    if (order.hold) {
      // Until the node confirms the cancel the order stays `dispensing` (with its failure): retried with backoff,
      // and by recovery after a restart.
      const cancelled = await this.cancelOrRetry(order);
      if (!cancelled) return;
      this.transition(order, "refunded", {
        events: [{ type: "refund", orderId: order.orderId, slot: order.slot, amountMsat: msatString(order.amountMsat), paymentHash: order.paymentHash, reason: failure }],
      });
      this.opts.payments.untrack(order.paymentHash);
    } else {
      this.credit(order, failure);
    }
  }

  /**
   * A vend that will not happen after a plain payment (or one paid from a credit): the buyer gets a credit. An order
   * that spends a credit gives it back, topped up with what was paid over Lightning (same credit id); any other
   * gets a new credit of what it paid. A `credit` event reports only new Lightning money.
   */
  private credit(order: OrderRecord, reason: CodedError, paidMsat: bigint = order.amountMsat): void {
    const topUp = order.creditUsed !== null && !isFinalOrderState(order.state);
    const creditId = topUp ? order.creditUsed!.creditId : newId("cr");
    if (!topUp) order.credit = { creditId, amountMsat: paidMsat };
    order.failure = order.failure ?? reason;
    this.transition(order, "credited", {
      ...(topUp ? { creditTopUpMsat: paidMsat } : { extra: () => this.journal.insertCredit(creditId, order.orderId, paidMsat, this.clock.now()) }),
      events:
        paidMsat > 0n
          ? [{ type: "credit", orderId: order.orderId, slot: order.slot, creditId, amountMsat: msatString(paidMsat), paymentHash: order.paymentHash, reason }]
          : [],
    });
    if (!isCreditOnly(order)) this.opts.payments.untrack(order.paymentHash);
  }

  /**
   * Settles a vended order's hold. A failed settle is looked up: a node that reports the invoice settled means an
   * earlier settle went through (its answer was lost); one that reports it canceled means the HTLC timed out and
   * the money is lost for good (`"lost"`, never retried); anything else (node unreachable) is retried with capped
   * backoff, and by recovery after a restart.
   */
  private async settleWithRetry(order: OrderRecord): Promise<"settled" | "lost" | "retry"> {
    try {
      await this.opts.payments.settle(order.preimage!);
      return "settled";
    } catch (err) {
      const state = await this.opts.payments.lookup(order.paymentHash).then(
        (l) => l.state,
        () => undefined,
      );
      if (state === "settled") return "settled";
      if (state === "canceled") return "lost";
      const attempt = this.attempts.get(order.orderId) ?? 0;
      this.attempts.set(order.orderId, attempt + 1);
      const delayMs = retryDelayMs(attempt);
      this.log.error("settle failed; will retry", { orderId: order.orderId, paymentHash: order.paymentHash, attempt: attempt + 1, delayMs, err: String(err) });
      this.emit("fault", { code: FaultCode.SETTLE_RETRYING, message: `settling ${order.orderId} failed: ${String(err).slice(0, 200)}` });
      this.retryLater(() => this.resume(order.orderId), delayMs);
      return "retry";
    }
  }

  /**
   * Cancels a hold; true once the node confirmed it (the cancel succeeded, or a lookup shows the invoice canceled,
   * or settled, which no cancel can undo). False: retried with capped backoff through `resume` (the order is
   * still open) or the journal's `cancel_pending` flag (the order is final), both also after a restart.
   */
  private async tryCancel(order: OrderRecord): Promise<boolean> {
    try {
      await this.opts.payments.cancel(order.paymentHash);
      return true;
    } catch (err) {
      const state = await this.opts.payments.lookup(order.paymentHash).then(
        (l) => l.state,
        () => undefined,
      );
      if (state === "canceled") return true;
      if (state === "settled") {
        this.log.error("cannot cancel: the hold invoice is settled", { orderId: order.orderId, paymentHash: order.paymentHash });
        return true;
      }
      this.log.error("cancel failed; will retry", { orderId: order.orderId, paymentHash: order.paymentHash, err: String(err) });
      return false;
    }
  }

  /** `tryCancel` for an order still open: on failure `resume` runs again after the backoff. */
  private async cancelOrRetry(order: OrderRecord): Promise<boolean> {
    if (await this.tryCancel(order)) {
      this.attempts.delete(order.orderId);
      return true;
    }
    const attempt = this.attempts.get(order.orderId) ?? 0;
    this.attempts.set(order.orderId, attempt + 1);
    this.retryLater(() => this.resume(order.orderId), retryDelayMs(attempt));
    return false;
  }

  /**
   * Cancels the hold of an order that is already final (expired, refunded): the flag `cancel_pending` is on disk
   * first, and cleared only once the node confirmed; until then it is retried with capped backoff and after restarts.
   */
  private async cancelFinalHold(orderId: string): Promise<void> {
    const order = this.journal.getOrder(orderId);
    if (!order || !order.hold || !order.bolt11) return;
    if (!order.cancelPending) {
      order.cancelPending = true;
      this.opts.db.transaction(() => this.journal.saveOrder(order, order.state, "hold cancel pending"))();
    }
    if (await this.tryCancel(order)) {
      order.cancelPending = false;
      this.opts.db.transaction(() => this.journal.saveOrder(order, order.state, "hold cancel confirmed"))();
      this.attempts.delete(order.orderId);
      return;
    }
    const attempt = this.attempts.get(order.orderId) ?? 0;
    this.attempts.set(order.orderId, attempt + 1);
    this.retryLater(() => this.cancelFinalHold(orderId), retryDelayMs(attempt));
  }

  private retryLater(fn: () => Promise<void>, delayMs = 5_000): void {
    if (this.stopping) return;
    const t = this.clock.setTimeout(() => {
      this.retryTimers.delete(t);
      fn().catch((err: unknown) => this.log.error("retry failed", { err: String(err) }));
    }, delayMs);
    this.retryTimers.add(t);
  }

  // --- expiry ---------------------------------------------------------------------------------------------------

  private scheduleExpiry(order: OrderRecord): void {
    const delay = Math.max(0, order.expiresAt - this.clock.now());
    const t = this.clock.setTimeout(() => {
      this.expiryTimers.delete(order.orderId);
      const current = this.journal.getOrder(order.orderId);
      if (current?.state === "pending") {
        this.expire(current, { code: "invoice_expired", message: "the invoice expired unpaid" }).catch((err: unknown) =>
          this.log.error("expiry failed", { orderId: order.orderId, err: String(err) }),
        );
      }
    }, delay);
    this.expiryTimers.set(order.orderId, t);
  }

  private clearExpiry(orderId: string): void {
    const t = this.expiryTimers.get(orderId);
    if (t !== undefined) this.clock.clearTimeout(t);
    this.expiryTimers.delete(orderId);
  }

  private async expire(order: OrderRecord, reason: CodedError): Promise<void> {
    this.clearExpiry(order.orderId);
    // Mark it expired first: a payment that lands while cancelling is then refunded, never vended.
    this.transition(order, "expired", { failure: reason });
    if (!order.bolt11) return;
    let lookup: InvoiceLookup | undefined;
    if (order.hold) {
      // A hold must be cancelled for sure (the node might still accept an HTLC for it): retried until confirmed.
      await this.cancelFinalHold(order.orderId);
    } else {
      try {
        await this.opts.payments.cancel(order.paymentHash);
      } catch (err) {
        // Plain invoices often cannot be cancelled; a payment that still arrives becomes a credit.
        this.log.warn("could not cancel an expired invoice", { orderId: order.orderId, err: String(err) });
      }
    }
    try {
      lookup = await this.opts.payments.lookup(order.paymentHash);
    } catch {
      // keep tracking: the monitor reports a late payment if one arrives
      return;
    }
    if (lookup.state === "settled" && !order.hold && lookup.amountPaidMsat >= order.amountMsat) {
      await this.lateOrUnwantedPayment(order, "paid while the invoice was being cancelled");
      return;
    }
    if (lookup.state === "canceled" || lookup.state === "open") this.opts.payments.untrack(order.paymentHash);
  }

  // --- recovery -------------------------------------------------------------------------------------------------

  /**
   * After a crash or power loss: never vend twice, never settle without evidence, cancel or credit what cannot be
   * proven. Nothing resumes an actuation.
   */
  private async recover(): Promise<void> {
    // Before any lookup: the backend may need each invoice's BOLT 11 to find it again (BTCPay cannot search by hash).
    for (const order of [...this.journal.cancelPendingOrders(), ...this.journal.openOrders()]) {
      if (!order.bolt11 || isCreditOnly(order)) continue;
      try {
        this.opts.payments.restoreInvoice?.(order.paymentHash, order.bolt11);
      } catch (err) {
        this.log.warn("the backend refused an invoice from the journal", { orderId: order.orderId, paymentHash: order.paymentHash, err: String(err) });
      }
    }
    for (const order of this.journal.cancelPendingOrders()) {
      await this.cancelFinalHold(order.orderId).catch((err: unknown) => this.log.error("cancel retry failed", { orderId: order.orderId, err: String(err) }));
    }
    for (const order of this.journal.openOrders()) {
      try {
        await this.resume(order.orderId, true);
      } catch (err) {
        this.log.error("recovery of an order failed; retrying later", { orderId: order.orderId, err: String(err) });
        this.retryLater(() => this.resume(order.orderId, true));
      }
    }
  }

  private async resume(orderId: string, afterRestart = false): Promise<void> {
    const order = this.journal.getOrder(orderId);
    if (!order) return;
    const now = this.clock.now();
    switch (order.state) {
      case "pending": {
        if (!order.bolt11) {
          // The invoice was never shown (crash while creating it): make sure nobody can pay it.
          if (order.hold) await this.opts.payments.cancel(order.paymentHash).catch(() => undefined);
          this.transition(order, "expired", { failure: { code: "interrupted", message: "the machine restarted before showing the invoice" } });
          return;
        }
        const lookup = await this.opts.payments.lookup(order.paymentHash);
        const paid = (lookup.state === "accepted" || lookup.state === "settled") && lookup.amountPaidMsat >= order.amountMsat;
        if ((lookup.state === "accepted" || lookup.state === "settled") && lookup.amountPaidMsat > 0n && !paid) {
          await this.underpaid(order, lookup.state, lookup.amountPaidMsat);
          return;
        }
        if (paid && now <= order.expiresAt + this.recoveryGraceMs) {
          if (order.hold) this.transition(order, "held", { note: "payment found after restart" });
          this.enqueueVend(order.orderId);
        } else if (paid) {
          await this.lateOrUnwantedPayment(order, "paid while the machine was down; the buyer has left");
        } else if (now >= order.expiresAt || lookup.state === "canceled") {
          await this.expire(order, { code: "invoice_expired", message: "the invoice expired unpaid" });
        } else {
          this.opts.payments.track(order.paymentHash, order.amountMsat);
          this.scheduleExpiry(order);
        }
        return;
      }
      case "held": {
        // Paid, not yet dispensing: the motor never started. Vend if the buyer is plausibly still there.
        if (now <= order.expiresAt + this.recoveryGraceMs) this.enqueueVend(order.orderId);
        else if (isCreditOnly(order)) {
          // Nothing was paid over Lightning: the credit goes back to the buyer.
          this.credit(order, { code: "interrupted", message: "the machine restarted before vending; credit kept" });
        } else {
          const cancelled = await this.cancelOrRetry(order);
          if (!cancelled) return;
          this.transition(order, "refunded", {
            failure: { code: "interrupted", message: "the machine restarted before vending; refunded" },
            events: [{ type: "refund", orderId: order.orderId, slot: order.slot, amountMsat: msatString(order.amountMsat), paymentHash: order.paymentHash, reason: { code: "interrupted", message: "restart before vend" } }],
          });
        }
        return;
      }
      case "dispensing": {
        if (order.evidence && !order.failure) {
          // The product came out and the evidence is on disk: take the money.
          await this.complete(order);
          return;
        }
        const failure = order.failure ?? {
          code: afterRestart ? "interrupted" : "VEND_FAILED",
          message: "the machine restarted during the vend; no evidence the product came out",
        };
        if (order.hold) {
          order.failure = failure;
          const cancelled = await this.cancelOrRetry(order);
          if (!cancelled) return;
          this.transition(order, "refunded", {
            events: [{ type: "refund", orderId: order.orderId, slot: order.slot, amountMsat: msatString(order.amountMsat), paymentHash: order.paymentHash, reason: failure }],
          });
        } else {
          this.credit(order, failure);
        }
        return;
      }
      default:
        return;
    }
  }

  private get recoveryGraceMs(): number {
    return this.opts.recoveryGraceMs ?? 120_000;
  }

  // --- journal helpers ------------------------------------------------------------------------------------------

  private transition(
    order: OrderRecord,
    to: OrderState,
    opts: { failure?: CodedError; note?: string; events?: Parameters<EventSink["enqueue"]>[0][]; extra?: () => void; creditTopUpMsat?: bigint } = {},
  ): void {
    const from = order.state;
    order.state = to;
    order.updatedAt = this.clock.now();
    if (opts.failure) order.failure = opts.failure;
    this.opts.db.transaction(() => {
      // The credit an order spends is debited (completed) or given back (any other end) in the same transaction as
      // the order's final state: never spent twice, never lost.
      if (order.creditUsed && isFinalOrderState(to) && !isFinalOrderState(from)) this.closeCreditUse(order, to, opts.creditTopUpMsat ?? 0n);
      this.journal.saveOrder(order, from, opts.note);
      opts.extra?.();
      for (const e of opts.events ?? []) this.enqueueEvent(e);
    })();
    this.log.info(`order ${from} -> ${to}`, { orderId: order.orderId, paymentHash: order.paymentHash });
    this.emitOrder(order);
  }

  /**
   * Writes one or more transitions of an order (no final state, no events) in ONE journal transaction, and returns
   * what `transition` does after its commit (the log lines and the `order` events, one per transition, in order), to
   * be called when the caller is ready: the vend calls it once the actuator started.
   */
  private record(order: OrderRecord, steps: Array<{ to: "held" | "dispensing"; note?: string }>): () => void {
    const views: Array<{ from: OrderState; snapshot: OrderRecord }> = [];
    const start = { ...order };
    try {
      this.opts.db.transaction(() => {
        views.length = 0;
        for (const step of steps) {
          const from = order.state;
          order.state = step.to;
          order.updatedAt = this.clock.now();
          this.journal.saveOrder(order, from, step.note);
          views.push({ from, snapshot: { ...order } });
        }
      })();
    } catch (err) {
      Object.assign(order, start); // nothing was written: the order is as it was on disk
      throw err;
    }
    return () => {
      for (const { from, snapshot } of views) {
        this.log.info(`order ${from} -> ${snapshot.state}`, { orderId: snapshot.orderId, paymentHash: snapshot.paymentHash });
        this.emitOrder(snapshot);
      }
    };
  }

  /**
   * Writes a fleet event; call it inside the journal transaction of the change that caused it. The event is built to
   * be acceptable (`safeEvent`). If the outbox refuses it anyway, the transition it belongs to is kept: the vend or
   * cancel it records has happened, and rolling the record back would leave the order open until a restart. The
   * event is lost instead, which is logged as an error and raised as the fault `EVENT_REFUSED` (in `faults()`, a
   * `fault` listener call, and a fault event to the fleet when that one is accepted).
   */
  private enqueueEvent(body: Parameters<EventSink["enqueue"]>[0]): void {
    const safe = safeEvent(body);
    try {
      this.opts.events.enqueue(safe);
    } catch (err) {
      const orderId = "orderId" in safe ? safe.orderId : undefined;
      const fault: CodedError = {
        code: ControllerFaultCode.EVENT_REFUSED,
        message: safeText(`the ${safe.type} event${orderId ? ` of order ${orderId}` : ""} was refused and is lost: ${eventProblem(safe) ?? String(err)}`, 400),
      };
      this.log.error("FLEET EVENT REFUSED: the transition is kept, the event is lost", {
        type: safe.type,
        orderId,
        problem: eventProblem(safe),
        err: String(err),
        code: safeCode(fault.code),
      });
      this.notices.set(fault.code, fault);
      if (safe.type !== "fault") {
        try {
          this.opts.events.enqueue({ type: "fault", fault, active: true, severity: "critical" });
        } catch {
          // refused too: the log line and `faults()` carry it
        }
      }
      // After the transaction: a listener must not run inside it.
      queueMicrotask(() => {
        try {
          this.emit("fault", fault);
        } catch (e) {
          this.log.error("fault listener threw", { err: String(e) });
        }
      });
    }
  }

  /** Inside `transition`'s transaction: ends the order's reservation of its credit. Idempotent. */
  private closeCreditUse(order: OrderRecord, to: OrderState, topUpMsat: bigint): void {
    const used = order.creditUsed!;
    const c = this.journal.getCredit(used.creditId);
    if (!c || c.reservedBy !== order.orderId) return;
    c.reservedBy = null;
    if (to === "completed") {
      c.balanceMsat -= used.appliedMsat;
      if (c.balanceMsat <= 0n) {
        c.balanceMsat = 0n;
        c.spentBy = order.orderId;
      }
    } else {
      c.balanceMsat += topUpMsat;
    }
    this.journal.updateCredit(c);
  }

  private emitOrder(order: OrderRecord): void {
    if (!order.bolt11 && !isCreditOnly(order)) return; // never shown to a buyer
    try {
      this.emit("order", this.toView(order));
    } catch (err) {
      this.log.error("order listener threw", { orderId: order.orderId, err: String(err) });
    }
  }
}
