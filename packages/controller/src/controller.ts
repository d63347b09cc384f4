import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type Database from "better-sqlite3";
import {
  FaultCode,
  isFinalOrderState,
  msatString,
  type CatalogEntry,
  type CodedError,
  type EventBodyOf,
  type FiatAmount,
  type Order,
  type Product,
  type Rate,
  type OrderEvidence,
  type VendProgress,
} from "@zapvend/protocol";
import { checkCredit, creditFundingHash } from "./credits.js";
import { ControllerError } from "./errors.js";
import { ControllerFaultCode } from "./events.js";
import { FaultBook } from "./fault-book.js";
import { Journal, openJournalDb, type OrderRecord } from "./journal.js";
import {
  decideDispensingRecovery,
  decideHeldRecovery,
  decidePaymentUpdate,
  decidePendingRecovery,
  isCreditOnly,
  mdbPossiblyVended,
  preimageLeaked,
} from "./order-machine.js";
import { orderView } from "./order-view.js";
import { OrderWriter } from "./order-writer.js";
import { systemClock, type Clock, type EventSink, type InvoiceLookup, type Logger, type PaymentRejection, type PaymentsPort, type VendHardware } from "./ports.js";
import { Settlement } from "./settlement.js";
import { DirectDriveVend, type VendStep } from "./vend-step.js";
import { VendQueue } from "./vend-queue.js";

export { retryDelayMs } from "./order-machine.js";

/** A vend request of the machine's VMC (MDB): its price, and how long the invoice may be paid. */
export interface VmcRequest {
  selection: number;
  /** The VMC's price converted to the pricing currency's minor units. */
  fiat: FiatAmount;
  /** Shorter than the VMC's approval timeout: a payment after the VMC gave up is never approved. */
  invoiceExpirySec: number;
  /** A selection that is not in the catalog's selection map is sold as "Selection N" (true) or refused. */
  sellUnmapped: boolean;
}

/** The product an MDB selection the operator did not map is sold as. */
function unmappedSelection(slot: string, vmc: VmcRequest): Product {
  return { slot, name: `Selection ${vmc.selection}`, kind: "mdb", price: { unit: "fiat", ...vmc.fiat }, stock: 0, capacity: 1, enabled: true };
}

/** A price turned into msat at a rate no older than its limit; null when it cannot be (no fresh rate). */
export interface PriceQuote {
  amountMsat: bigint;
  fiat: FiatAmount | null;
  rate: Rate | null;
}

