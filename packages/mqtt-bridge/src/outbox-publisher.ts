// Drains the outbox to the broker: in order, QoS 1, a bounded window in flight. With a fleet that acknowledges events
// end to end (fleet/state `acks: true`), a PUBACKed row is only marked sent and is deleted when the fleet's
// `event-ack` covers it; sent rows without that ack are published again (oldest first, same window) when the fleet
// comes online and after an ack timeout with capped backoff. With an older fleet a row is deleted after its PUBACK.
// Memory stays bounded however large the outbox grew during an outage: at most `batchSize` rows read ahead and
// `maxInFlight` messages in mqtt.js's store.
import type { MqttClient } from "mqtt";
import type { Clock, Logger } from "./clock.js";
import { outboxPayload, outboxTopic, type Outbox, type OutboxRow } from "./outbox.js";

export interface OutboxPublisherOptions {
  /** QoS 1 messages awaiting PUBACK at most. Default 256. */
  maxInFlight?: number;
  /** Rows read from SQLite at a time. Default 512. */
  batchSize?: number;
  /** Acknowledged rows are deleted in batches: at most this many ms after the PUBACK. Default 20. */
  ackFlushMs?: number;
  /** ... or as soon as this many are waiting. Default 512. */
  ackFlushCount?: number;
  /**
   * With a fleet that acknowledges events: sent events still unacknowledged this long after their PUBACK are
   * published again, in ms. Doubles after each such resend without an ack in between, up to `ackTimeoutMaxMs`.
   * Default 10 000.
   */
  ackTimeoutMs?: number;
  /** Cap of the ack timeout's backoff, in ms. Default 300 000. */
  ackTimeoutMaxMs?: number;
  /**
   * When the fleet announces itself online, wait this long before publishing the unacknowledged events again (the
   * acks of what its broker session kept for it usually arrive first), in ms. Default 1 000.
   */
  resendDelayMs?: number;
}

export class OutboxPublisher {
  private cursor = 0;
  private buffer: OutboxRow[] = [];
  private inFlight = 0;
  private pendingAcks: number[] = [];
  private ackTimer: unknown;
  private running = false;
  private generation = 0;
  private readonly maxInFlight: number;
  private readonly batchSize: number;
  private readonly ackFlushMs: number;
  private readonly ackFlushCount: number;
  private readonly ackTimeoutMs: number;
  private readonly ackTimeoutMaxMs: number;
  private readonly resendDelayMs: number;
  /** Rows handed to mqtt.js and not yet PUBACKed: a resend pass skips them (mqtt.js resends them itself). */
  private readonly inFlightSeqs = new Set<number>();
  private fleetAcks = false;
  private fleetOffline = false;
  private ackTimeout: number;
  private ackCheckTimer: unknown;
  private resendTimer: unknown;
  /**
   * A resend pass, beside the normal one: the sent, unconfirmed rows whose PUBACK came at or before
   * `resendSentAtOrBefore`, walked in seq order with their own cursor. Null: no pass running.
   */
  private resendSentAtOrBefore: number | null = null;
  private resendCursor = 0;
  private resendBuffer: OutboxRow[] = [];
  /** Counts PUBACKed events since start (a figure for tests and the bench). */
  acked = 0;
  /** Counts events deleted because the fleet acknowledged them. */
  confirmed = 0;
  /** Counts resend passes (fleet online, ack timeout). */
  resends = 0;
  /** Called on each resend pass. */
  onResend: (() => void) | undefined;
  /** The outbox's installation id, read once (it never changes): every published event carries it. */
  private readonly install: number;

  constructor(
    private readonly outbox: Outbox,
    private readonly client: MqttClient,
    private readonly machineId: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onAcked: (row: { seq: number; id: string }) => void,
    options: OutboxPublisherOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 256;
    this.batchSize = options.batchSize ?? 512;
    this.ackFlushMs = options.ackFlushMs ?? 20;
    this.ackFlushCount = options.ackFlushCount ?? 512;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.ackTimeoutMaxMs = Math.max(this.ackTimeoutMs, options.ackTimeoutMaxMs ?? 300_000);
    this.resendDelayMs = options.resendDelayMs ?? 1_000;
    this.ackTimeout = this.ackTimeoutMs;
    this.install = outbox.install;
  }

  /** Called on every (re)connect. In-flight messages of this process are resent by mqtt.js from its session store. */
  resume(): void {
    this.running = true;
    this.armAckCheck();
    this.pump();
  }

