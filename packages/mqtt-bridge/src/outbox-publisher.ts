// Drains the outbox to the broker: in order, QoS 1, a bounded window in flight, rows deleted only after PUBACK.
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
  /** Counts PUBACKed events since start (a figure for tests and the bench). */
  acked = 0;

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
  }

  /** Called on every (re)connect. In-flight messages of this process are resent by mqtt.js from its session store. */
  resume(): void {
    this.running = true;
    this.pump();
  }

  /** Called when the connection dropped: nothing new is handed to mqtt.js while offline (its store would grow). */
  pause(): void {
    this.running = false;
  }

  /** Writes pending deletions and forgets everything in memory; the next start resends whatever was not acked. */
  stop(): void {
    this.running = false;
    this.generation++;
    this.flushAcks();
    if (this.ackTimer !== undefined) this.clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.buffer = [];
    this.inFlight = 0;
    this.cursor = 0;
  }

  /** Hands rows to mqtt.js while connected and the window has room. */
  pump = (): void => {
    // Rows written by a transaction that is still open could be rolled back: wait until it ends.
    if (this.outbox.inTransaction) {
      this.clock.setTimeout(this.pump, 1);
      return;
    }
    while (this.running && this.client.connected && this.inFlight < this.maxInFlight) {
      if (this.buffer.length === 0) {
        this.buffer = this.outbox.peek(this.cursor, this.batchSize);
        if (this.buffer.length === 0) return;
      }
      const row = this.buffer.shift()!;
      this.cursor = row.seq;
      this.inFlight++;
      const gen = this.generation;
      this.client.publish(outboxTopic(this.machineId, row), outboxPayload(row), { qos: 1, retain: false }, (err) => {
        if (gen !== this.generation) return; // from before a stop(): the row stays in the outbox
        this.inFlight--;
        if (err) {
          // Only a client being torn down fails a QoS 1 publish; rewind so the row is sent again, in order.
          this.logger.warn("outbox publish failed, will resend", { seq: row.seq, error: err.message });
          this.rewind(row.seq);
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
      this.outbox.ack(seqs);
    } catch (err) {
      // The rows stay and are resent after a restart; the fleet dedupes by id.
      this.logger.error("outbox ack failed", { error: (err as Error).message, count: seqs.length });
    }
  }
}