export interface ControllerOptions {
  db: Database.Database;
  /** The machine's own hardware (direct drive). Give it, or `vendStep`. */
  hardware?: VendHardware;
  /**
   * How a paid order's product comes out, when it is not the direct drive of `hardware`: the MDB cashless device's
   * `VmcSales` (the machine's VMC vends, its VEND SUCCESS is the evidence).
   */
  vendStep?: VendStep;
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

/** Journal setting: MDB vends refunded because their result was never read (possibly given away). */
const UNCONFIRMED_VENDS = "mdb_unconfirmed_vends";

/** How long a finished order stays "current" for a kiosk that reloads. */
const CURRENT_ORDER_WINDOW_MS = 15_000;

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
 *
 * This class performs; it does not decide alone. Where to go next is `order-machine.ts` (pure); writing and
 * announcing a transition is `order-writer.ts`; settling and cancelling at the node with retries is
 * `settlement.ts`; latched faults are `fault-book.ts`; credits are `credits.ts`; the one delivery port is
 * `vend-queue.ts`.
 */
export class VendController extends EventEmitter<ControllerEvents> {
  private journalRef: Journal | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly products = new Map<string, Product>();
  private readonly expiryTimers = new Map<string, unknown>();
  private readonly writer: OrderWriter;
  private readonly settlement: Settlement;
  private readonly faultBook: FaultBook;
  private readonly vendQueue: VendQueue;
  /** How a paid order's product comes out: direct drive (hal) or the VMC through the MDB cashless device. */
  private readonly vendStep: VendStep;
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
    if (opts.vendStep) this.vendStep = opts.vendStep;
    else if (opts.hardware) this.vendStep = new DirectDriveVend(opts.hardware, opts.pourStation);
    else throw new Error("VendController: give `hardware` (direct drive) or a `vendStep`");
    const journal = () => this.journal;
    this.writer = new OrderWriter({
      db: opts.db,
      journal,
      events: opts.events,
      clock: this.clock,
      log: this.log,
      emitOrder: (view) => this.emit("order", view),
      emitFault: (fault) => this.emit("fault", fault),
      notice: (fault) => this.faultBook.addNotice(fault),
    });
    this.faultBook = new FaultBook(
      {
        db: opts.db,
        journal,
        clock: this.clock,
        log: this.log,
        enqueueEvent: (body) => this.writer.enqueueEvent(body),
        emitFault: (fault) => this.emit("fault", fault),
        hardwareFaults: () => this.vendStep.status().faults,
      },
      opts.catalog,
      opts.pourStation,
    );
    this.settlement = new Settlement({
      db: opts.db,
      journal,
      payments: opts.payments,
      clock: this.clock,
      log: this.log,
      resume: (orderId) => this.resume(orderId),
      stopping: () => this.stopping,
      emitFault: (fault) => this.emit("fault", fault),
    });
    this.vendQueue = new VendQueue(this.log, (remaining) => {
      // Once the queue is empty, the hardware faults raised meanwhile that no vend told are told.
      if (remaining === 0 && this.started && !this.stopping) this.faultBook.tellDeferred();
    });
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
    // Puts back the faults that kept a slot or the machine out of sale before the restart.
    this.faultBook.restore((slot) => this.products.has(slot));
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
   * A fault the hardware raised (`active`) or ended on its own (the machine daemon forwards the hal's `fault` and
   * `fault-cleared`). One raised while nothing vends (the drop beam broken while idle, the board gone) is told to the
   * fleet as a `fault` event, and its end as well; one a vend runs into is told with the failed vend instead, so it
   * is not told twice, and another one raised during a vend (the board gone, which aborts the vend) once the vend
   * queue is empty. Selling is gated by the hardware's status either way (`sellBlocker`).
   */
  hardwareFault(fault: { code: string; message: string; slot?: string }, active: boolean): void {
    if (!this.journalRef) return;
    this.faultBook.hardwareFault(fault, active, this.vendQueue.size > 0);
  }

  /** Stops taking orders, lets a vend in progress finish (bounded by the hardware's own limits), then releases everything. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.removeUpdateListener?.();
    this.removeRejectedListener?.();
    for (const t of this.expiryTimers.values()) this.clock.clearTimeout(t);
    this.expiryTimers.clear();
    this.settlement.stop();
    this.faultBook.stop();
    await this.vendQueue.drained();
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

  /** MDB vends the VMC was approved for whose result was never read (refunded; the product may have come out). */
  unconfirmedVends(): number {
    return Number(this.journal.getSetting(UNCONFIRMED_VENDS) ?? 0);
  }

  /** One more MDB vend that may have given a product away (refunded without a result from the VMC); inside a transaction. */
  private countUnconfirmedVend(): void {
    this.journal.setSetting(UNCONFIRMED_VENDS, String(this.unconfirmedVends() + 1));
  }

  getMode(): "normal" | "maintenance" {
    return this.mode;
  }

  /**
   * Applies a slot change from the fleet's desired state (price, enabled; the name and icon of the fleet product the
   * slot shows, issue #18). `icon: undefined` given explicitly removes the icon.
   */
  updateProduct(slot: string, change: Partial<Pick<Product, "price" | "enabled" | "name" | "icon">>): void {
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
    const hw = this.vendStep.status();
    if (hw.door === "open") return new ControllerError("out_of_service", "the service door is open");
    const shared = this.faultBook.machineBlocker();
    if (shared) return new ControllerError("hardware_unavailable", `hardware fault: ${shared.message}`, { fault: shared });
    const machineFaults = hw.faults.filter((f) => f.slot === undefined);
    if (!hw.ready || machineFaults.length > 0) {
      return new ControllerError("hardware_unavailable", `hardware not ready${machineFaults[0] ? `: ${machineFaults[0].message}` : ""}`);
    }
    if (this.opts.payments.health() !== "up") return new ControllerError("payments_unavailable", "the Lightning backend cannot see payments right now");
    return null;
  }

