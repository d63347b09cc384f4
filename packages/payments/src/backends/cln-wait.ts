// One long-poll loop on Core Lightning's `wait <subsystem> updated` (CLN >= 23.08; doc/schemas/wait.json): read the
// current index (nextvalue 0 answers at once), then wait for the next one, again and again, each answer handed to
// the adapter. Failures back off with jitter; the loop that owns health reports them and its recovery, and every
// recovery asks the monitor to sweep (a payment made while the loop was down would otherwise wait for the poll).
import type { BackendHint } from "../backend.js";
import { isTransient, PaymentError, PaymentErrorCode } from "../errors.js";
import type { Clock, Logger, TimerHandle } from "../runtime.js";
import { ClnErrorCode, ClnWaitIndex } from "./cln-wire.js";
import { parseWire } from "./common.js";

export type WaitSubsystem = "invoices" | "htlcs";

export interface ClnWaitLoopOptions {
  subsystem: WaitSubsystem;
  /** Whether failures and recoveries of this loop are the push channel's health (the invoices loop). */
  ownsHealth: boolean;
  /** Turns one answer into hints; returns the answer's `updated` index (undefined: the answer is not CLN's). */
  handle(res: unknown, signal: AbortSignal): Promise<number | undefined>;
  /** One `wait` call through clnrest, bounded by `timeoutMs` when given. */
  wait(params: Record<string, unknown>, signal: AbortSignal, timeoutMs?: number): Promise<unknown>;
  emit(hint: BackendHint): void;
  /** The rune does not permit `wait`: the loop ends. */
  onNoPermission(): void;
  clock: Clock;
  random: () => number;
  logger: Logger;
  /** How long one long-poll may stay open, in seconds. */
  waitTimeoutSec: number;
  /** First reconnect delay in ms; doubles per failure, with jitter, up to `reconnectMaxDelayMs`. */
  reconnectMinDelayMs: number;
  reconnectMaxDelayMs: number;
}

export class ClnWaitLoop {
  private nextValue: number | undefined;
  private attempt = 0;
  private failing = false;
  private stopped = false;
  private timer: TimerHandle | undefined;
  private abort: AbortController | undefined;

  constructor(private readonly o: ClnWaitLoopOptions) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => void this.step(), delayMs);
  }

  private async step(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const { subsystem } = this.o;
    const ac = new AbortController();
    this.abort = ac;
    try {
      if (this.nextValue === undefined) {
        const cur = parseWire(ClnWaitIndex, await this.o.wait({ subsystem, indexname: "updated", nextvalue: 0 }, ac.signal), "wait", "Core Lightning");
        this.nextValue = (cur.updated ?? 0) + 1;
      } else {
        let res: unknown;
        try {
          // `wait` has no timeout of its own: the request timeout bounds the long-poll.
          res = await this.o.wait({ subsystem, indexname: "updated", nextvalue: this.nextValue }, ac.signal, this.o.waitTimeoutSec * 1000);
        } catch (err) {
          if (err instanceof PaymentError && err.code === PaymentErrorCode.BACKEND_TIMEOUT) res = undefined;
          else throw err;
        }
        if (res !== undefined) {
          const updated = await this.o.handle(res, ac.signal);
          if (updated === undefined) {
            throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `wait ${subsystem}: the answer carries no \`updated\` index`, { nextValue: this.nextValue });
          }
          this.nextValue = Math.max(this.nextValue, updated + 1);
        }
      }
      if (this.failing) {
        this.failing = false;
        this.o.logger.info(`${subsystem} wait loop recovered`, {});
        if (this.o.ownsHealth) this.o.emit({ type: "health", health: "up" });
        this.o.emit({ type: "reconnected" });
      }
      this.attempt = 0;
      this.schedule(0);
    } catch (err) {
      if (this.stopped) return;
      const reason = String((err as Error).message ?? err);
      if (err instanceof PaymentError && err.code === PaymentErrorCode.PERMISSION_DENIED) {
        // A rune without `wait`: polling alone still finds every payment, only later.
        this.o.logger.warn("the rune does not permit wait: no push, polling only", { subsystem });
        this.o.onNoPermission();
        return;
      }
      if (!this.o.ownsHealth && this.nextValue === undefined && err instanceof PaymentError && err.context?.["rpcCode"] === ClnErrorCode.INVALID_PARAMS) {
        // CLN before v25.05 refuses the subsystem: this loop only sped things up.
        this.o.logger.info(`this Core Lightning has no ${subsystem} index (before v25.05): held payments are found by the poll`, {});
        return;
      }
      if (!this.failing) {
        this.failing = true;
        if (this.o.ownsHealth) this.o.emit({ type: "health", health: isTransient(err) ? "degraded" : "down", reason });
      }
      const capped = Math.min(this.o.reconnectMaxDelayMs, this.o.reconnectMinDelayMs * 2 ** Math.min(this.attempt++, 30));
      const delayMs = Math.round(capped * (0.5 + this.o.random() * 0.5));
      this.o.logger.warn(`${subsystem} wait loop failed; retrying`, { delayMs, reason });
      this.schedule(delayMs);
    }
  }
}