  /** Called when the connection dropped: nothing new is handed to mqtt.js while offline (its store would grow). */
  pause(): void {
    this.running = false;
    this.clearTimers();
  }

  /** Writes pending deletions and forgets everything in memory; the next start resends whatever was not acked. */
  stop(): void {
    this.running = false;
    this.generation++;
    this.flushAcks();
    if (this.ackTimer !== undefined) this.clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.clearTimers();
    this.buffer = [];
    this.inFlight = 0;
    this.inFlightSeqs.clear();
    this.cursor = 0;
    this.resendSentAtOrBefore = null;
    this.resendBuffer = [];
  }

  /**
   * Whether the fleet acknowledges events end to end (its `fleet/state` said `acks: true`). Turning it off (an older
   * fleet took over) deletes the sent rows: for that fleet the broker's PUBACK was the end of their way.
   */
  setFleetAcks(on: boolean): void {
    if (on === this.fleetAcks) return;
    this.fleetAcks = on;
    this.flushAcks();
    if (!on) {
      const n = this.outbox.dropSent();
      if (n > 0) this.logger.info("fleet does not acknowledge events: sent events deleted", { count: n });
      this.clearTimers();
    } else {
      this.armAckCheck();
    }
  }

  get waitsForFleetAcks(): boolean {
    return this.fleetAcks;
  }

  /**
   * The fleet's `fleet/state`: online (it just (re)connected and subscribed, or our subscription delivered its
   * retained state) schedules a resend of the sent, unacknowledged events; offline stops the timeout resends (the
   * broker session of the fleet, if any, keeps them; its return triggers a resend).
   */
  fleetState(online: boolean): void {
    this.fleetOffline = !online;
    if (!online || !this.fleetAcks) return;
    // Only what the broker took before this announcement can have missed the fleet: the fleet subscribes before it
    // says online, and the broker's PUBACKs and its forwarding of the announcement share our one connection, in
    // order. So the PUBACKs received so far are written now, and the pass resends those rows only.
    this.flushAcks();
    const boundary = this.clock.now();
    if (this.resendTimer !== undefined) this.clock.clearTimeout(this.resendTimer);
    this.resendTimer = this.clock.setTimeout(() => {
      this.resendTimer = undefined;
      this.resendUnconfirmed("fleet online", boundary);
    }, this.resendDelayMs);
  }

  /** The fleet's `event-ack`: deletes the sent events it covers. Returns how many were deleted. */
  fleetAck(from: number, upTo: number, seqs: readonly number[] = []): number {
    // PUBACKs not yet written as "sent" first, so an ack that overtook our batched write still deletes its rows.
    this.flushAcks();
    let n = 0;
    try {
      n = this.outbox.confirm(from, upTo, seqs);
    } catch (err) {
      this.logger.error("outbox confirm failed", { error: (err as Error).message });
      return 0;
    }
    if (this.buffer.length > 0 || this.resendBuffer.length > 0) {
      const acked = new Set(seqs);
      const keep = (r: OutboxRow) => !((r.seq >= from && r.seq <= upTo) || acked.has(r.seq));
      this.buffer = this.buffer.filter(keep);
      this.resendBuffer = this.resendBuffer.filter(keep);
    }
    if (n > 0) {
      this.confirmed += n;
      // Progress: the fleet is there and storing, so a later silence is measured from the base timeout again.
      this.ackTimeout = this.ackTimeoutMs;
    }
    return n;
  }

  /**
   * Publishes again, oldest first, the sent events the fleet has not acknowledged whose PUBACK came at or before
   * `sentAtOrBefore` (default now). The window bounds what is in flight; new events keep flowing beside the pass.
   */
  resendUnconfirmed(reason: string, sentAtOrBefore = this.clock.now()): void {
    if (!this.fleetAcks) return;
    this.flushAcks();
    const { count, oldestSentAt } = this.outbox.sentUnconfirmed();
    if (count === 0 || oldestSentAt === null || oldestSentAt > sentAtOrBefore) return;
    this.resends++;
    this.onResend?.();
    this.logger.info("resending events the fleet has not acknowledged", { unconfirmed: count, reason });
    this.resendSentAtOrBefore = Math.max(this.resendSentAtOrBefore ?? sentAtOrBefore, sentAtOrBefore);
    this.resendCursor = 0;
    this.resendBuffer = [];
    this.pump();
  }

