// Settling and cancelling hold invoices at the node, with the capped backoff of retries. A settle or a cancel that
// failed is looked up before it is retried: the node may have done it and only its answer was lost. The order's
// own state does not change here; the controller records what these calls report.
import { FaultCode, type CodedError } from "@zapvend/protocol";
import type Database from "better-sqlite3";
import type { Journal, OrderRecord } from "./journal.js";
import { retryDelayMs } from "./order-machine.js";
import type { Clock, Logger, PaymentsPort } from "./ports.js";

export interface SettlementDeps {
  db: Database.Database;
  journal: () => Journal;
  payments: PaymentsPort;
  clock: Clock;
  log: Logger;
  /** Runs an open order's next step again (the controller's `resume`). */
  resume: (orderId: string) => Promise<void>;
  stopping: () => boolean;
  emitFault: (fault: CodedError) => void;
}

export class Settlement {
  private readonly retryTimers = new Set<unknown>();
  /** Failed settle / cancel attempts per order (for the capped backoff); starts again at 0 after a restart. */
  private readonly attempts = new Map<string, number>();

  constructor(private readonly deps: SettlementDeps) {}

  /** Clears every pending retry (`stop()`). */
  stop(): void {
    for (const t of this.retryTimers) this.deps.clock.clearTimeout(t);
    this.retryTimers.clear();
  }

  /** The order is done with: its retry count goes. */
  forget(orderId: string): void {
    this.attempts.delete(orderId);
  }

  private nextAttempt(orderId: string): number {
    const attempt = this.attempts.get(orderId) ?? 0;
    this.attempts.set(orderId, attempt + 1);
    return attempt;
  }

  /**
   * Settles a vended order's hold. A failed settle is looked up: a node that reports the invoice settled means an
   * earlier settle went through (its answer was lost); one that reports it canceled means the HTLC timed out and
   * the money is lost for good (`"lost"`, never retried); anything else (node unreachable) is retried with capped
   * backoff, and by recovery after a restart.
   */
  async settle(order: OrderRecord): Promise<"settled" | "lost" | "retry"> {
    const { payments, log } = this.deps;
    try {
      await payments.settle(order.preimage!);
      return "settled";
    } catch (err) {
      const state = await payments.lookup(order.paymentHash).then(
        (l) => l.state,
        () => undefined,
      );
      if (state === "settled") return "settled";
      if (state === "canceled") return "lost";
      const attempt = this.nextAttempt(order.orderId);
      const delayMs = retryDelayMs(attempt);
      log.error("settle failed; will retry", { orderId: order.orderId, paymentHash: order.paymentHash, attempt: attempt + 1, delayMs, err: String(err) });
      this.deps.emitFault({ code: FaultCode.SETTLE_RETRYING, message: `settling ${order.orderId} failed: ${String(err).slice(0, 200)}` });
      this.retryLater(() => this.deps.resume(order.orderId), delayMs);
      return "retry";
    }
  }

  /**
   * Cancels a hold; true once the node confirmed it (the cancel succeeded, or a lookup shows the invoice canceled,
   * or settled, which no cancel can undo). False: retried with capped backoff through `resume` (the order is
   * still open) or the journal's `cancel_pending` flag (the order is final), both also after a restart.
   */
  async tryCancel(order: OrderRecord): Promise<boolean> {
    const { payments, log } = this.deps;
    try {
      await payments.cancel(order.paymentHash);
      return true;
    } catch (err) {
      const state = await payments.lookup(order.paymentHash).then(
        (l) => l.state,
        () => undefined,
      );
      if (state === "canceled") return true;
      if (state === "settled") {
        log.error("cannot cancel: the hold invoice is settled", { orderId: order.orderId, paymentHash: order.paymentHash });
        return true;
      }
      log.error("cancel failed; will retry", { orderId: order.orderId, paymentHash: order.paymentHash, err: String(err) });
      return false;
    }
  }

  /** `tryCancel` for an order still open: on failure `resume` runs again after the backoff. */
  async cancelOrRetry(order: OrderRecord): Promise<boolean> {
    if (await this.tryCancel(order)) {
      this.attempts.delete(order.orderId);
      return true;
    }
    const attempt = this.nextAttempt(order.orderId);
    this.retryLater(() => this.deps.resume(order.orderId), retryDelayMs(attempt));
    return false;
  }

  /**
   * Cancels the hold of an order that is already final (expired, refunded): the flag `cancel_pending` is on disk
   * first, and cleared only once the node confirmed; until then it is retried with capped backoff and after restarts.
   */
  async cancelFinalHold(orderId: string): Promise<void> {
    const { db } = this.deps;
    const journal = this.deps.journal();
    const order = journal.getOrder(orderId);
    if (!order || !order.hold || !order.bolt11) return;
    if (!order.cancelPending) {
      order.cancelPending = true;
      db.transaction(() => journal.saveOrder(order, order.state, "hold cancel pending"))();
    }
    if (await this.tryCancel(order)) {
      order.cancelPending = false;
      db.transaction(() => journal.saveOrder(order, order.state, "hold cancel confirmed"))();
      this.attempts.delete(order.orderId);
      return;
    }
    const attempt = this.nextAttempt(order.orderId);
    this.retryLater(() => this.cancelFinalHold(orderId), retryDelayMs(attempt));
  }

  retryLater(fn: () => Promise<void>, delayMs = 5_000): void {
    if (this.deps.stopping()) return;
    const t = this.deps.clock.setTimeout(() => {
      this.retryTimers.delete(t);
      fn().catch((err: unknown) => this.deps.log.error("retry failed", { err: String(err) }));
    }, delayMs);
    this.retryTimers.add(t);
  }
}
