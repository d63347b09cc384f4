// Performs an order's transitions: writes each to the journal with the fleet events it causes (one SQLite
// transaction, before the machine acts on it), then logs it and announces it to the `order` listeners. Which
// transition to make is decided elsewhere (`order-machine.ts`); this only carries it out.
import { isFinalOrderState, type CodedError, type EventBody, type Order, type OrderState } from "@zapvend/protocol";
import type Database from "better-sqlite3";
import { closeCreditUse } from "./credits.js";
import { ControllerFaultCode, eventProblem, safeCode, safeEvent, safeText } from "./events.js";
import type { Journal, OrderRecord } from "./journal.js";
import { canTransition, isCreditOnly } from "./order-machine.js";
import { orderView } from "./order-view.js";
import type { Clock, EventSink, Logger } from "./ports.js";

export interface TransitionOptions {
  failure?: CodedError;
  note?: string;
  events?: EventBody[];
  /** More journal writes that belong in the same transaction. */
  extra?: () => void;
  /** What goes back onto the credit this order spends, when it ends without a sale. */
  creditTopUpMsat?: bigint;
}

export interface OrderWriterDeps {
  db: Database.Database;
  journal: () => Journal;
  events: EventSink;
  clock: Clock;
  log: Logger;
  emitOrder: (order: Order) => void;
  emitFault: (fault: CodedError) => void;
  /** A refused fleet event becomes a notice the operator sees (`faults()`). */
  notice: (fault: CodedError) => void;
}

export class OrderWriter {
  constructor(private readonly deps: OrderWriterDeps) {}

  transition(order: OrderRecord, to: OrderState, opts: TransitionOptions = {}): void {
    const from = order.state;
    if (!canTransition(from, to)) this.deps.log.error(`order transition ${from} -> ${to} is not in the state table`, { orderId: order.orderId });
    order.state = to;
    order.updatedAt = this.deps.clock.now();
    if (opts.failure) order.failure = opts.failure;
    const journal = this.deps.journal();
    this.deps.db.transaction(() => {
      // The credit an order spends is debited (completed) or given back (any other end) in the same transaction as
      // the order's final state: never spent twice, never lost.
      if (order.creditUsed && isFinalOrderState(to) && !isFinalOrderState(from)) closeCreditUse(journal, order, to, opts.creditTopUpMsat ?? 0n);
      journal.saveOrder(order, from, opts.note);
      opts.extra?.();
      for (const e of opts.events ?? []) this.enqueueEvent(e);
    })();
    this.deps.log.info(`order ${from} -> ${to}`, { orderId: order.orderId, paymentHash: order.paymentHash });
    this.emitOrder(order);
  }

  /**
   * Writes one or more transitions of an order (no final state, no events) in ONE journal transaction, and returns
   * what `transition` does after its commit (the log lines and the `order` events, one per transition, in order), to
   * be called when the caller is ready: the vend calls it once the actuator started.
   */
  record(order: OrderRecord, steps: Array<{ to: "held" | "dispensing"; note?: string }>): () => void {
    const views: Array<{ from: OrderState; snapshot: OrderRecord }> = [];
    const start = { ...order };
    const journal = this.deps.journal();
    try {
      this.deps.db.transaction(() => {
        views.length = 0;
        for (const step of steps) {
          const from = order.state;
          order.state = step.to;
          order.updatedAt = this.deps.clock.now();
          journal.saveOrder(order, from, step.note);
          views.push({ from, snapshot: { ...order } });
        }
      })();
    } catch (err) {
      Object.assign(order, start); // nothing was written: the order is as it was on disk
      throw err;
    }
    return () => {
      for (const { from, snapshot } of views) {
        this.deps.log.info(`order ${from} -> ${snapshot.state}`, { orderId: snapshot.orderId, paymentHash: snapshot.paymentHash });
        this.emitOrder(snapshot);
      }
    };
  }

  /** Writes the order as it is now, same state, with a note (evidence recorded, a cancel pending, ...). */
  save(order: OrderRecord, note: string, extra?: () => void): void {
    const journal = this.deps.journal();
    this.deps.db.transaction(() => {
      journal.saveOrder(order, order.state, note);
      extra?.();
    })();
  }

  /**
   * Writes a fleet event; call it inside the journal transaction of the change that caused it. The event is built to
   * be acceptable (`safeEvent`). If the outbox refuses it anyway, the transition it belongs to is kept: the vend or
   * cancel it records has happened, and rolling the record back would leave the order open until a restart. The
   * event is lost instead, which is logged as an error and raised as the fault `EVENT_REFUSED` (in `faults()`, a
   * `fault` listener call, and a fault event to the fleet when that one is accepted).
   */
  enqueueEvent(body: EventBody): void {
    const safe = safeEvent(body);
    try {
      this.deps.events.enqueue(safe);
    } catch (err) {
      const orderId = "orderId" in safe ? safe.orderId : undefined;
      const fault: CodedError = {
        code: ControllerFaultCode.EVENT_REFUSED,
        message: safeText(`the ${safe.type} event${orderId ? ` of order ${orderId}` : ""} was refused and is lost: ${eventProblem(safe) ?? String(err)}`, 400),
      };
      this.deps.log.error("FLEET EVENT REFUSED: the transition is kept, the event is lost", {
        type: safe.type,
        orderId,
        problem: eventProblem(safe),
        err: String(err),
        code: safeCode(fault.code),
      });
      this.deps.notice(fault);
      if (safe.type !== "fault") {
        try {
          this.deps.events.enqueue({ type: "fault", fault, active: true, severity: "critical" });
        } catch {
          // refused too: the log line and `faults()` carry it
        }
      }
      // After the transaction: a listener must not run inside it.
      queueMicrotask(() => {
        try {
          this.deps.emitFault(fault);
        } catch (e) {
          this.deps.log.error("fault listener threw", { err: String(e) });
        }
      });
    }
  }

  emitOrder(order: OrderRecord): void {
    if (!order.bolt11 && !isCreditOnly(order)) return; // never shown to a buyer
    try {
      this.deps.emitOrder(orderView(this.deps.journal(), order));
    } catch (err) {
      this.deps.log.error("order listener threw", { orderId: order.orderId, err: String(err) });
    }
  }
}
