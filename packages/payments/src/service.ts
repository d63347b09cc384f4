// The payment side as the vend cycle uses it: one backend, the verifying monitor, and the machine's own check of
// every invoice before it reaches a buyer. Structurally it is the controller's `PaymentsPort`.
import type { Network } from "@zapvend/protocol";
import type { HoldInvoiceRequest, InvoiceRequest, InvoiceStatus, LightningBackend, NodeInfo } from "./backend.js";
import { verifyInvoice } from "./bolt11/index.js";
import { isTransient, PaymentError, PaymentErrorCode } from "./errors.js";
import { PaymentMonitor, type BackendHealth, type RejectedUpdate, type VerifiedUpdate } from "./monitor.js";
import { silentLogger, systemClock, type Clock, type Logger, type TimerHandle } from "./runtime.js";

export interface PaymentServiceOptions {
  backend: LightningBackend;
  /** The network the machine sells on; a node on another network is refused at start. */
  network: Network;
  /** The node key every invoice must be signed by. When absent, the key the backend reports at start is pinned. */
  payeeNodeKey?: string;
  /** The monitor's slow poll in ms (see `PaymentMonitorOptions.pollIntervalMs`). Default 10 000. */
  pollIntervalMs?: number;
  /** Longest delay between connection attempts while the node is unreachable, in ms. Default 60 000. */
  retryMaxDelayMs?: number;
  /** Seconds an invoice must still be valid for when it is handed out. Default 60. */
  minRemainingSec?: number;
  clock?: Clock;
  logger?: Logger;
}

/** A verified invoice, ready for the buyer. */
export interface IssuedInvoice {
  bolt11: string;
  paymentHash: string;
  /** When the invoice expires, ms since the epoch, as signed in it. */
  expiresAtMs: number;
}

export class PaymentService {
  readonly monitor: PaymentMonitor;
  private readonly backend: LightningBackend;
  private readonly clock: Clock;
  private readonly log: Logger;
  private pinnedKey: string | undefined;
  private node: NodeInfo | undefined;
  private started = false;
  private connected = false;
  private retries = 0;
  private retryTimer: TimerHandle | undefined;
  private readonly retryMaxMs: number;

  constructor(private readonly opts: PaymentServiceOptions) {
    this.backend = opts.backend;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.pinnedKey = opts.payeeNodeKey?.toLowerCase();
    this.retryMaxMs = opts.retryMaxDelayMs ?? 60_000;
    this.monitor = new PaymentMonitor({ backend: opts.backend, clock: this.clock, logger: this.log, pollIntervalMs: opts.pollIntervalMs });
  }

  get holdInvoices(): boolean {
    return this.backend.capabilities.holdInvoices;
  }

  /** The node as reported at start. */
  get nodeInfo(): NodeInfo | undefined {
    return this.node;
  }