  catalog(): CatalogEntry[] {
    const hwFaults = this.vendStep.status().faults;
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
        enabled: p.enabled && !this.faultBook.slotFault(p.slot) && !hwFaults.some((f) => f.slot === p.slot),
      };
    });
  }

  /** Stock minus the units reserved by open orders. */
  available(slot: string): number {
    return Math.max(0, this.journal.stock(slot) - this.journal.reserved(slot));
  }

  slotFault(slot: string): CodedError | undefined {
    return this.faultBook.slotFault(slot);
  }

  /**
   * The machine-wide faults the controller holds: a shared part that failed a vend (stops all selling) and notices
   * for the operator (a refused fleet event; stops nothing). Slot faults are in `catalog()` (`enabled: false`).
   */
  faults(): CodedError[] {
    return this.faultBook.list();
  }

  /**
   * Something the operator must know that stops nothing (an MDB vend request above the price ceiling): told to the
   * fleet as a `fault` event (warning), listed in `faults()`, ended by `clearFaults()`.
   */
  reportNotice(fault: CodedError): void {
    if (!this.journalRef) return;
    this.faultBook.addNotice(fault, true);
    this.opts.db.transaction(() => this.writer.enqueueEvent({ type: "fault", fault, active: true, severity: "warning" }))();
    this.emit("fault", fault);
  }

  /** Ends a notice `reportNotice` raised (the condition is over), telling the fleet. */
  endNotice(code: string): void {
    if (!this.journalRef) return;
    const fault = this.faultBook.endNotice(code);
    if (!fault) return;
    this.opts.db.transaction(() => this.writer.enqueueEvent({ type: "fault", fault, active: false, severity: "warning" }))();
  }

  /**
   * The technician cleared the machine's faults (service menu, harness): shared-part faults and notices end, and the
   * fleet is told. A part that is still broken fails the next vend again (and the hardware's own fault, which the hal
   * keeps while its sensor still reads wrong, keeps the machine out of sale meanwhile).
   */
  clearFaults(): void {
    if (!this.journalRef) return;
    this.faultBook.clear();
  }


  /**
   * Creates an order: reserves a unit, locks the price, makes the preimage, creates the hold invoice and has it
   * verified. Throws `ControllerError` with the reason the kiosk shows.
   */
  async createOrder(slot: string, opts: { creditId?: string; vmc?: VmcRequest } = {}): Promise<OrderRecord> {
    const product = this.products.get(slot) ?? (opts.vmc?.sellUnmapped ? unmappedSelection(slot, opts.vmc) : undefined);
    if (!product) throw new ControllerError("unknown_slot", `no slot ${slot}`);
    if (opts.vmc && product.kind !== "mdb") throw new ControllerError("unknown_slot", `slot ${slot} is not an MDB selection`);
    if (opts.vmc && opts.creditId !== undefined) throw new ControllerError("bad_state", "an MDB vend request cannot spend a credit");
    const blocker = this.sellBlocker();
    if (blocker) throw blocker;
    if (!product.enabled) throw new ControllerError("slot_disabled", `slot ${slot} is not for sale`);
    const fault = this.faultBook.slotFault(slot) ?? this.vendStep.status().faults.find((f) => f.slot === slot);
    if (fault) throw new ControllerError("slot_disabled", `slot ${slot} is out of order: ${fault.message}`, { fault });
    // The VMC's price is the price of an MDB vend: the catalog's price of an MDB selection is not used.
    const quote = this.opts.quote(opts.vmc ? { ...product, price: { unit: "fiat", ...opts.vmc.fiat } } : product);
    if (!quote) throw new ControllerError("no_price", "no fresh exchange rate to price this product");
    if (quote.amountMsat <= 0n) throw new ControllerError("no_price", "the product has no price");
    if (opts.creditId !== undefined) checkCredit(this.journal, opts.creditId);

    const now = this.clock.now();
    const expiryMs = opts.vmc ? opts.vmc.invoiceExpirySec * 1000 : this.expiryMs;
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
      expiresAt: now + expiryMs,
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
      // The VMC keeps its own stock (it sends no vend request for an empty selection); reserved units are for direct drive.
      if (product.kind !== "mdb" && this.available(slot) <= 0) return false;
      if (credit) {
        const c = checkCredit(this.journal, credit.creditId);
        if (c.balanceMsat !== credit.balanceMsat) throw new ControllerError("credit_in_use", "the credit changed; try again");
        this.journal.updateCredit({ ...c, reservedBy: order.orderId });
      }
      this.journal.insertOrder(order);
      return true;
    })();
    if (!reserved) throw new ControllerError("sold_out", `slot ${slot} is sold out`);
    if (creditOnly) {
      this.writer.emitOrder(order);
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
          expirySec: expiryMs / 1000,
        });
        order.bolt11 = bolt11;
      } else {
        const created = await this.opts.payments.createInvoice({ amountMsat: order.amountMsat, description, expirySec: expiryMs / 1000 });
        order.bolt11 = created.bolt11;
        order.paymentHash = created.paymentHash;
      }
    } catch (err) {
      // No invoice a buyer could pay was shown: release the reservation.
      this.writer.transition(order, "expired", { failure: { code: "invoice_failed", message: String((err as Error).message ?? err).slice(0, 400) } });
      if (preimage) void this.opts.payments.cancel(order.paymentHash).catch(() => undefined);
      const untrusted = (err as { code?: string }).code?.startsWith("invoice_") || (err as { name?: string }).name === "InvoiceError";
      throw new ControllerError(untrusted ? "invoice_untrusted" : "payments_unavailable", `could not create a trusted invoice: ${(err as Error).message}`);
    }
    order.updatedAt = this.clock.now();
    this.opts.db.transaction(() => this.journal.saveOrder(order, "pending", "invoice issued"))();
    this.opts.payments.track(order.paymentHash, order.amountMsat);
    this.scheduleExpiry(order);
    this.writer.emitOrder(order);
    this.log.info("order created", { orderId: order.orderId, paymentHash: order.paymentHash, slot, amountMsat: order.amountMsat.toString() });
    return order;
  }

  getOrder(orderId: string): OrderRecord | undefined {
    return this.journal.getOrder(orderId);
  }

  /**
   * The order the machine is vending now (`held` or `dispensing`), else the most recent order that reached a final
   * state in the last 15 s (a kiosk reloaded mid-vend shows "take your product" or the refund), else undefined.
   */
  currentOrder(): OrderRecord | undefined {
    return this.journal.currentOrder(this.clock.now() - CURRENT_ORDER_WINDOW_MS);
  }

  /**
   * The buyer backs out (or the VMC gave up on its vend request: `reason` says which): an unpaid invoice is cancelled
   * and the order ends as `expired`.
   */
  async cancelOrder(orderId: string, reason: CodedError = { code: "cancelled_by_buyer", message: "the buyer cancelled" }): Promise<OrderRecord> {
    const order = this.journal.getOrder(orderId);
    if (!order) throw new ControllerError("not_found", `no order ${orderId}`);
    if (order.state !== "pending") throw new ControllerError("bad_state", `order ${orderId} is ${order.state}, not pending`);
    await this.expire(order, reason);
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
      this.writer.enqueueEvent({ type: "restock", slot, previous, stock });
      this.faultBook.clearSlotInTx(slot);
    })();
    this.faultBook.forgetSlot(slot);
  }

  /**
   * A technician's test vend: no payment, not a sale, stock counted. Runs in the vend queue so it never overlaps a
   * paid vend. Resolves with the evidence or the failure.
   */
  testVend(slot: string): Promise<{ ok: boolean; failure: CodedError | null; evidence: OrderEvidence | null }> {
    const product = this.products.get(slot);
    if (!product) return Promise.reject(new ControllerError("unknown_slot", `no slot ${slot}`));
    const run = async () => {
      this.log.info("test vend", { slot });
      const onProgress = (p: VendProgress) => this.emit("progress", `test_${slot}`, p);
      try {
        const evidence = await this.vendStep.vend({ orderId: null, slot, kind: product.kind, volumeMl: product.volumeMl ?? null }, { signal: this.vendAbort.signal, onProgress });
        this.opts.db.transaction(() => {
          this.journal.decrementStock(slot);
          this.journal.unlatchFault("slot", slot);
        })();
        // The vend worked, so the shared part it needs works again (the drop beam for a spiral, the meter for a pour).
        if (product.kind !== "mdb") this.faultBook.testVendWorked(slot, product.kind);
        return { ok: true, failure: null, evidence };
      } catch (err) {
        const e = err as { code?: string; message?: string; evidence?: OrderEvidence };
        return { ok: false, failure: { code: e.code ?? "VEND_FAILED", message: (e.message ?? String(err)).slice(0, 400) }, evidence: e.evidence ?? null };
      }
    };
    return this.vendQueue.call(run);
  }

  toView(o: OrderRecord): Order {
    return orderView(this.journal, o);
  }


  // --- payments -------------------------------------------------------------------------------------------------

  private async onPaymentUpdate(paymentHash: string, lookup: InvoiceLookup): Promise<void> {
    const order = this.journal.getOrderByHash(paymentHash);
    if (!order) {
      this.log.warn("payment update for an unknown invoice", { paymentHash });
      return;
    }
    if (preimageLeaked(order, lookup)) {
      // Only the machine knows the preimage: a settled hold invoice it did not settle means the secret leaked.
      this.log.error("hold invoice settled without the machine settling it", { orderId: order.orderId, paymentHash });
    }
    const decision = decidePaymentUpdate(order, lookup, {
      now: this.clock.now(),
      vendQueueIdle: this.vendQueue.size === 0,
      preimageMatches: !lookup.preimage || sha256Hex(lookup.preimage) === order.paymentHash,
    });
    switch (decision.do) {
      case "ignore":
        return;
      case "cancelled":
        if (decision.expire) this.writer.transition(order, "expired", { failure: { code: "invoice_canceled", message: "the invoice was cancelled by the node" } });
        this.opts.payments.untrack(paymentHash);
        return;
      case "refuse-late":
        await this.lateOrUnwantedPayment(order, decision.why);
        return;
      case "reject-preimage":
        this.log.error("backend reported a preimage that does not match the payment hash", { orderId: order.orderId, paymentHash });
        return;
      case "vend":
        this.clearExpiry(order.orderId);
        if (decision.via === "held-and-dispensing") {
          // Nothing to wait for: `held` and `dispensing` go to disk in ONE transaction (both transitions recorded,
          // `dispensing` still committed before the motor turns), one fsync'd commit fewer on the way to the motor.
          const announce = this.writer.record(order, [{ to: "held", note: "payment accepted (held)" }, { to: "dispensing" }]);
          this.vendQueue.run(() => this.dispense(order, announce), order.orderId, true);
          return;
        }
        if (decision.via === "held-then-queue") this.writer.transition(order, "held", { note: "payment accepted (held)" });
        this.enqueueVend(order.orderId);
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
        this.writer.transition(order, "refunded", {
          failure: reason,
          note: "underpaid: hold cancel pending",
          events: [refundEvent(order, reason, { amountMsat: paidMsat })],
        });
        await this.settlement.cancelFinalHold(order.orderId);
      } else if (isFinalOrderState(order.state)) {
        await this.settlement.cancelFinalHold(order.orderId);
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
      if (order.state === "pending") this.writer.transition(order, "expired", { failure: { code: "paid_too_late", message: why } });
      await this.settlement.cancelFinalHold(order.orderId);
      return;
    }
    if (order.state === "pending" || order.state === "expired") {
      this.credit(order, { code: "paid_too_late", message: why });
    }
  }

  // --- vending --------------------------------------------------------------------------------------------------

  private enqueueVend(orderId: string): void {
    this.vendQueue.run(() => this.vend(orderId), orderId);
  }

  private async vend(orderId: string): Promise<void> {
    const order = this.journal.getOrder(orderId);
    if (!order || (order.state !== "held" && order.state !== "pending")) return;
    // Write-ahead: `dispensing` is on disk before the motor turns, so a crash can never vend twice.
    const announce = this.writer.record(order, [{ to: "dispensing" }]);
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
    let running: Promise<OrderEvidence>;
    try {
      running = this.vendStep.vend(
        { orderId, slot: order.slot, kind: order.kind, volumeMl: order.volumeMl ?? product?.volumeMl ?? null },
        { signal: this.vendAbort.signal, onProgress },
      );
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
    let evidence: OrderEvidence;
    try {
      evidence = await running;
    } catch (err) {
      const e = err as { code?: string; message?: string; evidence?: OrderEvidence };
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
      const outcome = await this.settlement.settle(order);
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
    const paymentHash = isCreditOnly(order) ? creditFundingHash(this.journal, used!.creditId) : order.paymentHash;
    this.writer.transition(order, "completed", {
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
          ...(order.evidence?.kind === "mdb" ? { selection: order.evidence.selection } : {}),
        },
      ],
    });
    this.settlement.forget(order.orderId);
    if (!isCreditOnly(order)) this.opts.payments.untrack(order.paymentHash);
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
    this.writer.transition(order, "completed", {
      note: "settlement lost: the hold was canceled at the node",
      events: [{ type: "fault", fault, active: true, severity: "critical" }],
    });
    this.settlement.forget(order.orderId);
    this.opts.payments.untrack(order.paymentHash);
    this.emit("fault", fault);
  }

  private async failVend(order: OrderRecord, failure: CodedError, evidence: OrderEvidence | null): Promise<void> {
    this.log.warn("vend failed", { orderId: order.orderId, code: failure.code, message: failure.message });
    order.failure = failure;
    order.evidence = evidence;
    order.updatedAt = this.clock.now();
    // An MDB approval that went out with no result from the VMC (port closed, VMC reset, no result in time): the
    // product may have come out. Counted once, with the failure, in its transaction.
    const possiblyVended = mdbPossiblyVended(order.kind, failure);
    this.opts.db.transaction(() => {
      this.journal.saveOrder(order, "dispensing", `vend failed: ${failure.code}`);
      this.writer.enqueueEvent({ type: "vend-failed", orderId: order.orderId, slot: order.slot, reason: failure, evidence });
      this.faultBook.latchVendFailureInTx(order.slot, failure, order.updatedAt);
      if (possiblyVended) this.countUnconfirmedVend();
    })();
    if (possiblyVended) this.log.error("an approved MDB vend ended with no result from the VMC: refunded, possibly given away", { orderId: order.orderId, slot: order.slot, code: failure.code });
    this.faultBook.applyVendFailure(order.orderId, order.slot, failure);
    if (order.hold) {
      // Until the node confirms the cancel the order stays `dispensing` (with its failure): retried with backoff,
      // and by recovery after a restart.
      const cancelled = await this.settlement.cancelOrRetry(order);
      if (!cancelled) return;
      this.writer.transition(order, "refunded", {
        events: [refundEvent(order, failure, { possiblyVended })],
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
    this.writer.transition(order, "credited", {
      ...(topUp ? { creditTopUpMsat: paidMsat } : { extra: () => this.journal.insertCredit(creditId, order.orderId, paidMsat, this.clock.now()) }),
      events:
        paidMsat > 0n
          ? [{ type: "credit", orderId: order.orderId, slot: order.slot, creditId, amountMsat: msatString(paidMsat), paymentHash: order.paymentHash, reason }]
          : [],
    });
    if (!isCreditOnly(order)) this.opts.payments.untrack(order.paymentHash);
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
    this.writer.transition(order, "expired", { failure: reason });
    if (!order.bolt11) return;
    let lookup: InvoiceLookup | undefined;
    if (order.hold) {
      // A hold must be cancelled for sure (the node might still accept an HTLC for it): retried until confirmed.
      await this.settlement.cancelFinalHold(order.orderId);
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
      await this.settlement.cancelFinalHold(order.orderId).catch((err: unknown) => this.log.error("cancel retry failed", { orderId: order.orderId, err: String(err) }));
    }
    for (const order of this.journal.openOrders()) {
      try {
        await this.resume(order.orderId, true);
      } catch (err) {
        this.log.error("recovery of an order failed; retrying later", { orderId: order.orderId, err: String(err) });
        this.settlement.retryLater(() => this.resume(order.orderId, true));
      }
    }
  }

  /** Runs the next step of an open order as `order-machine.ts` decides it (after a restart, or a retry). */
  private async resume(orderId: string, afterRestart = false): Promise<void> {
    const order = this.journal.getOrder(orderId);
    if (!order) return;
    const now = this.clock.now();
    switch (order.state) {
      case "pending": {
        if (!order.bolt11) {
          // The invoice was never shown (crash while creating it): make sure nobody can pay it.
          if (order.hold) await this.opts.payments.cancel(order.paymentHash).catch(() => undefined);
          this.writer.transition(order, "expired", { failure: { code: "interrupted", message: "the machine restarted before showing the invoice" } });
          return;
        }
        const lookup = await this.opts.payments.lookup(order.paymentHash);
        const next = decidePendingRecovery(order, lookup, now, this.recoveryGraceMs);
        switch (next.do) {
          case "underpaid":
            await this.underpaid(order, lookup.state, lookup.amountPaidMsat);
            return;
          case "vend":
            if (order.hold) this.writer.transition(order, "held", { note: "payment found after restart" });
            this.enqueueVend(order.orderId);
            return;
          case "refuse-late":
            await this.lateOrUnwantedPayment(order, next.why);
            return;
          case "expire":
            await this.expire(order, next.reason);
            return;
          case "track":
            this.opts.payments.track(order.paymentHash, order.amountMsat);
            this.scheduleExpiry(order);
            return;
        }
        return;
      }
      case "held": {
        // Paid, not yet dispensing: the motor never started.
        const next = decideHeldRecovery(order, now, this.recoveryGraceMs);
        if (next.do === "vend") this.enqueueVend(order.orderId);
        else if (next.do === "credit") this.credit(order, next.reason);
        else {
          const cancelled = await this.settlement.cancelOrRetry(order);
          if (!cancelled) return;
          this.writer.transition(order, "refunded", {
            failure: next.reason,
            events: [refundEvent(order, { code: "interrupted", message: "restart before vend" })],
          });
        }
        return;
      }
      case "dispensing": {
        const next = decideDispensingRecovery(order, afterRestart);
        if (next.do === "complete") {
          // The product came out and the evidence is on disk: take the money.
          await this.complete(order);
        } else if (next.do === "refund") {
          order.failure = next.failure;
          const cancelled = await this.settlement.cancelOrRetry(order);
          if (!cancelled) return;
          this.writer.transition(order, "refunded", {
            events: [refundEvent(order, next.failure, { possiblyVended: next.possiblyVended === true })],
            ...(next.possiblyVended && !next.counted ? { extra: () => this.countUnconfirmedVend() } : {}),
          });
          if (next.possiblyVended && !next.counted) this.log.error("an approved MDB vend had no result: refunded, possibly given away", { orderId: order.orderId, slot: order.slot });
        } else {
          this.credit(order, next.failure);
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
}

/** The `refund` event of an order: its paid amount (or `amountMsat`), and `possiblyVended` for an MDB vend with no result. */
function refundEvent(order: OrderRecord, reason: CodedError, opts: { amountMsat?: bigint; possiblyVended?: boolean } = {}): EventBodyOf<"refund"> {
  return {
    type: "refund",
    orderId: order.orderId,
    slot: order.slot,
    amountMsat: msatString(opts.amountMsat ?? order.amountMsat),
    paymentHash: order.paymentHash,
    reason,
    ...(opts.possiblyVended ? { possiblyVended: true } : {}),
  };
}
