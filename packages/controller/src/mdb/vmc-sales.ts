// The VMC-first vend cycle of a machine that has its own vending controller (VMC), with zapvend as its MDB cashless
// reader:
//   VEND REQUEST (selection, price in VMC units) → an order with a hold invoice for that price (at the quoted rate);
//   payment held → VEND APPROVED (this is the vend step);
//   VEND SUCCESS (journaled as the evidence before the settle) → settle;
//   VEND FAILURE, keypad cancel, the VMC's timeout, a VMC reset, the port gone → cancel, the buyer is refunded.
// The invoice expires before the VMC's approval timeout, and a payment that arrives after the VMC gave up is
// refunded, never approved: an approval is only ever written for the vend request that is open now.
// Orders, journal, recovery, settlement and fleet events are `VendController`'s, as for direct drive.
import { MAX_MDB_SELECTION, slotOfSelection, type CodedError, type MdbEvidence, type MdbStatusView, type OrderEvidence } from "@zapvend/protocol";
import type { VendController } from "../controller.js";
import { ControllerError } from "../errors.js";
import { systemClock, type Clock, type Logger, type VendOptions } from "../ports.js";
import type { VendItem, VendStep, VendStepStatus } from "../vend-step.js";
import type { MdbPort, MdbVendRequestLike } from "./port.js";

/** Codes of an MDB vend that did not happen (the order's `failure.code`, the kiosk's and the fleet's). */
export const MdbVendCode = {
  /** VEND FAILURE from the VMC after the approval. */
  VMC_VEND_FAILURE: "VMC_VEND_FAILURE",
  /** The buyer pressed cancel on the keypad (or the VMC cancelled) before the result. */
  VMC_CANCELLED: "VMC_CANCELLED",
  /** The VMC gave up waiting for the approval (its timeout) or ended the session. */
  VMC_TIMEOUT: "VMC_TIMEOUT",
  /** The VMC reset the reader mid-session. */
  VMC_RESET: "VMC_RESET",
  /** The VMC disabled the reader (out of order, service mode) mid-session. */
  VMC_DISABLED: "VMC_DISABLED",
  /** The serial port of the MDB interface closed (HAT unplugged, USB gone). */
  MDB_PORT_CLOSED: "MDB_PORT_CLOSED",
  /** No VEND SUCCESS or FAILURE within `vendResultTimeoutMs` of the approval. */
  VMC_RESULT_TIMEOUT: "VMC_RESULT_TIMEOUT",
  /** The approval could not be written to the port. */
  MDB_WRITE_FAILED: "MDB_WRITE_FAILED",
  /** A paid order whose vend request is no longer open: never approved. */
  VMC_GAVE_UP: "VMC_GAVE_UP",
  /** Test vends of an MDB machine run from the VMC's own service menu. */
  NOT_SUPPORTED: "NOT_SUPPORTED",
  /** A vend request above `maxPriceMinor`: denied and reported. */
  PRICE_ABOVE_CEILING: "MDB_PRICE_ABOVE_CEILING",
  /** A technician's test vend: nobody pressed the selection on the keypad in time. */
  NO_VEND_REQUEST: "MDB_NO_VEND_REQUEST",
  /** A technician's test vend while a buyer's vend request (or another test vend) is open. */
  BUSY: "MDB_BUSY",
} as const;
export type MdbVendCode = (typeof MdbVendCode)[keyof typeof MdbVendCode];