  private clearTimers(): void {
    if (this.ackCheckTimer !== undefined) this.clock.clearTimeout(this.ackCheckTimer);
    this.ackCheckTimer = undefined;
    if (this.resendTimer !== undefined) this.clock.clearTimeout(this.resendTimer);
    this.resendTimer = undefined;
  }

  private armAckCheck(): void {
    if (!this.fleetAcks || !this.running || this.ackCheckTimer !== undefined) return;
    this.ackCheckTimer = this.clock.setTimeout(this.checkAcks, Math.min(this.ackTimeout, this.ackTimeoutMs));
  }

  /** Runs every base ack timeout while connected: resends when the oldest sent event waited longer than the backoff. */
  private readonly checkAcks = (): void => {
    this.ackCheckTimer = undefined;
    if (!this.fleetAcks || !this.running) return;
    try {
      this.flushAcks();
      const { oldestSentAt } = this.outbox.sentUnconfirmed();
      if (oldestSentAt !== null && !this.fleetOffline && this.clock.now() - oldestSentAt >= this.ackTimeout) {
        this.resendUnconfirmed(`no fleet ack within ${this.ackTimeout} ms`, this.clock.now() - this.ackTimeout);
        this.ackTimeout = Math.min(this.ackTimeout * 2, this.ackTimeoutMaxMs);
      }
    } catch (err) {
      this.logger.error("outbox ack check failed", { error: (err as Error).message });
    }
    this.armAckCheck();
  };

  /** Hands rows to mqtt.js while connected and the window has room. */
  pump = (): void => {
    // Rows written by a transaction that is still open could be rolled back: wait until it ends.
    if (this.outbox.inTransaction) {
      this.clock.setTimeout(this.pump, 1);
      return;
    }
    while (this.running && this.client.connected && this.inFlight < this.maxInFlight) {
      let row: OutboxRow;
      const resend = this.resendSentAtOrBefore !== null;
      if (resend) {
        // The resend pass first: those are the oldest events.
        if (this.resendBuffer.length === 0) {
          this.resendBuffer = this.outbox.peekSent(this.resendCursor, this.resendSentAtOrBefore!, this.batchSize);
          if (this.resendBuffer.length === 0) {
            this.resendSentAtOrBefore = null;
            continue;
          }
        }
        row = this.resendBuffer.shift()!;
        this.resendCursor = row.seq;
      } else {
        if (this.buffer.length === 0) {
          this.buffer = this.outbox.peek(this.cursor, this.batchSize);
          if (this.buffer.length === 0) return;
        }
        row = this.buffer.shift()!;
        this.cursor = row.seq;
      }
      // A resend pass meets rows still in flight: mqtt.js resends those itself.
      if (this.inFlightSeqs.has(row.seq)) continue;
      this.inFlight++;
      this.inFlightSeqs.add(row.seq);
      const gen = this.generation;
      this.client.publish(outboxTopic(this.machineId, row), outboxPayload(row, this.install), { qos: 1, retain: false }, (err) => {
        if (gen !== this.generation) return; // from before a stop(): the row stays in the outbox
        this.inFlight--;
        this.inFlightSeqs.delete(row.seq);
        if (err) {
          // Only a client being torn down fails a QoS 1 publish; rewind so the row is sent again, in order.
          this.logger.warn("outbox publish failed, will resend", { seq: row.seq, error: err.message });
          // A resent row keeps its old sent mark: the ack timeout sends it again.
          if (!resend) this.rewind(row.seq);
        } else {
          this.acked++;
          this.pendingAcks.push(row.seq);
          this.onAcked(row);
          if (this.pendingAcks.length >= this.ackFlushCount) this.flushAcks();
          else if (this.ackTimer === undefined) this.ackTimer = this.clock.setTimeout(() => this.flushAcks(), this.ackFlushMs);
        }
        this.pump();
      });
    }
  };

  private rewind(seq: number): void {
    if (seq <= this.cursor) {
      this.cursor = seq - 1;
      this.buffer = [];
    }
  }

  private flushAcks(): void {
    if (this.ackTimer !== undefined) this.clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length === 0) return;
    const seqs = this.pendingAcks;
    this.pendingAcks = [];
    try {
      if (this.fleetAcks) this.outbox.markSent(seqs, this.clock.now());
      else this.outbox.ack(seqs);
    } catch (err) {
      // The rows stay and are resent after a restart; the fleet dedupes by id.
      this.logger.error("outbox ack failed", { error: (err as Error).message, count: seqs.length });
    }
  }
}