  /**
   * Connects the backend, checks that it is the configured node on the configured network (pinning its key when
   * none was configured), then starts the monitor. Rejects with a `PaymentError` when the node cannot be trusted
   * (another key or network, a wrong certificate or credential). A node that is merely unreachable (the router
   * boots slower than the Pi, the node restarts) does not stop the machine from starting: `start()` resolves,
   * health stays "down" (no invoice is issued) and the connection is retried with backoff until it succeeds.
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.connect(signal);
    } catch (err) {
      if (!isTransient(err)) {
        this.started = false;
        throw err;
      }
      this.log.warn("backend unreachable at start; retrying", { err: String((err as Error).message ?? err) });
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (!this.started) return;
    const delayMs = Math.min(this.retryMaxMs, 1_000 * 2 ** Math.min(this.retries++, 10));
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().then(
        () => this.log.info("backend connected", { retries: this.retries }),
        (err: unknown) => {
          if (!this.started) return;
          // A trust failure now (another node answers on the address) is as fatal as at start: keep refusing, loudly.
          this.log[isTransient(err) ? "warn" : "error"]("backend still not usable; retrying", { err: String((err as Error).message ?? err) });
          this.scheduleRetry();
        },
      );
    }, delayMs);
  }

  private async connect(signal?: AbortSignal): Promise<void> {
    await this.backend.start(signal);
    const info = await this.backend.nodeInfo(signal);
    if (info.network !== this.opts.network) {
      throw new PaymentError(PaymentErrorCode.NODE_MISMATCH, `the node runs on ${info.network}, the machine is configured for ${this.opts.network}`);
    }
    if (this.pinnedKey !== undefined && info.pubkey !== this.pinnedKey) {
      throw new PaymentError(PaymentErrorCode.NODE_MISMATCH, `the node's key is ${info.pubkey}, the machine is configured for ${this.pinnedKey}`);
    }
    if (this.pinnedKey === undefined) this.log.info("pinning the node key the backend reports", { pubkey: info.pubkey });
    this.pinnedKey = info.pubkey;
    this.node = info;
    if (!this.started) return; // stopped while connecting
    this.connected = true;
    await this.monitor.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.connected = false;
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.monitor.stop();
    await this.backend.stop();
  }

  health(): BackendHealth {
    return this.connected ? this.monitor.health() : "down";
  }

  private assertConnected(): void {
    if (!this.connected) throw new PaymentError(PaymentErrorCode.BACKEND_UNREACHABLE, "the Lightning backend is not connected");
  }

  /** A hold invoice for the machine's payment hash, returned only once it passed `verifyInvoice`. */
  async createHoldInvoice(req: HoldInvoiceRequest, signal?: AbortSignal): Promise<IssuedInvoice> {
    this.assertConnected();
    if (!this.holdInvoices) throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, `the ${this.backend.kind} backend has no hold invoices`);
    const created = await this.backend.createHoldInvoice(req, signal);
    try {
      return this.verify(created.bolt11, req, req.paymentHash);
    } catch (err) {
      // Nobody will be shown it, but the node should not keep a payable invoice the machine disowns.
      void this.backend.cancelInvoice(req.paymentHash).catch(() => undefined);
      throw err;
    }
  }

  /** A plain invoice (the backend keeps the preimage), returned only once it passed `verifyInvoice`. */
  async createInvoice(req: InvoiceRequest, signal?: AbortSignal): Promise<IssuedInvoice> {
    this.assertConnected();
    const created = await this.backend.createInvoice(req, signal);
    return this.verify(created.bolt11, req, created.paymentHash);
  }

  /** An authenticated lookup. */
  lookup(paymentHash: string, signal?: AbortSignal): Promise<InvoiceStatus> {
    return this.backend.lookupInvoice(paymentHash, signal);
  }

  settle(preimage: string, signal?: AbortSignal): Promise<void> {
    return this.backend.settleInvoice(preimage, signal);
  }

  cancel(paymentHash: string, signal?: AbortSignal): Promise<void> {
    return this.backend.cancelInvoice(paymentHash, signal);
  }

  /** An invoice issued before a restart, from the journal: lets backends that cannot search by hash find it again. */
  restoreInvoice(paymentHash: string, bolt11: string): void {
    this.backend.restoreInvoice?.(paymentHash, bolt11);
  }

  track(paymentHash: string, amountMsat: bigint): void {
    this.monitor.track(paymentHash, amountMsat);
  }

  untrack(paymentHash: string): void {
    this.monitor.untrack(paymentHash);
  }

  /** Verified updates only (each rests on an authenticated lookup). Returns the function that removes the listener. */
  onUpdate(listener: (paymentHash: string, update: VerifiedUpdate) => void): () => void {
    const fn = (u: VerifiedUpdate) => listener(u.paymentHash, u);
    this.monitor.on("update", fn);
    return () => this.monitor.off("update", fn);
  }

  /**
   * Lookups the monitor refused to report as paid (`underpaid`, `amount_mismatch`, `bad_preimage`, `not_found`), so the
   * vend cycle can act on them (an underpaid hold is cancelled at once). Returns the function that removes the listener.
   */
  onRejected(listener: (paymentHash: string, rejection: RejectedUpdate) => void): () => void {
    const fn = (r: RejectedUpdate) => listener(r.paymentHash, r);
    this.monitor.on("rejected", fn);
    return () => this.monitor.off("rejected", fn);
  }

  private verify(bolt11: string, req: InvoiceRequest, paymentHash: string): IssuedInvoice {
    if (!this.pinnedKey) throw new PaymentError(PaymentErrorCode.STOPPED, "start() the payment service first");
    const inv = verifyInvoice(bolt11, {
      payeeNodeKey: this.pinnedKey,
      network: this.opts.network,
      amountMsat: req.amountMsat,
      paymentHash,
      description: req.description,
      nowMs: this.clock.now(),
      ...(this.opts.minRemainingSec !== undefined ? { minRemainingSec: this.opts.minRemainingSec } : {}),
    });
    return { bolt11, paymentHash: inv.paymentHash, expiresAtMs: inv.expiresAtSec * 1000 };
  }
}
