import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type Database from "better-sqlite3";
import {
  FaultCode,
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
import { Journal, openJournalDb, type OrderRecord } from "./journal.js";
import { systemClock, type Clock, type EventSink, type InvoiceLookup, type Logger, type PaymentsPort, type VendHardware } from "./ports.js";

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
  private readonly faultedSlots = new Map<string, CodedError>();
  private vendChain: Promise<void> = Promise.resolve();
  private vendAbort = new AbortController();
  private removeUpdateListener: (() => void) | undefined;
  private mode: "normal" | "maintenance" = "normal";
  private started = false;
  private stopping = false;

  constructor(private readonly opts: ControllerOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    for (const p of opts.catalog) this.products.set(p.slot, { ...p });
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
    for (const p of this.products.values()) this.journal.seedStock(p.slot, p.stock);
    this.removeUpdateListener = this.opts.payments.onUpdate((hash, lookup) => {
      this.onPaymentUpdate(hash, lookup).catch((err: unknown) => this.log.error("payment update failed", { paymentHash: hash, err: String(err) }));
    });
    this.started = true;
    await this.recover();
  }

  /** Stops taking orders, lets a vend in progress finish (bounded by the hardware's own limits), then releases everything. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.removeUpdateListener?.();
    for (const t of this.expiryTimers.values()) this.clock.clearTimeout(t);
    this.expiryTimers.clear();
    for (const t of this.retryTimers) this.clock.clearTimeout(t);
    this.retryTimers.clear();
    await this.vendChain;
    this.started = false;
  }

  /** Aborts a vend in progress (emergency stop): the actuator stops and the order is refunded or credited. */
  abortVends(): void {
    const current = this.vendAbort;
    this.vendAbort = new AbortController();
    current.abort(new Error("vend aborted"));
  }

  setMode(mode: "normal" | "maintenance"): void {
    this.mode = mode;
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
   * Creates an order: reserves a unit, locks the price, makes the preimage, creates the hold invoice and has it
   * verified. Throws `ControllerError` with the reason the kiosk shows.
   */
  async createOrder(slot: string): Promise<OrderRecord> {
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

    const now = this.clock.now();
    const hold = this.opts.payments.holdInvoices;
    const preimage = hold ? randomBytes(32).toString("hex") : null;
    const order: OrderRecord = {
      orderId: newId("ord"),
      slot,
      productName: product.name,
      kind: product.kind,
      volumeMl: product.volumeMl ?? null,
      state: "pending",
      amountMsat: quote.amountMsat,
      fiat: quote.fiat,
      rate: quote.rate,
      // A plain invoice's hash is the backend's; until it answers, a unique placeholder that can match no invoice.
      paymentHash: preimage ? sha256Hex(preimage) : `pending:${randomBytes(16).toString("hex")}`,
      preimage,
      bolt11: "",
      hold,
      createdAt: now,
      expiresAt: now + this.expiryMs,
      updatedAt: now,
      failure: null,
      evidence: null,
      credit: null,
    };
    // Reserve the unit and record the preimage before the invoice exists: a crash from here on is recovered.
    const reserved = this.opts.db.transaction(() => {
      if (this.available(slot) <= 0) return false;
      this.journal.insertOrder(order);
      return true;
    })();
    if (!reserved) throw new ControllerError("sold_out", `slot ${slot} is sold out`);

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
      this.opts.events.enqueue({ type: "restock", slot, previous, stock });
      const fault = this.faultedSlots.get(slot);
      if (fault) this.opts.events.enqueue({ type: "fault", fault, active: false, severity: "warning" });
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
            ? await this.opts.hardware.pour(product.volumeMl ?? 0, { signal: this.vendAbort.signal, onProgress })
            : await this.opts.hardware.vendSpiral(slot, { signal: this.vendAbort.signal, onProgress });
        this.journal.decrementStock(slot);
        this.faultedSlots.delete(slot);
        return { ok: true, failure: null, evidence };
      } catch (err) {
        const e = err as { code?: string; message?: string; evidence?: VendEvidence };
        return { ok: false, failure: { code: e.code ?? "VEND_FAILED", message: (e.message ?? String(err)).slice(0, 400) }, evidence: e.evidence ?? null };
      }
    };
    const result = this.vendChain.then(run);
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
      paymentHash: o.paymentHash,
      bolt11: o.bolt11,
      hold: o.hold,
      createdAt: o.createdAt,
      expiresAt: o.expiresAt,
      updatedAt: o.updatedAt,
      failure: o.failure,
      evidence: o.evidence,
      credit: o.credit ? { creditId: o.credit.creditId, amountMsat: msatString(o.credit.amountMsat) } : null,
    };
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

  /** A payment the machine will not vend for: a hold goes back to the payer, a plain payment becomes a credit. */
  private async lateOrUnwantedPayment(order: OrderRecord, why: string): Promise<void> {
    this.clearExpiry(order.orderId);
    if (order.hold) {
      this.log.warn(`refunding: ${why}`, { orderId: order.orderId, paymentHash: order.paymentHash });
      await this.cancelWithRetry(order.paymentHash);
      if (order.state === "pending") this.transition(order, "expired", { failure: { code: "paid_too_late", message: why } });
      return;
    }
    if (order.state === "pending" || order.state === "expired") {
      this.credit(order, { code: "paid_too_late", message: why });
    }
  }

  // --- vending --------------------------------------------------------------------------------------------------

  private enqueueVend(orderId: string): void {
    // One delivery port: vends run one after the other.
    this.vendChain = this.vendChain.then(() =>
      this.vend(orderId).catch((err: unknown) => this.log.error("vend crashed", { orderId, err: String(err) })),
    );
  }

  private async vend(orderId: string): Promise<void> {
    const order = this.journal.getOrder(orderId);
    if (!order || (order.state !== "held" && order.state !== "pending")) return;
    const product = this.products.get(order.slot);
    // Write-ahead: `dispensing` is on disk before the motor turns, so a crash can never vend twice.
    this.transition(order, "dispensing");
    const onProgress = (p: VendProgress) => this.emit("progress", orderId, p);
    let evidence: VendEvidence;
    try {
      evidence =
        order.kind === "pour"
          ? await this.opts.hardware.pour(order.volumeMl ?? product?.volumeMl ?? 0, { signal: this.vendAbort.signal, onProgress })
          : await this.opts.hardware.vendSpiral(order.slot, { signal: this.vendAbort.signal, onProgress });
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
      const settled = await this.settleWithRetry(order);
      if (!settled) return; // retried later, or by recovery after a restart
    }
    const settledAt = this.clock.now();
    this.transition(order, "completed", {
      events: [
        {
          type: "sale",
          orderId: order.orderId,
          slot: order.slot,
          productName: order.productName,
          amountMsat: msatString(order.amountMsat),
          fiat: order.fiat,
          paymentHash: order.paymentHash,
          hold: order.hold,
          evidence: order.evidence!,
          settledAt,
        },
      ],
    });
    this.opts.payments.untrack(order.paymentHash);
  }

  private async failVend(order: OrderRecord, failure: CodedError, evidence: VendEvidence | null): Promise<void> {
    this.log.warn("vend failed", { orderId: order.orderId, code: failure.code, message: failure.message });
    order.failure = failure;
    order.evidence = evidence;
    order.updatedAt = this.clock.now();
    const stopsSlot = SLOT_STOPPING_FAULTS.has(failure.code);
    this.opts.db.transaction(() => {
      this.journal.saveOrder(order, "dispensing", `vend failed: ${failure.code}`);
      this.opts.events.enqueue({ type: "vend-failed", orderId: order.orderId, slot: order.slot, reason: failure, evidence });
      if (stopsSlot) this.opts.events.enqueue({ type: "fault", fault: failure, active: true, severity: "critical" });
    })();
    if (stopsSlot) {
      this.faultedSlots.set(order.slot, failure);
      this.emit("fault", { ...failure, slot: order.slot });
    }
    if (order.hold) {
      const cancelled = await this.cancelWithRetry(order.paymentHash);
      if (!cancelled) return; // recovery cancels it after a restart
      this.transition(order, "refunded", {
        events: [{ type: "refund", orderId: order.orderId, slot: order.slot, amountMsat: msatString(order.amountMsat), paymentHash: order.paymentHash, reason: failure }],
      });
      this.opts.payments.untrack(order.paymentHash);
    } else {
      this.credit(order, failure);
    }
  }

  private credit(order: OrderRecord, reason: CodedError): void {
    const creditId = newId("cr");
    order.credit = { creditId, amountMsat: order.amountMsat };
    order.failure = order.failure ?? reason;
    this.transition(order, "credited", {
      extra: () => this.journal.insertCredit(creditId, order.orderId, order.amountMsat, this.clock.now()),
      events: [
        { type: "credit", orderId: order.orderId, slot: order.slot, creditId, amountMsat: msatString(order.amountMsat), paymentHash: order.paymentHash, reason },
      ],
    });
    this.opts.payments.untrack(order.paymentHash);
  }

  private async settleWithRetry(order: OrderRecord): Promise<boolean> {
    try {
      await this.opts.payments.settle(order.preimage!);
      return true;
    } catch (err) {
      this.log.error("settle failed; will retry", { orderId: order.orderId, paymentHash: order.paymentHash, err: String(err) });
      this.emit("fault", { code: "SETTLE_RETRYING", message: `settling ${order.orderId} failed: ${String(err).slice(0, 200)}` });
      this.retryLater(() => this.resume(order.orderId));
      return false;
    }
  }

  private async cancelWithRetry(paymentHash: string): Promise<boolean> {
    try {
      await this.opts.payments.cancel(paymentHash);
      return true;
    } catch (err) {
      this.log.error("cancel failed; will retry", { paymentHash, err: String(err) });
      const order = this.journal.getOrderByHash(paymentHash);
      if (order) this.retryLater(() => this.resume(order.orderId));
      return false;
    }
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
    try {
      await this.opts.payments.cancel(order.paymentHash);
    } catch (err) {
      this.log.warn("could not cancel an expired invoice", { orderId: order.orderId, err: String(err) });
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
        else {
          await this.cancelWithRetry(order.paymentHash);
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
          const cancelled = await this.cancelWithRetry(order.paymentHash);
          if (!cancelled) return;
          order.failure = failure;
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
    opts: { failure?: CodedError; note?: string; events?: Parameters<EventSink["enqueue"]>[0][]; extra?: () => void } = {},
  ): void {
    const from = order.state;
    order.state = to;
    order.updatedAt = this.clock.now();
    if (opts.failure) order.failure = opts.failure;
    this.opts.db.transaction(() => {
      this.journal.saveOrder(order, from, opts.note);
      opts.extra?.();
      for (const e of opts.events ?? []) this.opts.events.enqueue(e);
    })();
    this.log.info(`order ${from} -> ${to}`, { orderId: order.orderId, paymentHash: order.paymentHash });
    this.emitOrder(order);
  }

  private emitOrder(order: OrderRecord): void {
    if (!order.bolt11) return; // never shown to a buyer
    try {
      this.emit("order", this.toView(order));
    } catch (err) {
      this.log.error("order listener threw", { orderId: order.orderId, err: String(err) });
    }
  }
}