export interface VmcSalesOptions {
  device: MdbPort;
  /** The machine's pricing currency (ISO 4217 letters); the VMC's currency must be the same. */
  currency: string;
  /** MDB scale factor and decimal places: one VMC unit is `scaleFactor × 10^-decimalPlaces` of the currency. */
  scaleFactor: number;
  decimalPlaces: number;
  /** The VMC's approval timeout, seconds (shown to the kiosk; the invoice expires before it). */
  approvalTimeoutSec: number;
  /** Invoice expiry of a vend request, seconds; shorter than `approvalTimeoutSec`. */
  invoiceExpirySec: number;
  /** How long to wait for VEND SUCCESS / FAILURE after the approval, ms. */
  vendResultTimeoutMs: number;
  /** A vend request above this price (minor units) is denied and reported. */
  maxPriceMinor?: number;
  /** A selection that is not in the catalog's selection map is sold as "Selection N" (true) or denied. */
  sellUnmappedSelections: boolean;
  clock?: Clock;
  logger?: Logger;
}

/** Digits after the decimal point of a currency's minor unit (2 for EUR, 0 for JPY). */
export function currencyMinorDigits(currency: string): number {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/**
 * A VMC price in the currency's minor units: `units × scaleFactor × 10^-decimalPlaces` major units. Undefined when it
 * is not a whole number of minor units (a VMC set up with more decimals than the currency has).
 */
export function vmcUnitsToMinor(units: number, scaleFactor: number, decimalPlaces: number, minorDigits: number): number | undefined {
  const scaled = units * scaleFactor;
  const shift = minorDigits - decimalPlaces;
  if (shift >= 0) return scaled * 10 ** shift;
  const div = 10 ** -shift;
  return scaled % div === 0 ? scaled / div : undefined;
}

interface Waiter {
  startedAt: number;
  settle: (result: { evidence: MdbEvidence } | { failure: CodedError; evidence?: MdbEvidence }) => void;
}

/** The result of a technician's test vend through the VMC (no order, no payment, not a sale). */
export interface VmcTestVendResult {
  ok: boolean;
  failure: CodedError | null;
  evidence: MdbEvidence | null;
}

/** A technician's test vend, armed: the next vend request of `selection` is approved without payment. */
interface TestVend {
  selection: number;
  /** The approved request, once the technician pressed the selection. */
  approved?: { priceUnits: number; startedAt: number };
  timer: unknown;
  finish: (r: VmcTestVendResult) => void;
}

/** The one vend request the VMC has open (multi-vend is off: never more than one). */
interface OpenRequest {
  request: MdbVendRequestLike;
  /** Set once the order exists. */
  orderId?: string;
  /** Why the VMC is no longer waiting for this request, once it is not. */
  gone?: CodedError;
  /** The approval is written and the result awaited. */
  waiter?: Waiter;
}

/**
 * The MDB cashless device's side of the vend cycle: turns the VMC's vend requests into orders of `VendController`,
 * and is the controller's vend step for them (approve, then wait for the VMC's result).
 */
export class VmcSales implements VendStep {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly minorDigits: number;
  private ctl: VendController | undefined;
  private open: OpenRequest | undefined;
  private portClosed: Error | undefined;
  private test: TestVend | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly opts: VmcSalesOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? { info() {}, warn() {}, error() {} };
    this.minorDigits = currencyMinorDigits(opts.currency);
  }

  /** Starts answering the VMC's vend requests with `ctl`'s orders (after `ctl.start()`). */
  attach(ctl: VendController): void {
    this.ctl = ctl;
    const d = this.opts.device;
    this.unsubscribe.push(
      d.on("vend-request", (req) => (this.test ? this.onTestRequest(this.test, req) : this.onVendRequest(req))),
      d.on("vend-success", (r) => (this.test?.approved ? this.onTestResult(this.test, "success") : this.onResult(r, "success"))),
      d.on("vend-failure", (r) => (this.test?.approved ? this.onTestResult(this.test, "failure") : this.onResult(r, "failure"))),
      d.on("session-cancel", (c) => {
        if (this.test?.approved) this.endTest(this.test, { code: MdbVendCode.VMC_CANCELLED, message: `the test vend ended without a result (${c.reason})` });
        this.vmcGaveUp(
          c.reason === "vmc-cancel"
            ? { code: MdbVendCode.VMC_CANCELLED, message: "the vend was cancelled on the machine's keypad" }
            : c.reason === "disabled"
              ? { code: MdbVendCode.VMC_DISABLED, message: "the VMC disabled the reader" }
              : { code: MdbVendCode.VMC_TIMEOUT, message: "the VMC stopped waiting for the payment" },
        );
      }),
      d.on("vmc-reset", () => {
        if (this.test?.approved) this.endTest(this.test, { code: MdbVendCode.VMC_RESET, message: "the VMC reset the reader during the test vend" });
        this.vmcGaveUp({ code: MdbVendCode.VMC_RESET, message: "the VMC reset the reader mid-session" });
      }),
      d.on("closed", (err) => {
        this.portClosed = err ?? new Error("the MDB interface's port was closed");
        if (this.test) this.endTest(this.test, { code: MdbVendCode.MDB_PORT_CLOSED, message: `the MDB interface's port closed: ${this.portClosed.message}`.slice(0, 400) });
        this.vmcGaveUp({ code: MdbVendCode.MDB_PORT_CLOSED, message: `the MDB interface's port closed: ${this.portClosed.message}`.slice(0, 400) });
      }),
      d.on("state", () => undefined),
    );
    const onOrder = (o: { orderId: string; state: string }) => this.onOrder(o);
    ctl.on("order", onOrder);
    this.unsubscribe.push(() => ctl.off("order", onOrder));
  }

  /** Stops listening (the device and the controller stay open; their owner closes them). */
  detach(): void {
    if (this.test) this.endTest(this.test, { code: "stopping", message: "the machine is stopping" });
    for (const u of this.unsubscribe.splice(0)) u();
    this.ctl = undefined;
  }

  /** The MDB side of the machine's status. */
  status(): VendStepStatus {
    const s = this.opts.device.state;
    const faults = this.portClosed ? [{ code: MdbVendCode.MDB_PORT_CLOSED, message: `the MDB interface is gone: ${this.portClosed.message}`.slice(0, 400) }] : [];
    return { ready: !this.portClosed && (s === "enabled" || s === "idle" || s === "vend"), door: "closed", temperatureC: null, faults };
  }

  /** The MDB state for the kiosk, the service menu and the fleet. */
  mdbStatus(): MdbStatusView {
    const s = this.opts.device.state;
    const stats = this.opts.device.stats();
    return {
      state: s,
      selling: !this.portClosed && (s === "enabled" || s === "idle" || s === "vend"),
      approvalTimeoutSec: this.opts.approvalTimeoutSec,
      badLines: stats.badLines,
      lastLineAt: stats.lastLineAtMs ?? null,
      unconfirmedVends: this.ctl?.unconfirmedVends() ?? 0,
    };
  }

  /** The open vend request and its order, if any (the demo and the tests). */
  current(): { selection: number; priceUnits: number; orderId?: string } | undefined {
    return this.open ? { ...this.open.request, ...(this.open.orderId ? { orderId: this.open.orderId } : {}) } : undefined;
  }

  /** A technician's test vend is armed or under way. */
  testVendOpen(): boolean {
    return this.test !== undefined;
  }

  // --- the technician's test vend -------------------------------------------------------------------------------

  /**
   * A technician's test vend through the VMC, from the kiosk's service menu: the cashless device cannot make the VMC
   * vend by itself (the Qibixx cashless-slave API has no "vend selection N"; the VMC asks, the reader answers), so the
   * next vend request of `selection` from the keypad is approved without payment, and the VMC's VEND SUCCESS or
   * FAILURE is the result. Requests for other selections meanwhile are denied. No order, no invoice, not a sale.
   * Resolves (never rejects) once the VMC answered, nobody pressed the selection within `requestTimeoutMs`, or
   * `signal` aborted before the approval.
   */
  testVend(selection: number, opts: { requestTimeoutMs: number; signal?: AbortSignal }): Promise<VmcTestVendResult> {
    const refuse = (code: string, message: string): Promise<VmcTestVendResult> => Promise.resolve({ ok: false, failure: { code, message }, evidence: null });
    if (this.portClosed) return refuse(MdbVendCode.MDB_PORT_CLOSED, `the MDB interface is gone: ${this.portClosed.message}`.slice(0, 400));
    if (!this.ctl) return refuse("stopping", "the machine is not attached to the VMC");
    if (this.test) return refuse(MdbVendCode.BUSY, `a test vend of selection ${this.test.selection} is already waiting`);
    if (this.open && !this.open.gone) return refuse(MdbVendCode.BUSY, `a buyer's vend request (selection ${this.open.request.selection}) is open`);
    return new Promise<VmcTestVendResult>((resolve) => {
      const onAbort = () => {
        if (this.test === test && !test.approved) this.endTest(test, { code: "VEND_ABORTED", message: "the test vend was cancelled" });
      };
      const test: TestVend = {
        selection,
        timer: this.clock.setTimeout(
          () => this.endTest(test, { code: MdbVendCode.NO_VEND_REQUEST, message: `nobody pressed selection ${selection} on the keypad within ${Math.round(opts.requestTimeoutMs / 1000)} s` }),
          opts.requestTimeoutMs,
        ),
        finish: (r) => {
          opts.signal?.removeEventListener("abort", onAbort);
          resolve(r);
        },
      };
      this.test = test;
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      this.log.info("test vend armed: waiting for the selection on the keypad", { selection });
      if (opts.signal?.aborted) onAbort();
    });
  }

  private onTestRequest(test: TestVend, req: MdbVendRequestLike): void {
    if (test.approved) return;
    const deny = () => void this.opts.device.denyVend().catch((err: unknown) => this.log.error("deny failed", { selection: req.selection, err: String(err) }));
    if (req.selection !== test.selection) {
      this.log.info("test vend: another selection pressed, denied", { pressed: req.selection, want: test.selection });
      deny();
      return;
    }
    this.clock.clearTimeout(test.timer);
    test.approved = { priceUnits: req.priceUnits, startedAt: this.clock.now() };
    test.timer = this.clock.setTimeout(
      () => this.endTest(test, { code: MdbVendCode.VMC_RESULT_TIMEOUT, message: `no VEND SUCCESS or FAILURE within ${this.opts.vendResultTimeoutMs} ms of the approval` }),
      this.opts.vendResultTimeoutMs,
    );
    this.log.info("test vend: approving without payment", { selection: req.selection, priceUnits: req.priceUnits });
    this.opts.device
      .approveVend(req.priceUnits)
      .catch((err: unknown) => this.endTest(test, { code: MdbVendCode.MDB_WRITE_FAILED, message: `the approval could not be written: ${String(err)}`.slice(0, 400) }));
  }

  private onTestResult(test: TestVend, result: "success" | "failure"): void {
    const a = test.approved!;
    const evidence: MdbEvidence = { kind: "mdb", selection: test.selection, priceUnits: a.priceUnits, result, waitedMs: Math.max(0, this.clock.now() - a.startedAt) };
    if (result === "success") this.endTest(test, undefined, evidence);
    else this.endTest(test, { code: MdbVendCode.VMC_VEND_FAILURE, message: `the VMC could not vend selection ${test.selection}` }, evidence);
  }

  private endTest(test: TestVend, failure: CodedError | undefined, evidence?: MdbEvidence): void {
    if (this.test !== test) return;
    this.test = undefined;
    this.clock.clearTimeout(test.timer);
    this.log.info("test vend ended", { selection: test.selection, ok: !failure, code: failure?.code });
    test.finish({ ok: !failure, failure: failure ?? null, evidence: evidence ?? null });
  }

  // --- the vend step ------------------------------------------------------------------------------------------

  vend(item: VendItem, opts: VendOptions): Promise<OrderEvidence> {
    if (item.orderId === null) {
      return Promise.reject(Object.assign(new Error("an MDB machine's test vends run from the VMC's own service menu"), { code: MdbVendCode.NOT_SUPPORTED }));
    }
    const open = this.open;
    if (!open || open.orderId !== item.orderId || open.gone) {
      // Paid after the VMC gave up (or for a request that is not the open one): never approved.
      const why = open?.orderId === item.orderId && open.gone ? open.gone.message : "the VMC's vend request is no longer open";
      return Promise.reject(Object.assign(new Error(`not approved: ${why}`), { code: MdbVendCode.VMC_GAVE_UP }));
    }
    const { selection, priceUnits } = open.request;
    return new Promise<OrderEvidence>((resolve, reject) => {
      const onAbort = () => finish({ failure: { code: "VEND_ABORTED", message: "the vend was aborted" } });
      const finish: Waiter["settle"] = (result) => {
        if (open.waiter !== waiter) return;
        open.waiter = undefined;
        this.clock.clearTimeout(timer);
        opts.signal.removeEventListener("abort", onAbort);
        if ("failure" in result) reject(Object.assign(new Error(result.failure.message), { code: result.failure.code, evidence: result.evidence }));
        else resolve(result.evidence);
      };
      const waiter: Waiter = { startedAt: this.clock.now(), settle: finish };
      open.waiter = waiter;
      const timer = this.clock.setTimeout(
        () => finish({ failure: { code: MdbVendCode.VMC_RESULT_TIMEOUT, message: `no VEND SUCCESS or FAILURE within ${this.opts.vendResultTimeoutMs} ms of the approval` } }),
        this.opts.vendResultTimeoutMs,
      );
      opts.signal.addEventListener("abort", onAbort, { once: true });
      this.log.info("approving the VMC's vend", { orderId: item.orderId, selection, priceUnits });
      this.opts.device.approveVend(priceUnits).catch((err: unknown) => finish({ failure: { code: MdbVendCode.MDB_WRITE_FAILED, message: `the approval could not be written: ${String(err)}`.slice(0, 400) } }));
    });
  }

  // --- the VMC's side -----------------------------------------------------------------------------------------

  private onVendRequest(req: MdbVendRequestLike): void {
    // Multi-vend is off, so a new request means the VMC is done with the previous one.
    if (this.open) this.vmcGaveUp({ code: MdbVendCode.VMC_TIMEOUT, message: "the VMC sent a new vend request" });
    const open: OpenRequest = { request: { selection: req.selection, priceUnits: req.priceUnits } };
    this.open = open;
    this.startOrder(open).catch((err: unknown) => this.log.error("vend request failed", { selection: req.selection, err: String(err) }));
  }

  private async startOrder(open: OpenRequest): Promise<void> {
    const ctl = this.ctl;
    const { selection, priceUnits } = open.request;
    const deny = async (code: string, message: string) => {
      this.log.warn("vend request denied", { selection, priceUnits, code, message });
      if (this.open === open) this.open = undefined;
      if (!open.gone) await this.opts.device.denyVend().catch((err: unknown) => this.log.error("deny failed", { selection, err: String(err) }));
    };
    if (!ctl) return deny("stopping", "the controller is not attached");
    if (!Number.isInteger(selection) || selection < 0 || selection > MAX_MDB_SELECTION) return deny("unknown_slot", `selection ${selection} is out of range`);
    const amountMinor = vmcUnitsToMinor(priceUnits, this.opts.scaleFactor, this.opts.decimalPlaces, this.minorDigits);
    if (amountMinor === undefined || amountMinor <= 0) return deny("no_price", `the VMC's price ${priceUnits} is not a whole amount of ${this.opts.currency}`);
    if (this.opts.maxPriceMinor !== undefined && amountMinor > this.opts.maxPriceMinor) {
      const fault = {
        code: MdbVendCode.PRICE_ABOVE_CEILING,
        message: `the VMC asked ${amountMinor} minor units of ${this.opts.currency} for selection ${selection}, above the ceiling of ${this.opts.maxPriceMinor}; denied`,
      };
      ctl.reportNotice(fault);
      return deny(fault.code, fault.message);
    }
    // A price within the ceiling again (the operator fixed the VMC's price list): the notice ends.
    ctl.endNotice(MdbVendCode.PRICE_ABOVE_CEILING);
    let orderId: string;
    try {
      const order = await ctl.createOrder(slotOfSelection(selection), {
        vmc: { selection, fiat: { currency: this.opts.currency, amountMinor }, invoiceExpirySec: this.opts.invoiceExpirySec, sellUnmapped: this.opts.sellUnmappedSelections },
      });
      orderId = order.orderId;
    } catch (err) {
      const code = err instanceof ControllerError ? err.code : "payments_unavailable";
      return deny(code, String((err as Error).message ?? err));
    }
    open.orderId = orderId;
    this.log.info("vend request priced", { orderId, selection, priceUnits, amountMinor });
    // The VMC gave up while the invoice was being made: nobody may pay it.
    if (open.gone) await this.cancelPending(orderId, open.gone);
  }

  private onResult(r: { selection: number; priceUnits: number }, result: "success" | "failure"): void {
    const open = this.open;
    const waiter = open?.waiter;
    if (!open || !waiter) {
      // A result for no approval of ours: nothing to settle or cancel, but the technician should see it.
      this.log.warn("VMC reported a vend result with no approval open", { selection: r.selection, result });
      return;
    }
    const evidence: MdbEvidence = { kind: "mdb", selection: open.request.selection, priceUnits: open.request.priceUnits, result, waitedMs: Math.max(0, this.clock.now() - waiter.startedAt) };
    if (result === "success") waiter.settle({ evidence });
    else waiter.settle({ failure: { code: MdbVendCode.VMC_VEND_FAILURE, message: `the VMC could not vend selection ${open.request.selection}` }, evidence });
  }

  /** The VMC is no longer waiting for the open request: an unpaid order is cancelled, an approved vend fails. */
  private vmcGaveUp(reason: CodedError): void {
    const open = this.open;
    if (!open || open.gone) return;
    open.gone = reason;
    this.log.warn("the VMC gave up on its vend request", { orderId: open.orderId, selection: open.request.selection, code: reason.code });
    if (open.waiter) {
      open.waiter.settle({ failure: reason });
      return;
    }
    // Not approved yet: a pending order is cancelled now; a paid one is refused by `vend` when its turn comes.
    if (open.orderId) void this.cancelPending(open.orderId, reason);
  }

  private async cancelPending(orderId: string, reason: CodedError): Promise<void> {
    const ctl = this.ctl;
    if (!ctl || ctl.getOrder(orderId)?.state !== "pending") return;
    await ctl.cancelOrder(orderId, reason).catch((err: unknown) => this.log.error("cancel of a vend request failed", { orderId, err: String(err) }));
  }

  /** Follows the open request's order: at its end the request is closed; an unpaid invoice that expired is denied. */
  private onOrder(o: { orderId: string; state: string }): void {
    const open = this.open;
    if (!open || open.orderId !== o.orderId) return;
    if (o.state === "expired" && !open.gone) {
      // The invoice expired before the VMC's timeout: tell the VMC no, so the buyer can choose again.
      open.gone = { code: MdbVendCode.VMC_TIMEOUT, message: "the invoice expired unpaid" };
      void this.opts.device.denyVend().catch((err: unknown) => this.log.error("deny failed", { orderId: o.orderId, err: String(err) }));
    }
    if (o.state === "completed" || o.state === "refunded" || o.state === "credited" || o.state === "expired") {
      if (this.open === open) this.open = undefined;
    }
  }
}
