// Sends one message to its channels: each channel on its own (a dead webhook does not delay the e-mail), skipped
// when the delivery log says this message already reached it, retried with exponential backoff (bounded, and only
// for failures worth retrying), and every attempt written to the delivery log, failed ones included.
import type { Clock, Logger } from "../clock.js";
import { NotifyError, NotifyErrorCode, type NotifyChannel } from "./channel.js";
import type { DeliveryLog } from "./delivery-log.js";
import type { NotifyMessage } from "./message.js";

export interface RetryPolicy {
  /** Attempts per channel, the first included. */
  maxAttempts: number;
  /** Wait before the 2nd attempt; doubled each time after. */
  baseMs: number;
  /** No wait is longer. Default 10 min. */
  maxDelayMs?: number;
}

export interface ChannelOutcome {
  channel: string;
  ok: boolean;
  attempts: number;
  /** Already delivered before (dedupe): nothing sent. */
  skipped: boolean;
  error?: string;
}

/** The wait before attempt `attempt + 1` (attempt 1 is the first): base, 2 x base, 4 x base ... capped. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.baseMs * 2 ** (attempt - 1), policy.maxDelayMs ?? 600_000);
}

export class Dispatcher {
  private readonly abort = new AbortController();

  constructor(
    private readonly log: DeliveryLog,
    private readonly clock: Clock,
    /** Replaced when the notification settings change (attempts and backoff of the next messages). */
    public policy: RetryPolicy,
    private readonly logger: Logger,
  ) {}

  /** Ends the waits between retries (at `stop()`): the attempts not made are not made, and the log says so. */
  cancel(): void {
    this.abort.abort();
  }

  async deliver(message: NotifyMessage, channels: readonly NotifyChannel[]): Promise<ChannelOutcome[]> {
    return Promise.all(channels.map((c) => this.deliverTo(message, c)));
  }

  private async deliverTo(m: NotifyMessage, c: NotifyChannel): Promise<ChannelOutcome> {
    if (await this.log.delivered(m.dedupeKey, c.name)) return { channel: c.name, ok: true, attempts: 0, skipped: true };
    const alertIds = m.alerts.map((i) => i.alert.id);
    let lastError = "";
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      const started = this.clock.now();
      try {
        const { status } = await c.send(m);
        await this.record(m, c, alertIds, attempt, started, true, status, null);
        this.logger("fleet:notify", `delivered ${m.event} to ${c.name}`, { message: m.id, alerts: alertIds, channel: c.name, attempt, status });
        return { channel: c.name, ok: true, attempts: attempt, skipped: false };
      } catch (err) {
        const e = err instanceof NotifyError ? err : new NotifyError(NotifyErrorCode.DELIVERY_FAILED, (err as Error).message, true);
        lastError = e.message;
        await this.record(m, c, alertIds, attempt, started, false, e.status, e.message);
        const last = !e.retryable || attempt === this.policy.maxAttempts || this.abort.signal.aborted;
        this.logger("fleet:notify", `${m.event} to ${c.name} failed${last ? "; giving up" : ", will retry"}`, { level: last ? "error" : "warn", message: m.id, channel: c.name, attempt, code: e.code, error: e.message });
        if (last) return { channel: c.name, ok: false, attempts: attempt, skipped: false, error: e.message };
        if (!(await this.sleep(backoffMs(this.policy, attempt)))) return { channel: c.name, ok: false, attempts: attempt, skipped: false, error: `${lastError}; stopped before retrying` };
      }
    }
    return { channel: c.name, ok: false, attempts: this.policy.maxAttempts, skipped: false, error: lastError };
  }

  private async record(m: NotifyMessage, c: NotifyChannel, alertIds: string[], attempt: number, started: number, ok: boolean, status: string | null, error: string | null): Promise<void> {
    try {
      await this.log.record({ messageId: m.id, dedupeKey: m.dedupeKey, event: m.event, alertIds, channel: c.name, channelType: c.type, attempt, at: started, ok, status, error, durationMs: Math.max(0, this.clock.now() - started) });
    } catch (err) {
      // The message went (or not) whatever the log says; a log failure must not turn into a resend loop.
      this.logger("fleet:notify", `delivery log write failed: ${(err as Error).message}`, { level: "error", message: m.id, channel: c.name, attempt });
    }
  }

  /** Resolves true after `ms`, false at once when cancelled. On the injected clock, so tests use fake timers. */
  private sleep(ms: number): Promise<boolean> {
    const signal = this.abort.signal;
    if (signal.aborted) return Promise.resolve(false);
    const setT = this.clock.setTimeout ?? ((fn: () => void, t: number) => setTimeout(fn, t));
    const clearT = this.clock.clearTimeout ?? ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>));
    return new Promise((resolve) => {
      const onAbort = () => {
        clearT(handle);
        resolve(false);
      };
      const handle = setT(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
