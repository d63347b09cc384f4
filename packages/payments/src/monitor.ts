// The PaymentMonitor turns a backend's pushes and a slow poll into *verified* invoice updates. A push is a hint
// and nothing more: it only makes the monitor look the invoice up, and an update is emitted only when that
// authenticated lookup shows the state with the full amount. Pushes get lost (a stream drops while the buyer pays,
// a webhook is never delivered), so every tracked invoice is also polled, and all of them are swept after every
// reconnect of the push channel.
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import type { BackendHint, InvoiceStatus, LightningBackend } from "./backend.js";
import { InvoiceState } from "./backend.js";
import { isPaymentError, PaymentError, PaymentErrorCode } from "./errors.js";
import { silentLogger, systemClock, type Clock, type Logger, type TimerHandle } from "./runtime.js";

export const BackendHealth = { UP: "up", DEGRADED: "degraded", DOWN: "down" } as const;
export type BackendHealth = (typeof BackendHealth)[keyof typeof BackendHealth];

/** A state the monitor vouches for: an authenticated lookup showed it, with at least the expected amount paid. */
export interface VerifiedUpdate {
  paymentHash: string;
  state: "accepted" | "settled" | "canceled";
  /** What the machine asked for (the amount given to `track`). */
  expectedAmountMsat: bigint;
  /** What the lookup showed as the invoice's amount. */
  amountMsat: bigint;
  /** What the lookup showed as held or settled (0 for a canceled invoice that held nothing). */
  amountPaidMsat: bigint;
  /** The preimage where the backend revealed it; always checked against the payment hash. */
  preimage?: string;
  /** The lookup the update rests on. */
  status: InvoiceStatus;
}

export const RejectReason = {
  /** The node shows the invoice held/settled with less than the expected amount. */
  UNDERPAID: "underpaid",
  /** The node's invoice asks for another amount than the machine requested. */
  AMOUNT_MISMATCH: "amount_mismatch",
  /** The node revealed a preimage that does not hash to the payment hash. */
  BAD_PREIMAGE: "bad_preimage",
  /** The node does not know a tracked invoice (its database was replaced, or the hash is wrong). */
  NOT_FOUND: "not_found",
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** A lookup that showed something wrong: nothing is dispensed for it; worth an alert to the operator. */
export interface RejectedUpdate {
  paymentHash: string;
  reason: RejectReason;
  message: string;
  status?: InvoiceStatus;
}

export interface HealthChange {
  health: BackendHealth;
  previous: BackendHealth;
  reason?: string;
}

export interface PaymentMonitorEvents {
  /** A hold invoice holds the full amount: dispense, then settle (or cancel to refund). */
  accepted: [VerifiedUpdate];
  /** The invoice is settled with the full amount (a plain invoice is paid; a hold invoice was settled). */
  settled: [VerifiedUpdate];
  /** The invoice is canceled (expired, HTLC timed out, or canceled by the machine): any held payment went back. */
  canceled: [VerifiedUpdate];
  /** Each of the three above, in one stream, for consumers that want every verified transition. */
  update: [VerifiedUpdate];
  rejected: [RejectedUpdate];
  health: [HealthChange];
}

export interface PaymentMonitorOptions {
  backend: LightningBackend;
  clock?: Clock;
  logger?: Logger;
  /**
   * The slow poll, in ms: every tracked invoice is looked up this often whatever the push channel says, so a lost
   * notification delays a vend by at most this long. Default 10 000.
   */
  pollIntervalMs?: number;
  /** Lookups in flight at once. Default 4. */
  concurrency?: number;
  /** Consecutive failed requests after which health is "down" (one already makes it "degraded"). Default 3. */
  downAfterFailures?: number;
}

interface Tracked {
  paymentHash: string;
  expectedAmountMsat: bigint;
  /** The last state reported (emitted) for this invoice. */
  reported: InvoiceState | undefined;
  inFlight: boolean;
  /** A hint arrived while a lookup was in flight: look again when it ends (the hint may be newer than the answer). */
  again: boolean;
  /** The last rejection reported, so a poll does not repeat the same alert every round. */
  rejected: string | undefined;
}

const HASH_RE = /^[0-9a-f]{64}$/;

export class PaymentMonitor extends EventEmitter<PaymentMonitorEvents> {
  private readonly backend: LightningBackend;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly downAfterFailures: number;
  private readonly tracked = new Map<string, Tracked>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;
  private pollTimer: TimerHandle | undefined;
  private unwatch: (() => void) | undefined;
  private abort = new AbortController();
  private started = false;
  private failures = 0;
  private lastFailure: string | undefined;
  private pushHealth: BackendHealth = BackendHealth.UP;
  private pushReason: string | undefined;
  private healthNow: BackendHealth = BackendHealth.DOWN;
  private probed = false;

  constructor(opts: PaymentMonitorOptions) {
    super();
    this.backend = opts.backend;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.pollIntervalMs = opts.pollIntervalMs ?? 10_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.downAfterFailures = Math.max(1, opts.downAfterFailures ?? 3);
  }

  /** Health as the monitor sees it: "down" until the first successful request, and whenever requests keep failing. */
  health(): BackendHealth {
    return this.healthNow;
  }

  /** Payment hashes being watched. */
  trackedHashes(): string[] {
    return [...this.tracked.keys()];
  }

  /**
   * Listens to the backend's hints, probes it once (health), looks up every invoice tracked so far, and starts the
   * slow poll. Never rejects on a backend failure: that is reported as health.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.abort = new AbortController();
    this.unwatch = this.backend.watch((hint) => this.onHint(hint));
    this.schedulePoll();
    await this.sweep();
  }

  /** Stops polling, drops the backend listener and aborts lookups in flight. Tracked invoices are kept for a restart. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.pollTimer !== undefined) this.clock.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.abort.abort();
    for (const wake of this.waiting.splice(0)) wake();
  }

  /**
   * Watches an invoice until it is settled or canceled (or `untrack`ed). `expectedAmountMsat` is what the machine
   * asked for: a lookup showing less paid is never reported as paid.
   */
  track(paymentHash: string, expectedAmountMsat: bigint): void {
    if (!HASH_RE.test(paymentHash)) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "a payment hash is 32 bytes as 64 lower-case hex digits");
    if (expectedAmountMsat <= 0n) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "the expected amount must be positive");
    const existing = this.tracked.get(paymentHash);
    if (existing) {
      existing.expectedAmountMsat = expectedAmountMsat;
    } else {
      this.tracked.set(paymentHash, { paymentHash, expectedAmountMsat, reported: undefined, inFlight: false, again: false, rejected: undefined });
      this.backend.subscribe(paymentHash);
    }
    // After a restart the controller re-tracks its open orders: look now rather than at the next poll.
    if (this.started) void this.check(paymentHash);
  }

  untrack(paymentHash: string): void {
    if (!this.tracked.delete(paymentHash)) return;
    this.backend.unsubscribe(paymentHash);
  }

  /** Looks up every tracked invoice now (also done by the poll and after every reconnect). */
  async sweep(): Promise<void> {
    if (!this.started) return;
    const hashes = [...this.tracked.keys()];
    if (hashes.length === 0) {
      await this.probe();
      return;
    }
    await Promise.all(hashes.map((h) => this.check(h)));
  }

  private schedulePoll(): void {
    if (!this.started) return;
    this.pollTimer = this.clock.setTimeout(() => {
      this.pollTimer = undefined;
      this.schedulePoll();
      void this.sweep();
    }, this.pollIntervalMs);
  }

  private onHint(hint: BackendHint): void {
    switch (hint.type) {
      case "invoice":
        // Only a reason to look: the pushed state itself is never used.
        if (this.tracked.has(hint.paymentHash)) void this.check(hint.paymentHash);
        return;
      case "reconnected":
        this.log.info("push channel reconnected; sweeping every tracked invoice", { tracked: this.tracked.size });
        void this.sweep();
        return;
      case "health":
        this.pushHealth = hint.health;
        this.pushReason = hint.reason;
        this.recomputeHealth();
        return;
    }
  }

  /** A request with nothing tracked, so that health stays current while the machine is idle. */
  private async probe(): Promise<void> {
    try {
      await this.limited(() => this.backend.nodeInfo(this.abort.signal));
      this.requestOk();
    } catch (err) {
      if (!this.started) return;
      this.requestFailed(err);
    }
  }

  private async check(paymentHash: string): Promise<void> {
    const t = this.tracked.get(paymentHash);
    if (!t || !this.started) return;
    if (t.inFlight) {
      t.again = true;
      return;
    }
    t.inFlight = true;
    try {
      do {
        t.again = false;
        let status: InvoiceStatus;
        try {
          status = await this.limited(() => this.backend.lookupInvoice(paymentHash, this.abort.signal));
        } catch (err) {
          if (!this.started) return;
          if (isPaymentError(err, PaymentErrorCode.INVOICE_NOT_FOUND)) {
            this.requestOk();
            this.reject(t, RejectReason.NOT_FOUND, "the node does not know this invoice");
          } else {
            this.requestFailed(err, paymentHash);
          }
          return;
        }
        this.requestOk();
        // Untracked (or re-tracked under a new record) while the lookup was out: its answer is for nobody.
        if (this.tracked.get(paymentHash) !== t) return;
        this.apply(t, status);
      } while (t.again && this.started && this.tracked.get(paymentHash) === t);
    } finally {
      t.inFlight = false;
    }
  }

  /** The trust rule, in one place: what a lookup must show before the machine may act on it. */
  private apply(t: Tracked, status: InvoiceStatus): void {
    if (status.paymentHash !== t.paymentHash) {
      // The backend answered about another invoice: treat as a failed request, never as this invoice's state.
      this.requestFailed(new PaymentError(PaymentErrorCode.BAD_RESPONSE, "lookup answered for another payment hash"), t.paymentHash);
      return;
    }
    if (status.state === InvoiceState.OPEN) return;
    if (status.state === InvoiceState.CANCELED) {
      this.report(t, "canceled", status);
      this.finish(t);
      return;
    }
    // ACCEPTED or SETTLED: money is involved, so the amounts must be right.
    if (status.amountMsat !== t.expectedAmountMsat) {
      this.reject(t, RejectReason.AMOUNT_MISMATCH, `the node's invoice is for ${status.amountMsat} msat, the machine asked ${t.expectedAmountMsat} msat`, status);
      return;
    }
    if (status.amountPaidMsat < t.expectedAmountMsat) {
      this.reject(t, RejectReason.UNDERPAID, `${status.amountPaidMsat} msat paid of ${t.expectedAmountMsat} msat`, status);
      return;
    }
    if (status.preimage !== undefined && sha256Hex(status.preimage) !== t.paymentHash) {
      this.reject(t, RejectReason.BAD_PREIMAGE, "the revealed preimage does not hash to the payment hash", status);
      return;
    }
    if (status.state === InvoiceState.ACCEPTED) {
      if (t.reported === undefined) this.report(t, "accepted", status);
      return;
    }
    this.report(t, "settled", status);
    this.finish(t);
  }

  private report(t: Tracked, state: VerifiedUpdate["state"], status: InvoiceStatus): void {
    if (t.reported === state) return;
    t.reported = state;
    const update: VerifiedUpdate = {
      paymentHash: t.paymentHash,
      state,
      expectedAmountMsat: t.expectedAmountMsat,
      amountMsat: status.amountMsat,
      amountPaidMsat: status.amountPaidMsat,
      ...(status.preimage !== undefined ? { preimage: status.preimage } : {}),
      status,
    };
    this.log.info(`invoice ${state}`, { paymentHash: t.paymentHash, amountPaidMsat: status.amountPaidMsat.toString() });
    this.fire(state, update);
    this.fire("update", update);
  }

  /** Settled and canceled are final: stop watching. */
  private finish(t: Tracked): void {
    if (this.tracked.get(t.paymentHash) === t) this.untrack(t.paymentHash);
  }

  private reject(t: Tracked, reason: RejectReason, message: string, status?: InvoiceStatus): void {
    const key = `${reason}:${status?.state ?? ""}:${status?.amountPaidMsat ?? ""}`;
    if (t.rejected === key) return;
    t.rejected = key;
    this.log.warn("lookup does not prove payment; not dispensing", { paymentHash: t.paymentHash, reason, message });
    this.fire("rejected", { paymentHash: t.paymentHash, reason, message, ...(status ? { status } : {}) });
  }

  private requestOk(): void {
    this.probed = true;
    this.failures = 0;
    this.lastFailure = undefined;
    this.recomputeHealth();
  }

  private requestFailed(err: unknown, paymentHash?: string): void {
    if (isPaymentError(err, PaymentErrorCode.ABORTED, PaymentErrorCode.STOPPED)) return;
    this.failures++;
    // A refused credential or certificate will not fix itself on the next try: down at once, not after retries.
    if (isPaymentError(err, PaymentErrorCode.UNAUTHORIZED, PaymentErrorCode.PERMISSION_DENIED, PaymentErrorCode.TLS_PIN_MISMATCH)) {
      this.failures = Math.max(this.failures, this.downAfterFailures);
    }
    this.lastFailure = err instanceof PaymentError ? err.message : String(err);
    this.log.warn("backend request failed", { paymentHash, failures: this.failures, err: this.lastFailure });
    this.recomputeHealth();
  }

  private recomputeHealth(): void {
    let health: BackendHealth;
    let reason: string | undefined;
    if (!this.probed || this.failures >= this.downAfterFailures) {
      health = BackendHealth.DOWN;
      reason = this.lastFailure ?? "no answer from the backend yet";
    } else if (this.failures > 0) {
      health = BackendHealth.DEGRADED;
      reason = this.lastFailure;
    } else if (this.pushHealth !== BackendHealth.UP) {
      // Lookups work but pushes do not arrive: payments are still seen, only later (at the next poll).
      health = BackendHealth.DEGRADED;
      reason = this.pushReason ?? "push channel down; polling only";
    } else {
      health = BackendHealth.UP;
    }
    if (health === this.healthNow) return;
    const previous = this.healthNow;
    this.healthNow = health;
    this.log.info("backend health", { health, previous, reason });
    this.fire("health", { health, previous, ...(reason ? { reason } : {}) });
  }

  /** At most `concurrency` requests at once: a sweep of many invoices must not flood a small node. */
  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (!this.started) throw new PaymentError(PaymentErrorCode.STOPPED, "monitor stopped");
    }
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Emits to each listener on its own: one that throws is logged and does not stop the others (or the monitor). */
  private fire<K extends keyof PaymentMonitorEvents>(event: K, ...args: PaymentMonitorEvents[K]): void {
    for (const l of this.rawListeners(event)) {
      try {
        (l as (...a: PaymentMonitorEvents[K]) => void)(...args);
      } catch (err) {
        this.log.error("monitor listener threw", { event, err: String(err) });
      }
    }
  }
}

function sha256Hex(hex: string): string {
  return createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");
}
